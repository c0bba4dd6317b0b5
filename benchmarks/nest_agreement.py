"""Spike for spike against NEST 3.10 on identical networks.

    python benchmarks/nest_agreement.py --peers ~/peers/bin/python

For each of IF_curr_exp, IF_curr_delta, IF_curr_alpha and IF_cond_exp: 60
cells driven by 40 spike sources (fixed times on the grid) and connected
among themselves, every synapse from an explicit list (the same weights and
delays on both sides), run 300 ms; prints per model the spikes of each
simulator, the spike trains that differ and the largest membrane-potential
difference. Exit status 1 if any differs. The spinn side is a PyNN script run
in this Python (either kernel path: ``SPINN_KERNELS``); the NEST side is
written with NEST's own API (``iaf_psc_exp``, ``iaf_psc_delta``,
``iaf_psc_alpha``, ``iaf_cond_exp``, ``spike_generator``, the parameters
PyNN's translation would give) and runs in the ``--peers`` Python: pyNN.nest
0.13 cannot set or record ``v`` on NEST 3.10 ("NEST does not allow setting
an initial value for v").
"""
from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

MODELS = ("IF_curr_exp", "IF_curr_delta", "IF_curr_alpha", "IF_cond_exp")
N_SRC, N_CELLS, TSTOP, DT = 40, 60, 300.0, 0.1


def network(model: str):
    """Source spike times, input and recurrent connection lists (numpy, seeded)."""
    rng = np.random.default_rng(sum(map(ord, model)))
    times = [np.unique(np.round(rng.uniform(1.0, TSTOP - 10.0, 15) / DT) * DT).tolist()
             for _ in range(N_SRC)]
    delta = model == "IF_curr_delta"
    conductance = model == "IF_cond_exp"
    scale = 6.0 if delta else (0.02 if conductance else 1.0)

    def conns(n_pre, p, w_lo, w_hi, inhibitory_fraction):
        pre, post = np.nonzero(rng.random((n_pre, N_CELLS)) < p)
        w = rng.uniform(w_lo, w_hi, pre.size) * scale
        d = np.round(rng.uniform(0.1, 3.0, pre.size) / DT) * DT
        inh = rng.random(pre.size) < inhibitory_fraction
        return pre, post, w, d, inh

    return times, conns(N_SRC, 0.3, 0.3, 0.9, 0.0), conns(N_CELLS, 0.1, 0.05, 0.4, 0.3)


CELL = dict(tau_refrac=2.0, i_offset=0.1)
NEST_MODEL = {"IF_curr_exp": "iaf_psc_exp", "IF_curr_delta": "iaf_psc_delta",
              "IF_curr_alpha": "iaf_psc_alpha", "IF_cond_exp": "iaf_cond_exp"}


def run(simulator: str, model: str) -> dict:
    return (run_nest if simulator == "nest" else run_spinn)(model)


def run_spinn(model: str) -> dict:
    import spinn as sim
    sim.setup(timestep=DT, quiet=True)
    times, inputs, recurrent = network(model)
    cells = sim.Population(N_CELLS, getattr(sim, model)(**CELL), label="cells")
    cells.initialize(v=-65.0)
    sources = sim.Population(N_SRC, sim.SpikeSourceArray(spike_times=times), label="sources")
    for pre_pop, (pre, post, w, d, inh) in ((sources, inputs), (cells, recurrent)):
        for inhibitory in (False, True):
            mine = inh == inhibitory
            if not mine.any():
                continue
            sign = -1.0 if inhibitory and not model.startswith("IF_cond") else 1.0
            rows = [(int(a), int(b), float(sign * c), float(e))
                    for a, b, c, e in zip(pre[mine], post[mine], w[mine], d[mine])]
            sim.Projection(pre_pop, cells, sim.FromListConnector(rows,
                                                                 column_names=["weight", "delay"]),
                           sim.StaticSynapse(),
                           receptor_type="inhibitory" if inhibitory else "excitatory")
    cells.record(["spikes", "v"])
    sim.run(TSTOP)
    seg = cells.get_data().segments[0]
    spikes = [np.asarray(t.magnitude, dtype=float) for t in seg.spiketrains]
    v = np.asarray(seg.filter(name="v")[0].magnitude, dtype=float)
    sim.end()
    return {"spikes": spikes, "v": v, "v_times": np.arange(v.shape[0]) * DT}


def run_nest(model: str) -> dict:
    import nest
    import pyNN.standardmodels.cells as cells_module
    nest.set_verbosity("M_ERROR")
    nest.ResetKernel()
    nest.SetKernelStatus({"resolution": DT})
    p = dict(getattr(cells_module, model).default_parameters, **CELL)
    params = {"C_m": p["cm"] * 1000.0, "tau_m": p["tau_m"], "t_ref": p["tau_refrac"],
              "E_L": p["v_rest"], "V_reset": p["v_reset"], "V_th": p["v_thresh"],
              "I_e": p["i_offset"] * 1000.0, "V_m": -65.0}
    if model != "IF_curr_delta":
        params.update(tau_syn_ex=p["tau_syn_E"], tau_syn_in=p["tau_syn_I"])
    if model == "IF_cond_exp":            # NEST: leak conductance, not tau_m
        params.update(E_ex=p["e_rev_E"], E_in=p["e_rev_I"],
                      g_L=params.pop("C_m") / params.pop("tau_m"))
        params["C_m"] = p["cm"] * 1000.0
    times, inputs, recurrent = network(model)
    cells = nest.Create(NEST_MODEL[model], N_CELLS, params=params)
    sources = nest.Create("spike_generator", N_SRC)
    for gen, t in zip(sources, times):
        gen.spike_times = t
    unit = 1.0 if model == "IF_curr_delta" else 1000.0
    for pre_nodes, (pre, post, w, d, inh) in ((sources, inputs), (cells, recurrent)):
        sign = np.where(inh, -1.0, 1.0)
        nest.Connect(pre_nodes[0].global_id + pre, cells[0].global_id + post, "one_to_one",
                     {"weight": sign * w * unit, "delay": d})
    recorder = nest.Create("spike_recorder")
    nest.Connect(cells, recorder)
    meter = nest.Create("multimeter", params={"record_from": ["V_m"], "interval": DT})
    nest.Connect(meter, cells)
    nest.Simulate(TSTOP)
    ev = recorder.events
    first = cells[0].global_id
    spikes = [np.sort(ev["times"][ev["senders"] == first + i]) for i in range(N_CELLS)]
    mv = meter.events
    order = np.lexsort((mv["senders"], mv["times"]))
    t, vm = mv["times"][order], mv["V_m"][order]
    n_t = t.size // N_CELLS
    return {"spikes": spikes, "v": vm.reshape(n_t, N_CELLS), "v_times": t[::N_CELLS]}


def save(path: str, simulator: str) -> None:
    out = {}
    for model in MODELS:
        result = run(simulator, model)
        out[f"{model}/v"] = result["v"]
        out[f"{model}/v_times"] = result["v_times"]
        for i, train in enumerate(result["spikes"]):
            out[f"{model}/spikes/{i}"] = train
    np.savez(path, **out)


def compare(a: dict, b: dict) -> bool:
    same = True
    print("| model | spikes spinn | spikes NEST | trains that differ | max |Δv| (mV) |")
    print("|---|---|---|---|---|")
    for model in MODELS:
        ta = [a[f"{model}/spikes/{i}"] for i in range(N_CELLS)]
        tb = [b[f"{model}/spikes/{i}"] for i in range(N_CELLS)]
        differ = sum(x.size != y.size or not np.allclose(x, y, atol=1e-6, rtol=0)
                     for x, y in zip(ta, tb))
        # the same instants (NEST's multimeter starts one step in)
        steps_a = np.round(a[f"{model}/v_times"] / DT).astype(int)
        steps_b = np.round(b[f"{model}/v_times"] / DT).astype(int)
        common, ia, ib = np.intersect1d(steps_a, steps_b, return_indices=True)
        dv = float(np.max(np.abs(a[f"{model}/v"][ia] - b[f"{model}/v"][ib])))
        print(f"| {model} | {sum(x.size for x in ta)} | {sum(y.size for y in tb)} | "
              f"{differ} | {dv:.1e} |")
        same &= differ == 0 and dv < 1e-9
    return same


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--peers", metavar="PYTHON", help="a Python with pyNN and NEST")
    parser.add_argument("--save", metavar="FILE", help=argparse.SUPPRESS)
    parser.add_argument("--simulator", default="spinn", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.save:
        save(args.save, args.simulator)
        return
    if not args.peers:
        parser.error("--peers PYTHON is needed (a venv with pyNN and nest-simulator)")
    with tempfile.TemporaryDirectory() as tmp:
        mine, theirs = f"{tmp}/spinn.npz", f"{tmp}/nest.npz"
        save(mine, "spinn")
        subprocess.run([args.peers, str(Path(__file__).resolve()), "--simulator", "nest",
                        "--save", theirs], check=True, stdout=subprocess.DEVNULL)
        same = compare(dict(np.load(mine)), dict(np.load(theirs)))
    print("identical" if same else "DIFFERENT")
    sys.exit(0 if same else 1)


if __name__ == "__main__":
    main()
