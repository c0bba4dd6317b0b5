"""The benchmark networks of benchmarks/networks.py written directly for NEST
(1 thread) and Brian2 (numpy target), for the same-run comparisons of
benchmarks/run.py. Run with a Python that has them (our peers' venv):

    ~/peers/bin/python benchmarks/peers.py nest brunel --tstop 1000
    ~/peers/bin/python benchmarks/peers.py brian2 cuba --tstop 1000

Prints one JSON line. Build = everything before the first simulated step
(NEST finishes its tables in a first ``Simulate``; Brian2 generates code in
a first ``run``, both counted as build, not as simulate).
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from networks import BRUNEL, CUBA, NETWORKS, cuba_cell, drive_events  # noqa: E402

DT = 0.1


def nest_run(network: str, tstop: float) -> dict:
    import nest
    nest.set_verbosity("M_ERROR")
    nest.ResetKernel()
    nest.SetKernelStatus({"resolution": DT, "local_num_threads": 1, "rng_seed": 12345})
    t0 = time.perf_counter()
    if network in ("cuba", "quiet"):
        c, p = CUBA, cuba_cell(network == "quiet")
        params = {"C_m": p["cm"] * 1000.0, "tau_m": p["tau_m"], "E_L": p["v_rest"],
                  "V_th": p["v_thresh"], "V_reset": p["v_reset"], "t_ref": p["tau_refrac"],
                  "tau_syn_ex": p["tau_syn_E"], "tau_syn_in": p["tau_syn_I"], "I_e": 0.0}
        n_exc = int(c["n"] * 0.8)
        exc = nest.Create("iaf_psc_exp", n_exc, params=params)
        inh = nest.Create("iaf_psc_exp", c["n"] - n_exc, params=params)
        cells = exc + inh
        cells.V_m = nest.random.uniform(-60.0, -50.0)
        for pre, w in ((exc, c["w_exc"]), (inh, c["w_inh"])):
            nest.Connect(pre, cells, {"rule": "pairwise_bernoulli", "p": c["p"]},
                         {"weight": 1000.0 * w, "delay": c["delay"]})
        if network == "cuba":
            gen = nest.Create("poisson_generator", params={"rate": c["stim_rate"],
                                                           "stop": c["stim_duration"]})
            stim = nest.Create("parrot_neuron", c["stim"])
            nest.Connect(gen, stim)
            nest.Connect(stim, cells, {"rule": "pairwise_bernoulli", "p": c["stim_p"]},
                         {"weight": 1000.0 * c["stim_w"], "delay": c["delay"]})
        pops, out = [exc, inh], [c["p"] * c["n"]] * 2
    else:
        b, p = BRUNEL, BRUNEL["cell"]
        scale = NETWORKS[network][1].get("scale", 1.0)
        params = {"C_m": p["cm"] * 1000.0, "tau_m": p["tau_m"], "E_L": p["v_rest"],
                  "V_th": p["v_thresh"], "V_reset": p["v_reset"], "t_ref": p["tau_refrac"]}
        exc = nest.Create("iaf_psc_delta", int(b["n_exc"] * scale), params=params)
        inh = nest.Create("iaf_psc_delta", int(b["n_inh"] * scale), params=params)
        cells = exc + inh
        cells.V_m = nest.random.uniform(0.0, 20.0)
        noise = nest.Create("poisson_generator", params={"rate": b["drive_hz"]})
        nest.Connect(noise, cells, syn_spec={"weight": b["j"], "delay": b["delay"]})
        for pre, k, w in ((exc, b["c_e"], b["j"]), (inh, b["c_i"], -b["g"] * b["j"])):
            nest.Connect(pre, cells, {"rule": "pairwise_bernoulli", "p": k / len(pre),
                                      "allow_autapses": False}, {"weight": w, "delay": b["delay"]})
        pops = [exc, inh]
        total = len(cells)
        out = [b["c_e"] * total / len(exc), b["c_i"] * total / len(inh)]
    recorders = []
    for pop in pops:
        rec = nest.Create("spike_recorder")
        nest.Connect(pop, rec)
        recorders.append(rec)
    nest.Simulate(DT)              # NEST completes its connection tables here
    t1 = time.perf_counter()
    nest.Simulate(tstop)
    t2 = time.perf_counter()
    spikes = [int(r.n_events) for r in recorders]
    neurons = sum(len(p) for p in pops)
    return _result("nest", network, neurons, int(nest.GetKernelStatus("num_connections")),
                   t1 - t0, t2 - t1, spikes, out, tstop)


def brian2_run(network: str, tstop: float) -> dict:
    import brian2 as b2
    from brian2 import Hz, PoissonInput, PoissonGroup, SpikeMonitor, Synapses, ms, mV, nA
    b2.prefs.codegen.target = "numpy"
    b2.start_scope()
    b2.defaultclock.dt = DT * ms
    t0 = time.perf_counter()
    if network in ("cuba", "quiet"):
        c, p = CUBA, cuba_cell(network == "quiet")
        n_exc = int(c["n"] * 0.8)
        eqs = """dv/dt = (v_rest - v + R * (ie + ii)) / tau_m : volt (unless refractory)
                 die/dt = -ie / tau_e : amp
                 dii/dt = -ii / tau_i : amp"""
        ns = dict(v_rest=p["v_rest"] * mV, R=p["tau_m"] / p["cm"] * b2.Mohm,
                  tau_m=p["tau_m"] * ms, tau_e=p["tau_syn_E"] * ms, tau_i=p["tau_syn_I"] * ms)
        cells = b2.NeuronGroup(c["n"], eqs, threshold=f"v > {p['v_thresh']}*mV",
                               reset=f"v = {p['v_reset']}*mV",
                               refractory=p["tau_refrac"] * ms, method="exact", namespace=ns)
        cells.v = "-60*mV + 10*mV*rand()"
        exc, inh = cells[:n_exc], cells[n_exc:]
        se = Synapses(exc, cells, on_pre=f"ie_post += {c['w_exc']}*nA", delay=c["delay"] * ms)
        si = Synapses(inh, cells, on_pre=f"ii_post += {c['w_inh']}*nA", delay=c["delay"] * ms)
        se.connect(p=c["p"])
        si.connect(p=c["p"])
        pops, out, groups = [exc, inh], [c["p"] * c["n"]] * 2, [cells, se, si]
        n_syn = len(se) + len(si)
        if network == "cuba":
            stim = PoissonGroup(c["stim"],
                                rates=f"{c['stim_rate']}*Hz*(t < {c['stim_duration']}*ms)")
            ss = Synapses(stim, cells, on_pre=f"ie_post += {c['stim_w']}*nA",
                          delay=c["delay"] * ms)
            ss.connect(p=c["stim_p"])
            groups += [stim, ss]
            n_syn += len(ss)
    else:
        b, p = BRUNEL, BRUNEL["cell"]
        scale = NETWORKS[network][1].get("scale", 1.0)
        n_exc, n_inh = int(b["n_exc"] * scale), int(b["n_inh"] * scale)
        cells = b2.NeuronGroup(n_exc + n_inh, "dv/dt = (v_rest - v) / tau_m : volt (unless refractory)",
                               threshold=f"v > {p['v_thresh']}*mV", reset=f"v = {p['v_reset']}*mV",
                               refractory=p["tau_refrac"] * ms, method="exact",
                               namespace=dict(v_rest=p["v_rest"] * mV, tau_m=p["tau_m"] * ms))
        cells.v = "20*mV*rand()"
        exc, inh = cells[:n_exc], cells[n_exc:]
        groups = [cells]
        n_syn = 0
        for pre, k, w in ((exc, b["c_e"], b["j"]), (inh, b["c_i"], -b["g"] * b["j"])):
            syn = Synapses(pre, cells, on_pre=f"v_post += {w}*mV*int(not_refractory_post)",
                           delay=b["delay"] * ms)
            syn.connect(condition="i != j" if pre is exc else True, p=k / len(pre))
            groups.append(syn)
            n_syn += len(syn)
        # C_E inputs at drive / C_E each (Brunel's formulation; Brian2 skips
        # refractory cells)
        groups.append(PoissonInput(cells, "v", b["c_e"], b["drive_hz"] / b["c_e"] * Hz,
                                   weight=b["j"] * mV))
        total = n_exc + n_inh
        pops, out = [exc, inh], [b["c_e"] * total / n_exc, b["c_i"] * total / n_inh]
    monitors = [SpikeMonitor(pop) for pop in pops]
    net = b2.Network(*groups, *monitors)
    net.run(DT * ms)                # code generation happens here
    t1 = time.perf_counter()
    net.run(tstop * ms)
    t2 = time.perf_counter()
    spikes = [int(m.num_spikes) for m in monitors]
    return _result("brian2", network, int(sum(len(p) for p in pops)), int(n_syn), t1 - t0,
                   t2 - t1, spikes, out, tstop)


def _result(simulator, network, neurons, synapses, build, simulate, spikes, out, tstop):
    events = sum(s * k for s, k in zip(spikes, out)) + drive_events(network, tstop)
    return {"simulator": simulator, "ranks": 1, "network": network, "neurons": neurons,
            "synapses": synapses, "build_s": build, "simulate_s": simulate,
            "spikes": sum(spikes), "rate_hz": sum(spikes) / neurons / (tstop / 1000.0),
            "events_per_s": events / simulate, "busy_s": [simulate],
            "realtime_factor": simulate / (tstop / 1000.0), "steps": round(tstop / DT)}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("simulator", choices=("nest", "brian2"))
    parser.add_argument("network", choices=sorted(NETWORKS))
    parser.add_argument("--tstop", type=float, default=1000.0)
    args = parser.parse_args()
    run = nest_run if args.simulator == "nest" else brian2_run
    print(json.dumps(run(args.network, args.tstop)))


if __name__ == "__main__":
    main()
