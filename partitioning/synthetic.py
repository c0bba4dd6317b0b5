"""Synthetic graphs for tests and benchmarks (seeded, so every run builds the same graph)."""

from __future__ import annotations

import numpy as np

from .model import Graph

__all__ = ["layered_graph", "planted_graph", "sparse_graph"]


def layered_graph(n_layers: int = 8, *, exc: int = 4000, inh: int = 1000,
                  max_atoms_per_core: int = 256, seed: int = 0) -> Graph:
    """A layered local model: ``2 n_layers`` populations (E and I per layer).

    Each layer's E and I connect among themselves (E→E, E→I, I→E, I→I,
    fixed probability 0.1); the E population of layer ``l`` also projects to
    E and I of layers ``l - 1`` and ``l + 1`` (probability 0.05). Layer
    sizes vary by ±50 % (seeded). Populations are numbered in an interleaved
    order (all E first, then all I) so that id order is *not* the natural
    neighbourhood order.
    """
    rng = np.random.default_rng(seed)
    scale = rng.uniform(0.5, 1.5, n_layers)
    n_exc = np.maximum(1, np.round(exc * scale)).astype(np.int64)
    n_inh = np.maximum(1, np.round(inh * scale)).astype(np.int64)
    e = np.arange(n_layers)           # vertex of E of layer l
    i = n_layers + np.arange(n_layers)  # vertex of I of layer l
    n_atoms = np.concatenate([n_exc, n_inh])
    edges, synapses = [], []

    def connect(a, b, p):
        edges.append((a, b))
        synapses.append(p * n_atoms[a] * n_atoms[b])

    for layer in range(n_layers):
        for a in (e[layer], i[layer]):
            for b in (e[layer], i[layer]):
                connect(a, b, 0.1)
        for other in (layer - 1, layer + 1):
            if 0 <= other < n_layers:
                connect(e[layer], e[other], 0.05)
                connect(e[layer], i[other], 0.05)
    labels = tuple([f"L{l}E" for l in range(n_layers)] + [f"L{l}I" for l in range(n_layers)])
    rate = np.concatenate([np.full(n_layers, 5.0), np.full(n_layers, 20.0)])
    return Graph(n_atoms, np.full(2 * n_layers, max_atoms_per_core), np.array(edges), labels,
                 synapses=np.array(synapses), rate_hz=rate, bytes_per_atom=np.full(2 * n_layers,
                                                                                   200.0))


def planted_graph(n_clusters: int = 8, *, populations: int = 6, cluster_size: int = 1200,
                  p_in: float = 0.6, p_out: float = 0.014, max_atoms_per_core: int = 100,
                  seed: int = 0) -> tuple[Graph, np.ndarray]:
    """Clusters of populations, dense inside, sparse between; ids shuffled.

    Each cluster holds ``populations`` populations of random sizes (multiples
    of 10) adding up to ``cluster_size`` atoms; a directed edge joins two
    populations with probability ``p_in`` inside a cluster and ``p_out``
    between clusters.

    Returns
    -------
    graph : Graph
    cluster : int64[V]
        The planted cluster of each vertex (placing cluster ``c`` on rank
        ``c`` is perfectly balanced on ``n_clusters`` ranks).
    """
    rng = np.random.default_rng(seed)
    n = n_clusters * populations
    cluster = np.repeat(np.arange(n_clusters), populations)
    sizes = []
    for _ in range(n_clusters):
        cuts = np.sort(rng.choice(np.arange(1, cluster_size // 10), populations - 1,
                                  replace=False)) * 10
        sizes.append(np.diff(np.concatenate([[0], cuts, [cluster_size]])))
    sizes = np.concatenate(sizes)
    same = cluster[:, None] == cluster[None, :]
    chosen = rng.random((n, n)) < np.where(same, p_in, p_out)
    np.fill_diagonal(chosen, False)
    edges = np.argwhere(chosen)
    permutation = rng.permutation(n)  # vertex v of the graph is population permutation[v]
    new_id = np.argsort(permutation)
    graph = Graph(sizes[permutation], np.full(n, max_atoms_per_core), new_id[edges],
                  tuple(f"p{v}" for v in range(n)))
    return graph, cluster[permutation]


def sparse_graph(n_populations: int = 400, size: int = 250_000, *, out_degree: int = 5,
                 max_atoms_per_core: int = 256, seed: int = 2024) -> Graph:
    """Equal populations, each projecting to ``out_degree`` random ones (the scale test).

    Each projection is fixed-number-pre with 100 synapses per post neuron,
    so the synapse estimates are those of a sparse cortical-scale model.
    """
    rng = np.random.default_rng(seed)
    pre = np.repeat(np.arange(n_populations), out_degree)
    post = rng.integers(0, n_populations, pre.shape[0])
    return Graph(np.full(n_populations, size), np.full(n_populations, max_atoms_per_core),
                 np.stack([pre, post], axis=1), tuple(f"p{v}" for v in range(n_populations)),
                 synapses=np.full(pre.shape[0], 100.0 * size),
                 bytes_per_atom=np.full(n_populations, 200.0))
