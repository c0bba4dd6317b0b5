"""Provenance: per rank and per run, written as provenance.json, with advice."""
import json

import numpy as np

import spinn as sim
from spinn.simulation import advice, format_provenance_summary


def test_provenance_totals_agree_with_what_was_recorded(tmp_path, capsys):
    out = tmp_path / "run"
    sim.setup(timestep=0.1, n_virtual_ranks=2, output=str(out))
    sim.set_number_of_neurons_per_core(sim.IF_curr_exp, 20)
    src = sim.Population(10, sim.SpikeSourcePoisson(rate=100.0), label="src")
    cells = sim.Population(60, sim.IF_curr_exp(i_offset=0.6), label="cells")
    inp = sim.Projection(src, cells, sim.FixedProbabilityConnector(0.3, rng=sim.NumpyRNG(1)),
                         sim.StaticSynapse(weight=0.3, delay=1.0))
    rec = sim.Projection(cells, cells, sim.FixedProbabilityConnector(0.1, rng=sim.NumpyRNG(2)),
                         sim.StaticSynapse(weight=0.05, delay=1.5))
    src.record("spikes")
    cells.record("spikes")
    sim.run(200.0)
    counts = {}
    for pop in (src, cells):
        for st in pop.get_data().segments[0].spiketrains:
            # spikes at the very end are not delivered yet: count those before 198.5 ms
            counts[int(st.annotations["channel_id"])] = (len(st), int(np.sum(st.magnitude < 198.5)))
    pre_in = np.asarray(inp.get("weight", format="list"))[:, 0].astype(int) + src.first_id
    pre_rec = np.asarray(rec.get("weight", format="list"))[:, 0].astype(int) + cells.first_id
    sim.end()
    prov = json.loads((out / "provenance.json").read_text())
    assert prov["ranks"] == 2 and len(prov["by_rank"]) == 2
    neuron_spikes = sum(counts[int(g)][0] for g in range(cells.first_id, cells.first_id + 60))
    assert prov["neuron_spikes"] == neuron_spikes > 0
    assert prov["source_events"] == sum(counts[g][0] for g in range(src.first_id,
                                                                    src.first_id + 10))
    delivered = sum(counts[int(g)][1] for g in np.concatenate((pre_in, pre_rec)))
    assert delivered <= prov["synaptic_events"] <= sum(counts[int(g)][0] for g in
                                                       np.concatenate((pre_in, pre_rec)))
    sent = sum(sum(r["keys_sent"].values()) for r in prov["by_rank"])
    assert sent == sum(r["keys_received"] for r in prov["by_rank"]) > 0
    assert 0.3 <= prov["max_input"] < 10.0
    assert prov["imbalance"] >= 1.0 and prov["dominant_phase"] in prov["slowest_phases_s"]
    assert abs(sum(prov["phase_share"].values()) - 1.0) < 1e-9
    printed = capsys.readouterr().out
    assert "slowest rank" in printed and str(out) in printed


def test_advice_names_the_dominant_phase():
    prov = {"phase_share": {"update": 0.2, "route": 0.0, "record": 0.1, "exchange": 0.6,
                            "deliver": 0.1},
            "slowest_rank": 1, "ranks": 4, "imbalance": 1.4, "exchange_interval": 1,
            "dominant_phase": "exchange", "synaptic_events": 10, "output": None}
    tips = advice(prov)
    assert any(t.startswith("exchange is 60 % of step time: use fewer ranks") for t in tips)
    assert any("rank 1 is 1.40x the mean" in t for t in tips)
    prov["advice"] = tips
    assert "mostly exchange (60 %" in format_provenance_summary(prov)
