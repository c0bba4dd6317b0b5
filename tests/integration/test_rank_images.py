"""Rank images: saved, inspected, loaded; the engines built from them simulate
exactly what the in-memory build simulates."""
import numpy as np

import spinn as sim
from spinn.comm import LocalExchange
from spinn.image import load_rank_image, read_rank_image, save_rank_images
from spinn.pynn.simulator import state
from spinn.runtime import RankEngine
from tests.networks import mixed_network


def test_images_reproduce_the_simulation(tmp_path):
    sim.setup(timestep=0.1, quiet=True, n_virtual_ranks=3)
    spikes, v, _ = mixed_network(sim, npc=16, tstop=60.0)
    simulation = state.simulation
    spec, mapping = simulation.spec, simulation.mapping
    paths = save_rank_images(spec, mapping, str(tmp_path))
    exc_id = next(p.id for p in spec.populations if p.label == "exc")
    sim.end()
    assert len(paths) == 3
    raw = read_rank_image(paths[1])
    assert raw["rank"] == 1 and raw["n_ranks"] == 3 and raw["local"]
    # build the three ranks from their images alone and run them in lock-step
    engines = []
    for path in paths:
        s, m, r = load_rank_image(path)
        e = RankEngine(s, m, r)
        e.configure_recording(0)
        e.bind_current_sources(s.current_sources)
        engines.append(e)
    exchange = LocalExchange(3)
    for k in range(600):
        received = exchange.alltoallv([e.advance(k) for e in engines])
        for e, keys in zip(engines, received):
            e.receive(k, keys)
    pop = spec.populations[exc_id]
    gids = np.concatenate([e.spike_buffer.select(pop.first_gid, pop.first_gid + pop.size)[0]
                           for e in engines])
    stamps = np.concatenate([e.spike_buffer.select(pop.first_gid, pop.first_gid + pop.size)[1]
                             for e in engines])
    from_images = [np.sort(stamps[gids == pop.first_gid + i]) / 10.0 for i in range(pop.size)]
    for a, b in zip(from_images, spikes["exc"]):
        np.testing.assert_array_equal(a, b)
    assert sum(len(t) for t in from_images) > 10
