"""The cost model the partitioner places slices by: work, not neuron counts.

A slice's work per step is, per neuron, its cell type's update, the
synaptic events it receives (in-degree × the sources' rates), and the
generation of the sources fused into it (:mod:`spinn.fusion`). The numbers
are measured, not guessed: ``python benchmarks/calibrate_costs.py`` on the
development machine (2 cores, numpy 2.4.6), 2026-12-03. Only their ratios
matter for balance; absolute seconds drift with the machine.
"""

#: seconds per neuron and step of each cell type's vectorised update
UPDATE_SECONDS = {
    "IF_curr_exp": 6.19e-09,
    "IF_curr_delta": 5.25e-09,
    "SpikeSourceArray": 4.66e-10,
    "SpikeSourcePoisson": 8.1e-09,
    "IF_curr_alpha": 1.18e-08,
    "IF_cond_exp": 1.69e-07,
    "IF_cond_alpha": 1.31e-07,
    "Izhikevich": 1.15e-07,
    "Izhikevich_curr_exp": 1.46e-07,
    "EIF_cond_exp_isfa_ista": 2.35e-07,
    "EIF_cond_alpha_isfa_ista": 2.57e-07,
    "HH_cond_exp": 1.92e-06,
    "SpikeSourceGamma": 1.79e-09,
    "SpikeSourcePoissonRefractory": 8.55e-09,
    # measured 2026-12-04 against IF_curr_exp in the same run, scaled to this table
    "NIR_neuron": 2.2e-08,
}

#: seconds per synaptic event delivered (decode, gather, add into the ring)
EVENT_SECONDS = 4.73e-09

#: seconds per key and destination of a routed spike: routing, exchange and
#: decoding on the receiving rank (a source's keys versus generating it again)
KEY_SECONDS = 1.2e-08

#: for a cell type not in the table
DEFAULT_UPDATE_SECONDS = 1e-07


def update_seconds(model: str) -> float:
    return UPDATE_SECONDS.get(model, DEFAULT_UPDATE_SECONDS)
