"""The mapping report: what ``spinn map`` prints, as a JSON-serialisable dict and as text."""

from __future__ import annotations

import numpy as np

from .traffic import estimate_traffic

__all__ = ["mapping_report", "report_text", "add_measured"]


def _per_rank(values, n_ranks: int, rank: np.ndarray, *, integer: bool = False) -> list:
    summed = np.bincount(rank, weights=values, minlength=n_ranks)
    return summed.round().astype(np.int64).tolist() if integer else summed.tolist()


def mapping_report(mapping) -> dict:
    """Summary of a :class:`~partitioning.Mapping` (JSON-serialisable).

    Returns
    -------
    dict
        Totals: ``n_ranks``, ``ranks_per_node``, ``n_nodes``, ``n_vertices``,
        ``n_edges``, ``n_slices``, ``n_atoms``, ``imbalance`` (max / mean
        atoms per rank; 1.0 is perfect), ``packets_per_step`` (expected
        packets leaving their rank), ``packets_across_nodes_per_step``,
        ``entries_before`` and ``entries_after`` (routing entries, all ranks,
        before and after compression), ``timing_s`` (seconds per stage).

        Per rank (lists indexed by rank): ``atoms_per_rank``,
        ``slices_per_rank``, ``vertices_per_rank`` (populations present),
        ``synapses_per_rank`` (expected incoming synapses),
        ``synaptic_events_per_step_per_rank``, ``memory_bytes_per_rank``
        (expected: state and synapses), ``sent_within_node_per_rank``,
        ``sent_across_nodes_per_rank``, ``received_within_node_per_rank``,
        ``received_across_nodes_per_rank`` (expected packets per step),
        ``entries_before_per_rank``, ``entries_per_rank`` (after compression),
        ``destinations_per_rank`` (sum of table fan-out),
        ``busy_s_per_s_per_rank`` (estimated seconds of work per simulated
        second, by the graph's cost model; None without one) and
        ``busy_imbalance`` (its max / mean).
    """
    graph, slices, placement = mapping.graph, mapping.slices, mapping.placement
    n_ranks = placement.n_ranks
    rank = placement.rank
    sizes = slices.sizes()
    vertex = slices.vertex
    atoms = np.bincount(rank, weights=sizes, minlength=n_ranks).astype(np.int64)
    n_atoms = int(sizes.sum())
    mean = n_atoms / n_ranks
    per_node = int(mapping.ranks_per_node or n_ranks)
    traffic = estimate_traffic(graph, slices, placement, ranks_per_node=per_node)
    share = sizes / graph.n_atoms[vertex]  # the slice's share of its vertex
    synapses = share * graph.incoming_synapses()[vertex]
    events = np.zeros(graph.n_vertices)
    if graph.synapses is not None:
        events = np.bincount(graph.edges[:, 1], minlength=graph.n_vertices,
                             weights=graph.synapses * graph.rates()[graph.edges[:, 0]]
                             * (graph.dt_ms / 1000.0))
    vertices = np.unique(vertex * n_ranks + rank) % n_ranks
    steps_per_s = 1000.0 / graph.dt_ms
    busy = (None if graph.cost_per_atom is None else
            np.bincount(rank, weights=graph.slice_load(vertex, sizes),
                        minlength=n_ranks) * steps_per_s)
    entries_after = [len(t) for t in mapping.tables]
    entries_before = (entries_after if mapping.entries_before is None
                      else mapping.entries_before.tolist())
    return {
        "n_ranks": n_ranks,
        "ranks_per_node": per_node,
        "n_nodes": -(-n_ranks // per_node),
        "n_vertices": graph.n_vertices,
        "n_edges": graph.n_edges,
        "n_slices": slices.n_slices,
        "n_atoms": n_atoms,
        "imbalance": float(atoms.max() / mean) if n_atoms else 1.0,
        "packets_per_step": traffic.total,
        "packets_across_nodes_per_step": traffic.across,
        "entries_before": int(sum(entries_before)),
        "entries_after": int(sum(entries_after)),
        "atoms_per_rank": atoms.tolist(),
        "slices_per_rank": np.bincount(rank, minlength=n_ranks).astype(np.int64).tolist(),
        "vertices_per_rank": np.bincount(vertices, minlength=n_ranks).astype(np.int64).tolist(),
        "synapses_per_rank": _per_rank(synapses, n_ranks, rank, integer=True),
        "synaptic_events_per_step_per_rank": _per_rank(
            share * events[vertex], n_ranks, rank),
        "memory_bytes_per_rank": _per_rank(sizes * graph.memory_per_atom()[vertex], n_ranks,
                                           rank, integer=True),
        "sent_within_node_per_rank": traffic.sent_within.tolist(),
        "sent_across_nodes_per_rank": traffic.sent_across.tolist(),
        "received_within_node_per_rank": traffic.received_within.tolist(),
        "received_across_nodes_per_rank": traffic.received_across.tolist(),
        "entries_before_per_rank": [int(x) for x in entries_before],
        "entries_per_rank": entries_after,
        "destinations_per_rank": [int(t.dest_ptr[-1]) for t in mapping.tables],
        "timing_s": dict(mapping.timing_s or {}),
        "busy_s_per_s_per_rank": None if busy is None else busy.tolist(),
        "busy_imbalance": (float(busy.max() / busy.mean()) if busy is not None and busy.sum()
                           else None),
    }


def add_measured(report: dict, statistics: dict) -> dict:
    """The report with a run's measured busy time per rank (from the statistics
    ``spinn run --statistics`` writes): seconds of update and delivery per
    simulated second, and their imbalance (max / mean).

    Raises ValueError when the run had another number of ranks."""
    if statistics.get("ranks") != report["n_ranks"]:
        raise ValueError(f"the statistics are of a run on {statistics.get('ranks')} ranks, "
                         f"the mapping is for {report['n_ranks']}")
    busy = np.asarray(statistics.get("busy_s_by_rank") or [], dtype=float)
    seconds = float(statistics.get("biological_s") or 0.0)
    if busy.size != report["n_ranks"] or seconds <= 0:
        raise ValueError("the statistics have no busy time per rank (a run of spinn with "
                         "busy_s_by_rank and biological_s > 0 is needed)")
    per_s = busy / seconds
    return dict(report, measured_busy_s_per_s_per_rank=per_s.tolist(),
                measured_busy_imbalance=float(per_s.max() / per_s.mean()) if per_s.sum()
                else None)


def _quantity(value: float) -> str:
    """Compact number: 1234 -> '1234', 1.2e6 -> '1.20 M'.

    >>> _quantity(1234), _quantity(1.2e6), _quantity(0.25)
    ('1234', '1.20 M', '0.25')
    """
    for suffix, size in (("G", 1e9), ("M", 1e6)):
        if abs(value) >= size:
            return f"{value / size:.2f} {suffix}"
    return f"{value:.0f}" if abs(value) >= 100 or value == int(value) else f"{value:.2f}"


def _bytes(value: float) -> str:
    for unit, size in (("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if value >= size:
            return f"{value / size:.1f} {unit}"
    return f"{value:.0f} B"


def _seconds(value: float) -> str:
    return f"{value:.3g} s"


_COLUMNS = (
    ("slices", "slices_per_rank", _quantity),
    ("pops", "vertices_per_rank", _quantity),
    ("neurons", "atoms_per_rank", _quantity),
    ("synapses", "synapses_per_rank", _quantity),
    ("memory", "memory_bytes_per_rank", _bytes),
    ("sent in", "sent_within_node_per_rank", _quantity),
    ("sent out", "sent_across_nodes_per_rank", _quantity),
    ("recv in", "received_within_node_per_rank", _quantity),
    ("recv out", "received_across_nodes_per_rank", _quantity),
    ("entries", "entries_before_per_rank", _quantity),
    ("compressed", "entries_per_rank", _quantity),
)


def report_text(report: dict, *, max_rows: int = 32) -> str:
    """Readable form of :func:`mapping_report`'s dict (what ``spinn map`` prints).

    Totals first, then one row per rank (``max_rows`` ranks at most: beyond
    that, the minimum, mean and maximum over ranks), then time per stage.
    Packet counts are expected packets per time step; "in"/"out" mean within
    the rank's node / across nodes; "busy est." is the cost model's seconds of
    work per simulated second, "busy run" a run's measured ones (``spinn map
    --measured``).
    """
    n_ranks = report["n_ranks"]
    before, after = report.get("entries_before", 0), report.get("entries_after", 0)
    saved = f" ({100 * (1 - after / before):.0f} % fewer)" if before else ""
    lines = [
        f"{report['n_atoms']:,} neurons in {report['n_vertices']} populations, "
        f"{report['n_slices']:,} slices (cores), {report['n_edges']} projections",
        f"{n_ranks} ranks on {report['n_nodes']} node(s) of {report['ranks_per_node']} ranks",
        f"load imbalance (max / mean neurons per rank): {report['imbalance']:.3f}",
        f"expected packets per step between ranks: {_quantity(report['packets_per_step'])}, "
        f"across nodes: {_quantity(report['packets_across_nodes_per_step'])}",
        f"routing entries: {before:,} before compression, {after:,} after{saved}",
        "",
    ]
    columns = list(_COLUMNS)
    if report.get("busy_s_per_s_per_rank") is not None:
        columns.append(("busy est.", "busy_s_per_s_per_rank", _seconds))
        lines.insert(3, "work imbalance (max / mean estimated busy time per rank): "
                        f"{report['busy_imbalance']:.3f}")
    if report.get("measured_busy_s_per_s_per_rank") is not None:
        columns.append(("busy run", "measured_busy_s_per_s_per_rank", _seconds))
        lines.insert(4, "measured imbalance (max / mean busy time per rank in the run): "
                        f"{report['measured_busy_imbalance']:.3f}")
    header = ["rank"] + [name for name, _, _ in columns]
    rows = []
    if n_ranks <= max_rows:
        for r in range(n_ranks):
            rows.append([str(r)] + [fmt(report[key][r]) for _, key, fmt in columns])
    else:
        for label, reduce in (("min", np.min), ("mean", np.mean), ("max", np.max)):
            rows.append([label] + [fmt(float(reduce(report[key]))) for _, key, fmt in columns])
    widths = [max(len(row[i]) for row in rows + [header]) for i in range(len(header))]
    for row in [header] + rows:
        lines.append("  ".join(cell.rjust(width) for cell, width in zip(row, widths)))
    timing = report.get("timing_s") or {}
    if timing:
        lines.append("")
        lines.append("time per stage: " + ", ".join(
            f"{name} {seconds:.3f} s" for name, seconds in timing.items()))
    return "\n".join(lines)
