"""signal_grid (samples from (gid, stamp, value) triples into a time x cell
grid) against a plain loop, on both of its column lookups (a table over
close ids, a search over spread ones), sampling intervals and edges."""
import numpy as np
import pytest

from spinn.recording import signal_grid


def reference(gids, stamps, values, columns, first, last, interval):
    first = -(-first // interval) * interval
    n = max(0, (last - first) // interval + 1)
    out = np.full((n, columns.size), np.nan)
    for g, s, v in zip(gids.tolist(), stamps.tolist(), values.tolist()):
        if s < first or (s - first) % interval or (s - first) // interval >= n:
            continue
        where = np.flatnonzero(columns == g)
        if where.size:
            out[(s - first) // interval, where[0]] = v
    return out


@pytest.mark.parametrize("spread", [30, 100_000])
def test_signal_grid_equals_a_plain_loop(spread):
    rng = np.random.default_rng(spread)
    for _ in range(200):
        columns = np.unique(rng.integers(0, spread, size=rng.integers(1, 20)))
        m = int(rng.integers(0, 60))
        gids = rng.choice(np.r_[columns, rng.integers(0, spread + 10, 5)], size=m)
        stamps = rng.integers(-3, 30, size=m)
        _, keep = np.unique(np.stack([gids, stamps], 1), axis=0, return_index=True)
        gids, stamps = gids[keep], stamps[keep]          # one value per cell and stamp
        values = rng.normal(size=gids.size)
        interval, first, last = int(rng.integers(1, 4)), int(rng.integers(-2, 5)), \
            int(rng.integers(0, 30))
        np.testing.assert_array_equal(
            signal_grid(gids, stamps, values, columns, first, last, interval),
            reference(gids, stamps, values, columns, first, last, interval))
