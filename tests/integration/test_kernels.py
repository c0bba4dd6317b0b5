"""The compiled kernels (numba, ``spinn[fast]``) and the numpy path give
bitwise-identical results: every network here runs both ways."""
import numpy as np
import pytest

import spinn as sim
from spinn import kernels
from tests import networks

pytest.importorskip("numba")


@pytest.fixture
def kernel_mode():
    def use(mode):
        kernels.use(mode)
    yield use
    kernels.use("auto")


def brunel_like(n_ranks):
    sim.setup(timestep=0.1, quiet=True, n_virtual_ranks=n_ranks)
    sim.set_number_of_neurons_per_core(sim.IF_curr_delta, 50)
    exc = sim.Population(160, sim.IF_curr_delta(v_rest=0.0, v_reset=0.0, v_thresh=20.0,
                                               tau_refrac=2.0), label="exc")
    inh = sim.Population(40, sim.IF_curr_delta(v_rest=0.0, v_reset=0.0, v_thresh=20.0,
                                              tau_refrac=2.0), label="inh")
    alpha = sim.Population(30, sim.IF_curr_alpha(i_offset=0.3, tau_refrac=1.0), label="alpha")
    for pop in (exc, inh):
        pop.initialize(v=sim.RandomDistribution("uniform", (0.0, 20.0)))
        drive = sim.Population(pop.size, sim.SpikeSourcePoisson(rate=15000.0))
        sim.Projection(drive, pop, sim.OneToOneConnector(),
                       sim.StaticSynapse(weight=0.1, delay=1.5))
    hetero = sim.Population(30, sim.SpikeSourcePoisson(rate=sim.RandomDistribution(
        "uniform", (100.0, 3000.0))))
    sim.Projection(hetero, alpha, sim.AllToAllConnector(), sim.StaticSynapse(
        weight=sim.RandomDistribution("uniform", (0.01, 0.1)), delay=1.0))
    for pre, w, r in ((exc, 0.1, "excitatory"), (inh, -0.5, "inhibitory")):
        for post in (exc, inh, alpha):
            sim.Projection(pre, post, sim.FixedProbabilityConnector(0.1),
                           sim.StaticSynapse(weight=w if post is not alpha else abs(w) / 5,
                                             delay=1.5),
                           receptor_type=r if post is not alpha else "excitatory")
    for pop in (exc, inh, alpha):
        pop.record(["spikes", "v"])
    sim.run(80.0)
    out = {p.label: (np.concatenate([t.magnitude for t in p.get_data().segments[0].spiketrains]),
                     np.asarray(p.get_data().segments[0].filter(name="v")[0].magnitude))
           for p in (exc, inh, alpha)}
    sim.end()
    return out


@pytest.mark.parametrize("n_ranks", [1, 2])
def test_compiled_equals_numpy_brunel_like(kernel_mode, n_ranks):
    results = {}
    for mode in ("numpy", "numba"):
        kernel_mode(mode)
        results[mode] = brunel_like(n_ranks)
    for label, (spikes, v) in results["numpy"].items():
        np.testing.assert_array_equal(results["numba"][label][0], spikes)
        np.testing.assert_array_equal(results["numba"][label][1], v)
    assert sum(s.size for s, _ in results["numpy"].values()) > 200


def test_compiled_equals_numpy_mixed_network(kernel_mode):
    results = {}
    for mode in ("numpy", "numba"):
        kernel_mode(mode)
        results[mode] = networks.run_mixed(sim, 13, n_virtual_ranks=3)
    spikes, v, conns, _ = results["numpy"]
    spikes2, v2, conns2, _ = results["numba"]
    for label in spikes:
        for a, b in zip(spikes[label], spikes2[label]):
            np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(v, v2)
    assert kernels.name() == "numba"


@pytest.mark.parametrize("n_steps", [1, 4])
@pytest.mark.parametrize("n_pos", [4, 24])     # numpy: one by one / vectorised
def test_exchange_blocks_compiled_equal_numpy(n_steps, n_pos):
    """The MPI exchange's blocks: packed and unpacked alike by numba and numpy,
    including blocks too small for their keys (totals reported, not lost)."""
    from spinn.comm import _BlocksNumpy
    from spinn.kernels import numba_kernels as nk
    rng = np.random.default_rng(5)
    self_slot = 2
    out_pos = np.delete(np.arange(n_pos), self_slot)
    counts = rng.integers(0, 9, size=(n_steps, n_pos))
    keys = rng.integers(0, 2**32 - 1, size=int(counts.sum()), dtype=np.uint32)
    for cap in (64, n_steps + 5):                      # roomy, then overflowing
        cap_out = np.full(out_pos.size, cap, dtype=np.int64)
        block = np.cumsum(cap_out) - cap_out
        sends = []
        for impl in (_BlocksNumpy, nk):
            send = np.zeros(int(cap_out.sum()), dtype=np.uint32)
            total = np.zeros(out_pos.size, dtype=np.int64)
            over = impl.pack_blocks(counts, keys, out_pos, cap_out, block, send, total)
            sends.append((send, total, over))
        np.testing.assert_array_equal(sends[0][0], sends[1][0])
        np.testing.assert_array_equal(sends[0][1], sends[1][1])
        np.testing.assert_array_equal(sends[0][1], counts[:, out_pos].sum(axis=0))
        assert sends[0][2] == sends[1][2] == np.count_nonzero(sends[0][1] > cap - n_steps)
        recv = sends[0][0]            # as if the three neighbours sent these blocks
        totals = [np.zeros(out_pos.size, dtype=np.int64) for _ in range(2)]
        a = _BlocksNumpy.unpack_blocks(recv, block, cap_out, counts, keys, self_slot, totals[0])
        b = nk.unpack_blocks(recv, block, cap_out, counts, keys, self_slot, totals[1])
        np.testing.assert_array_equal(totals[0], totals[1])
        assert a[2] == b[2] == sends[0][2]
        if a[2] == 0:
            np.testing.assert_array_equal(a[0], b[0])
            np.testing.assert_array_equal(a[1], b[1])
            assert a[1][-1] == counts[:, self_slot].sum() + counts[:, out_pos].sum()
        else:
            assert cap < 64


def test_sorted_keys_merges_the_senders_runs():
    """Delivery orders a step's keys by merging the ascending runs the senders
    produce: the result is numpy's sort, duplicates (multiplicity) kept."""
    from spinn.kernels import numba_kernels as nk
    rng = np.random.default_rng(11)
    for n_runs in (0, 1, 2, 3, 7):
        runs = [np.sort(rng.integers(0, 500, size=int(rng.integers(0, 40))))
                for _ in range(n_runs)]
        keys = np.concatenate(runs).astype(np.uint32) if runs else np.zeros(0, np.uint32)
        np.testing.assert_array_equal(nk.sorted_keys(keys), np.sort(keys).astype(np.int64))
    shuffled = rng.permutation(1000).astype(np.uint32)       # any order still sorts
    np.testing.assert_array_equal(nk.sorted_keys(shuffled), np.arange(1000))
