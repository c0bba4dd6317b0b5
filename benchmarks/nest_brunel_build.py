"""Brunel A 12.5k in NEST directly, the reference for benchmarks/brunel.py:
Create + Connect (+ a first Simulate, when NEST finishes its connection
tables) time and memory per synapse. Run with the peers' venv:

    ~/peers/bin/python benchmarks/nest_brunel_build.py
"""
import resource
import subprocess
import sys
import time

idle = int(subprocess.run([sys.executable, "-c", "import resource, nest; print(resource."
                           "getrusage(resource.RUSAGE_SELF).ru_maxrss)"],
                          capture_output=True, text=True).stdout.split()[-1])
import nest  # noqa: E402
nest.set_verbosity("M_ERROR")
nest.ResetKernel()
nest.SetKernelStatus({"resolution": 0.1, "local_num_threads": 1})
t0 = time.perf_counter()
params = {"C_m": 250.0, "tau_m": 20.0, "t_ref": 2.0, "E_L": 0.0, "V_reset": 10.0, "V_th": 20.0,
          "V_m": 0.0}
exc = nest.Create("iaf_psc_delta", 10000, params=params)
inh = nest.Create("iaf_psc_delta", 2500, params=params)
cells = exc + inh
noise = nest.Create("poisson_generator", params={"rate": 20000.0})
nest.Connect(noise, cells, syn_spec={"weight": 0.1, "delay": 1.5})
nest.Connect(exc, cells, {"rule": "fixed_indegree", "indegree": 1000, "allow_autapses": False},
             {"weight": 0.1, "delay": 1.5})
nest.Connect(inh, cells, {"rule": "fixed_indegree", "indegree": 250, "allow_autapses": False},
             {"weight": -0.5, "delay": 1.5})
nest.Simulate(0.1)          # NEST finishes its connection infrastructure at the first Simulate
t1 = time.perf_counter()
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
n = nest.GetKernelStatus("num_connections")
print(f"NEST {nest.__version__} direct: {n:,} connections, Create+Connect+Simulate(0.1) "
      f"{t1 - t0:.2f} s, peak RSS {peak / 1024:.0f} MiB - idle {idle / 1024:.0f} MiB = "
      f"{(peak - idle) / 1024:.0f} MiB, {(peak - idle) * 1024 / n:.1f} B/synapse")
