"""Rank images: saved, read back, and simulated; the runtimes started from
them simulate exactly what the in-memory build simulates."""
import numpy as np

import spinn as sim
from spinn.comm import LocalExchange
from spinn.image import read_rank_image, save_rank_image, save_rank_images
from spinn.pynn.simulator import state
from spinn.runtime import RankRuntime
from tests.networks import mixed_network


def test_images_reproduce_the_simulation(tmp_path):
    sim.setup(timestep=0.1, quiet=True, n_virtual_ranks=3)
    spikes, v, _ = mixed_network(sim, npc=16, tstop=60.0)
    simulation = state.simulation
    spec, mapping = simulation.spec, simulation.mapping
    paths = []
    for image in simulation.images:
        path = tmp_path / f"rank-{image.rank}.msgpack"
        save_rank_image(image, str(path))
        paths.append(path)
    exc_id = next(p.id for p in spec.populations if p.label == "exc")
    populations = spec.populations
    sim.end()
    images = [read_rank_image(str(p)) for p in paths]
    assert [i.rank for i in images] == [0, 1, 2] and all(i.n_ranks == 3 for i in images)
    for saved, loaded in zip(simulation.images, images):
        np.testing.assert_array_equal(saved.synapses.offset, loaded.synapses.offset)
        np.testing.assert_array_equal(saved.routing.table.dest_rank,
                                      loaded.routing.table.dest_rank)
    # run the three ranks from their images alone, in lock-step
    runtimes = [RankRuntime(image) for image in images]
    exchange = LocalExchange(3)
    exchange.connect([i.routing.out_ranks for i in images], [i.routing.in_ranks for i in images])
    for rt in runtimes:
        rt.configure_recording(populations, 0)
    for k in range(600):
        received = exchange.exchange([rt.advance(k) for rt in runtimes])
        for rt, keys in zip(runtimes, received):
            rt.receive(k, keys)
    pop = populations[exc_id]
    parts = [rt.recorder.spikes.select(pop.first_gid, pop.first_gid + pop.size)
             for rt in runtimes]
    gids = np.concatenate([p[0] for p in parts])
    stamps = np.concatenate([p[1] for p in parts])
    from_images = [np.sort(stamps[gids == pop.first_gid + i]) / 10.0 for i in range(pop.size)]
    for a, b in zip(from_images, spikes["exc"]):
        np.testing.assert_array_equal(a, b)
    assert sum(len(t) for t in from_images) > 10


def test_save_rank_images_builds_every_rank_from_one_process(tmp_path):
    """``spinn map --save``: every rank's image, with the same routing the
    collective build gives."""
    sim.setup(timestep=0.1, quiet=True, n_virtual_ranks=3)
    mixed_network(sim, npc=16, tstop=1.0)
    simulation = state.simulation
    paths = save_rank_images(simulation.spec, simulation.mapping, str(tmp_path))
    built = simulation.images
    sim.end()
    assert len(paths) == 3
    for image, path in zip(built, paths):
        loaded = read_rank_image(path)
        np.testing.assert_array_equal(loaded.routing.slice_dest, image.routing.slice_dest)
        np.testing.assert_array_equal(loaded.synapses.row_ptr, image.synapses.row_ptr)
