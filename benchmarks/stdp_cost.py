"""Cost of plastic synapses per synaptic event against static synapses (run by hand).

    python benchmarks/stdp_cost.py [--inputs 1000] [--cells 100] [--rate 20]
    python benchmarks/stdp_cost.py --short-term

The same feed-forward network (Poisson inputs, all-to-all onto IF_curr_exp)
is run with static synapses and with additive all-to-all STDP (dendritic and
axonal delays), or with ``--short-term`` with Tsodyks-Markram synapses of one
time constant per projection (decay tables) and of one per synapse
(math.exp per event) and the three stochastic types; the simulate wall time
minus the same network without any synapses, divided by the number of
synaptic events, gives the cost per event.
"""
import argparse

import spinn as sim

parser = argparse.ArgumentParser()
parser.add_argument("--inputs", type=int, default=1000)
parser.add_argument("--cells", type=int, default=100)
parser.add_argument("--rate", type=float, default=20.0)
parser.add_argument("--tstop", type=float, default=1000.0)
parser.add_argument("--short-term", action="store_true",
                    help="short-term (Tsodyks-Markram, stochastic) synapses instead of STDP")
args = parser.parse_args()
RD = sim.RandomDistribution


def stdp(dendritic_delay_fraction):
    return lambda: sim.STDPMechanism(
        timing_dependence=sim.SpikePairRule(tau_plus=20.0, tau_minus=20.0,
                                            A_plus=0.001, A_minus=0.001),
        weight_dependence=sim.AdditiveWeightDependence(w_min=0.0, w_max=0.02),
        weight=0.01, delay=1.0, dendritic_delay_fraction=dendritic_delay_fraction)


STATIC = {"static": lambda: sim.StaticSynapse(weight=0.01, delay=1.0)}
STDP = {"stdp-dendritic": stdp(1.0), "stdp-axonal": stdp(0.0)}
SHORT_TERM = {
    "tm": lambda: sim.TsodyksMarkramSynapse(weight=0.01, delay=1.0, U=0.5, tau_rec=100.0,
                                            tau_facil=50.0),
    "tm-per-synapse": lambda: sim.TsodyksMarkramSynapse(
        weight=0.01, delay=1.0, U=RD("uniform", (0.1, 0.9)),
        tau_rec=RD("uniform", (50.0, 150.0)), tau_facil=RD("uniform", (20.0, 80.0))),
    "stochastic": lambda: sim.SimpleStochasticSynapse(weight=0.01, delay=1.0, p=0.5),
    "stochastic-tm": lambda: sim.StochasticTsodyksMarkramSynapse(weight=0.01, delay=1.0,
                                                                 U=0.5, tau_rec=100.0),
    "multiquantal-5": lambda: sim.MultiQuantalSynapse(weight=0.002, delay=1.0, n=5, U=0.5,
                                                      tau_rec=100.0),
}
KINDS = {**STATIC, **(SHORT_TERM if args.short_term else STDP)}


def run(kind):
    sim.setup(timestep=0.1, quiet=True)
    inputs = sim.Population(args.inputs, sim.SpikeSourcePoisson(rate=args.rate))
    cells = sim.Population(args.cells, sim.IF_curr_exp(tau_refrac=2.0))
    if kind != "none":
        sim.Projection(inputs, cells, sim.AllToAllConnector(), KINDS[kind](),
                       receptor_type="excitatory")
    sim.run(args.tstop)
    stats = sim.get_run_statistics()
    sim.end()
    return stats


base = run("none")
print(f"{args.inputs} Poisson inputs at {args.rate:g} Hz -> {args.cells} cells, all-to-all, "
      f"{args.tstop:g} ms; no synapses: {base['simulate_wall_s']:.3f} s")
static_cost = None
for kind in KINDS:
    s = run(kind)
    events = (s["spikes"] - s["neuron_spikes"]) * args.cells
    post_events = s["neuron_spikes"] * args.inputs if kind in STDP else 0
    cost = (s["simulate_wall_s"] - base["simulate_wall_s"]) / events * 1e9
    static_cost = static_cost or cost
    print(f"  {kind:15s} wall {s['simulate_wall_s']:.3f} s, {events:,} pre events "
          f"+ {post_events:,} post-side updates, {s['mean_rate_hz']:.1f} Hz out: "
          f"{cost:.1f} ns per synaptic event ({cost / static_cost:.2f}x static)")
