"""Load a NIR graph (Neuromorphic Intermediate Representation) into spinn.

``spinn.nir.load(graph_or_path, dt=...)`` builds, inside the current
simulation (after ``sim.setup``), one population per NIR neuron node and one
``SpikeSourceArray`` per ``Input`` node, and turns every chain of linear nodes
between them into projections (``FromListConnector``), using only spinn's
PyNN API::

    import spinn as sim
    import spinn.nir
    sim.setup(timestep=1.0)
    net = spinn.nir.load("model.nir", dt=1e-4)
    out = net.run(x)          # x: (T, *input shape) spikes -> (T, *output shape)
    sim.end()

Nodes: ``Input``, ``Output``; neurons ``LIF``, ``CubaLIF``, ``LI``, ``CubaLI``,
``IF``, ``I`` (Integrator), ``Threshold`` (engine cell type
:class:`spinn.extra_models.NIR_neuron`, NIR's parameters unchanged); linear
``Affine``, ``Linear``, ``Scale``, ``Flatten``, ``Identity``, ``Conv1d``,
``Conv2d``, ``SumPool2d``, ``AvgPool2d`` (expanded into explicit synapses; the
maps of a chain are composed). Other nodes raise :class:`NIRError`.

Semantics:

* **Discretisation**: forward Euler with NIR's ``dt`` (see
  :mod:`spinn.models.nir` for the step); one spinn step is one NIR step.
* **Delays**: a spike of one layer arrives at the next one step later (every
  projection has delay = one timestep, spinn's minimum). Input row ``t`` is
  emitted in step ``t`` and is the input of the first layer in step ``t + 1``;
  a neuron ``L`` projections away from the input first sees row ``t`` in step
  ``t + L``. Recurrent connections also take one step, as in NIR's
  frameworks.
* **Biases** (``Affine``, ``Conv``) become the neurons' constant input
  ``i_offset`` (propagated through any further linear nodes).
* **Output**: row ``k`` of the result is step ``k`` (spikes stamped
  ``(k + 1) * timestep``): the spikes of the node feeding ``Output``, or its
  ``v`` after step ``k`` if it does not spike (``LI``, ``CubaLI``, ``I``).
  Indices are NIR's (C order of the node's shape).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

__all__ = ["load", "NIRNetwork", "NIRError", "NEURON_NODES", "LINEAR_NODES"]

NEURON_NODES = ("LIF", "CubaLIF", "LI", "CubaLI", "IF", "I", "Threshold")
LINEAR_NODES = ("Affine", "Linear", "Scale", "Flatten", "Identity", "Conv1d", "Conv2d",
                "SumPool2d", "AvgPool2d")


class NIRError(ValueError):
    """A NIR graph spinn cannot build."""


def _kind(node) -> str:
    return type(node).__name__


def _arr(x, shape=None) -> np.ndarray:
    a = np.asarray(x, dtype=np.float64)
    return a if shape is None else np.broadcast_to(a, shape)


# -- neuron nodes -> NIR_neuron parameters --------------------------------------

def neuron_parameters(node, dt: float) -> dict:
    """``NIR_neuron`` parameters (flat arrays) of a NIR neuron node."""
    kind = _kind(node)
    if kind == "Threshold":
        shape = np.shape(node.threshold)
        p = dict(v_threshold=node.threshold, stateless=1.0, leak=0.0)
    elif kind in ("LIF", "LI"):
        shape = np.shape(node.tau)
        p = dict(tau_mem=node.tau, r=node.r, v_leak=node.v_leak)
    elif kind in ("CubaLIF", "CubaLI"):
        shape = np.shape(node.tau_mem)
        p = dict(tau_mem=node.tau_mem, r=node.r, v_leak=node.v_leak, tau_syn=node.tau_syn,
                 w_in=node.w_in, synapse=1.0)
    elif kind in ("IF", "I"):
        shape = np.shape(node.r)
        p = dict(tau_mem=1.0, r=node.r, leak=0.0)      # v += dt * r * I
    else:                                              # pragma: no cover
        raise NIRError(f"node type {kind} is not a neuron")
    if kind in ("LIF", "CubaLIF", "IF"):
        p["v_threshold"] = node.v_threshold
        p["v_reset"] = node.v_reset if node.v_reset is not None else 0.0
    if kind in ("LI", "CubaLI", "I"):
        p["spiking"] = 0.0
    p["dt"] = dt
    n = int(np.prod(shape))
    return {k: _arr(v, shape).reshape(n).copy() for k, v in p.items()}, tuple(shape)


# -- linear nodes as sparse maps (flat C-order indices) ---------------------------

@dataclass
class Sparse:
    """``y[dst] += w * x[src]``: a linear map from ``n_in`` to ``n_out`` values."""
    src: np.ndarray
    dst: np.ndarray
    w: np.ndarray
    n_in: int
    n_out: int

    def then(self, other: "Sparse") -> "Sparse":
        """This map followed by ``other`` (duplicate pairs summed)."""
        order = np.argsort(other.src, kind="stable")
        osrc, odst, ow = other.src[order], other.dst[order], other.w[order]
        lo = np.searchsorted(osrc, self.dst, "left")
        hi = np.searchsorted(osrc, self.dst, "right")
        counts = hi - lo
        rep = np.repeat(np.arange(self.src.size), counts)
        starts = np.repeat(lo - np.cumsum(counts) + counts, counts)
        k = starts + np.arange(rep.size)
        src, dst, w = self.src[rep], odst[k], self.w[rep] * ow[k]
        return _summed(src, dst, w, self.n_in, other.n_out)

    def apply(self, x: np.ndarray) -> np.ndarray:
        y = np.zeros(self.n_out)
        np.add.at(y, self.dst, self.w * x[self.src])
        return y


def _summed(src, dst, w, n_in, n_out) -> Sparse:
    key = src.astype(np.int64) * n_out + dst
    uniq, inverse = np.unique(key, return_inverse=True)
    if uniq.size == key.size:
        order = np.argsort(key, kind="stable")
        return Sparse(src[order], dst[order], w[order], n_in, n_out)
    total = np.zeros(uniq.size)
    np.add.at(total, inverse.ravel(), w)
    return Sparse(uniq // n_out, uniq % n_out, total, n_in, n_out)


def _identity(n: int) -> Sparse:
    i = np.arange(n)
    return Sparse(i, i, np.ones(n), n, n)


def _dense(weight: np.ndarray) -> Sparse:
    weight = np.asarray(weight, dtype=np.float64)
    if weight.ndim != 2:
        raise NIRError(f"weight of shape {weight.shape}: only 2-d weights are supported")
    dst, src = np.nonzero(weight)
    return Sparse(src, dst, weight[dst, src], weight.shape[1], weight.shape[0])


def _pair(x, n=2) -> tuple:
    a = np.atleast_1d(np.asarray(x)).astype(int).ravel()
    return tuple(int(v) for v in (np.repeat(a, n) if a.size == 1 else a))


def _conv(weight, in_shape, stride, padding, dilation, groups) -> tuple[Sparse, tuple]:
    """A 2-d convolution (cross-correlation, PyTorch's/NIR's convention) as a
    sparse map from ``(C_in, H, W)`` to ``(C_out, H_out, W_out)``."""
    weight = np.asarray(weight, dtype=np.float64)
    c_out, c_in_g, kh, kw = weight.shape
    c_in, h, w = in_shape
    (sh, sw), (dh, dw) = _pair(stride), _pair(dilation)
    if isinstance(padding, str):
        if padding == "valid":
            ph = pw = 0
        else:                                       # 'same' (stride 1), PyTorch's split
            ph, pw = dh * (kh - 1) // 2, dw * (kw - 1) // 2
            if (sh, sw) != (1, 1):
                raise NIRError("padding='same' needs stride 1")
    else:
        ph, pw = _pair(padding)
    if isinstance(padding, str) and padding == "same":
        ho, wo = h, w
    else:
        ho = (h + 2 * ph - dh * (kh - 1) - 1) // sh + 1
        wo = (w + 2 * pw - dw * (kw - 1) - 1) // sw + 1
    groups = int(groups)
    if c_in != c_in_g * groups or c_out % groups:
        raise NIRError(f"conv weight {weight.shape} does not fit input {in_shape} "
                       f"with groups={groups}")
    co, cl, a, b, y, x = np.meshgrid(np.arange(c_out), np.arange(c_in_g), np.arange(kh),
                                     np.arange(kw), np.arange(ho), np.arange(wo),
                                     indexing="ij")
    co, cl, a, b, y, x = (v.ravel() for v in (co, cl, a, b, y, x))
    iy, ix = y * sh - ph + a * dh, x * sw - pw + b * dw
    ci = (co // (c_out // groups)) * c_in_g + cl
    wv = weight[co, cl, a, b]
    keep = (iy >= 0) & (iy < h) & (ix >= 0) & (ix < w) & (wv != 0)
    src = (ci * h + iy) * w + ix
    dst = (co * ho + y) * wo + x
    m = _summed(src[keep], dst[keep], wv[keep], c_in * h * w, c_out * ho * wo)
    return m, (c_out, ho, wo)


def _conv_bias(bias, out_shape) -> np.ndarray | None:
    if bias is None:
        return None
    b = np.asarray(bias, dtype=np.float64)
    if b.size == 1 and b.ravel()[0] == 0 or not np.any(b):
        return None
    c = out_shape[0]
    return np.repeat(np.broadcast_to(b.ravel(), (c,)), int(np.prod(out_shape[1:])))


def linear_map(node, in_shape: tuple, name: str):
    """``(Sparse, out_shape, bias or None)`` of a linear NIR node."""
    kind = _kind(node)
    n_in = int(np.prod(in_shape))
    if kind in ("Affine", "Linear"):
        m = _dense(node.weight)
        if m.n_in != n_in:
            raise NIRError(f"node '{name}' ({kind}): weight {np.shape(node.weight)} does not "
                           f"take input of shape {in_shape}")
        bias = np.asarray(node.bias, dtype=np.float64).ravel() if kind == "Affine" else None
        if bias is not None and not np.any(bias):
            bias = None
        return m, (m.n_out,), bias
    if kind == "Scale":
        s = np.broadcast_to(np.asarray(node.scale, dtype=np.float64).ravel(), (n_in,))
        i = np.nonzero(s)[0]
        return Sparse(i, i, s[i], n_in, n_in), in_shape, None
    if kind in ("Flatten", "Identity"):
        out = getattr(node, "output_type", {}).get("output") if kind == "Flatten" else None
        out_shape = tuple(int(v) for v in out) if out is not None and \
            int(np.prod(out)) == n_in else (n_in,)
        return _identity(n_in), out_shape, None
    if kind == "Conv1d":
        shape = in_shape if len(in_shape) == 2 else (np.shape(node.weight)[1], n_in //
                                                     np.shape(node.weight)[1])
        w4 = np.asarray(node.weight)[:, :, None, :]
        pad = node.padding if isinstance(node.padding, str) else (0, int(np.ravel(node.padding)[0]))
        m, (c, _, wo) = _conv(w4, (shape[0], 1, shape[1]), (1, _pair(node.stride, 1)[0]),
                              pad, (1, _pair(node.dilation, 1)[0]), node.groups)
        return m, (c, wo), _conv_bias(node.bias, (c, wo))
    if kind == "Conv2d":
        if len(in_shape) != 3:
            c_in = np.shape(node.weight)[1] * int(node.groups)
            hw = node.input_shape
            if hw is None:
                raise NIRError(f"node '{name}' (Conv2d): the input shape is unknown")
            in_shape = (c_in, *(int(v) for v in hw))
        m, out = _conv(node.weight, in_shape, node.stride, node.padding, node.dilation,
                       node.groups)
        return m, out, _conv_bias(node.bias, out)
    if kind in ("SumPool2d", "AvgPool2d"):
        if len(in_shape) != 3:
            raise NIRError(f"node '{name}' ({kind}): needs a (C, H, W) input, got {in_shape}")
        c = in_shape[0]
        kh, kw = _pair(node.kernel_size)
        value = 1.0 if kind == "SumPool2d" else 1.0 / (kh * kw)
        m, out = _conv(np.full((c, 1, kh, kw), value), in_shape, node.stride,
                       _pair(node.padding), 1, c)
        return m, out, None
    raise NIRError(f"node '{name}' of type {kind} is not supported by spinn.nir "
                   f"(supported: Input, Output, {', '.join(NEURON_NODES + LINEAR_NODES)})")


# -- the network ------------------------------------------------------------------

@dataclass
class NIRNetwork:
    """What :func:`load` built: populations by NIR node name and the projections."""
    graph: object
    dt: float
    populations: dict = field(default_factory=dict)
    shapes: dict = field(default_factory=dict)
    projections: list = field(default_factory=list)
    inputs: list = field(default_factory=list)
    outputs: dict = field(default_factory=dict)     # output node -> neuron node
    _ran: bool = False

    def set_inputs(self, inputs) -> int:
        """Spikes of the ``Input`` nodes: an array ``(T, *shape)`` (one input) or
        a dict by node name; values are spike counts per step. Returns ``T``."""
        if not isinstance(inputs, dict):
            if len(self.inputs) != 1:
                raise NIRError(f"the graph has inputs {self.inputs}: pass a dict")
            inputs = {self.inputs[0]: inputs}
        steps = set()
        timestep = _sim().get_time_step()
        for name, x in inputs.items():
            if name not in self.inputs:
                raise NIRError(f"'{name}' is not an Input node of the graph ({self.inputs})")
            x = np.asarray(x)
            n = int(np.prod(self.shapes[name]))
            x = x.reshape(x.shape[0], n)
            counts = np.rint(x).astype(np.int64)
            if np.any(counts < 0) or not np.array_equal(counts, x):
                raise NIRError(f"input '{name}': spike tensors must hold counts (0, 1, ...)")
            steps.add(x.shape[0])
            t_idx, i_idx = np.nonzero(counts)
            reps = counts[t_idx, i_idx]
            t_idx, i_idx = np.repeat(t_idx, reps), np.repeat(i_idx, reps)
            order = np.lexsort((t_idx, i_idx))
            t_idx, i_idx = t_idx[order], i_idx[order]
            bounds = np.searchsorted(i_idx, np.arange(n + 1))
            # row t is emitted in step t: spinn stamps it (t + 1) * timestep
            times = (t_idx + 1) * timestep
            seqs = [_sim().Sequence(times[bounds[i]:bounds[i + 1]]) for i in range(n)]
            self.populations[name].set(spike_times=seqs)
        return max(steps) if steps else 0

    def run(self, inputs, n_steps: int | None = None):
        """Feed ``inputs`` (see :meth:`set_inputs`), run ``n_steps`` (default: ``T``)
        steps and return the outputs (:meth:`outputs_data`)."""
        if self._ran:
            raise NIRError("NIRNetwork.run() can be called once per simulation "
                           "(sim.setup() again, then load())")
        t = self.set_inputs(inputs)
        n_steps = t if n_steps is None else int(n_steps)
        _sim().run(n_steps * _sim().get_time_step())
        self._ran = True
        return self.outputs_data(n_steps)

    def outputs_data(self, n_steps: int):
        """``{output node: array (n_steps, *shape)}`` (an array if there is one
        output): spike counts per step, or ``v`` after each step for a
        non-spiking node."""
        timestep = _sim().get_time_step()
        result = {}
        for out, src in self.outputs.items():
            pop, shape = self.populations[src], self.shapes[src]
            n = pop.size
            seg = pop.get_data(clear=False).segments[0]
            if _spiking(self.graph.nodes[src]):
                data = np.zeros((n_steps, n))
                for i, st in enumerate(seg.spiketrains):
                    k = np.rint(np.asarray(st.magnitude) / timestep).astype(np.int64) - 1
                    k = k[(k >= 0) & (k < n_steps)]
                    np.add.at(data[:, i], k, 1)
            else:
                sig = seg.filter(name="v")[0]
                times = np.rint(np.asarray(sig.times.magnitude) / timestep).astype(np.int64)
                values = np.asarray(sig.magnitude)
                data = np.full((n_steps, n), np.nan)
                for row, k in enumerate(times):          # v after step k is stamped k+1
                    if 1 <= k <= n_steps:
                        data[k - 1] = values[row]
            result[out] = data.reshape((n_steps,) + tuple(shape))
        return next(iter(result.values())) if len(result) == 1 else result


def _sim():
    import spinn
    return spinn


def _spiking(node) -> bool:
    return _kind(node) in ("LIF", "CubaLIF", "IF", "Threshold")


def _read(graph_or_path):
    if hasattr(graph_or_path, "nodes") and hasattr(graph_or_path, "edges"):
        return graph_or_path
    import nir
    return nir.read(str(graph_or_path))


def _endpoint(name: str, nodes: dict) -> str:
    if name in nodes:
        return name
    head = name.rsplit(".", 1)[0]
    if head in nodes:
        return head
    raise NIRError(f"edge endpoint '{name}' is not a node of the graph")


def load(graph_or_path, dt: float = 1.0, *, label: str = "nir") -> NIRNetwork:
    """Build the NIR graph (a ``nir.NIRGraph`` or the path of a ``.nir`` file)
    in the current simulation and return the :class:`NIRNetwork`.

    ``dt`` is NIR's time step in the graph's time unit (that of ``tau``); one
    spinn step (``sim.setup(timestep=...)``) simulates ``dt``.
    """
    sim = _sim()
    graph = _read(graph_or_path)
    nodes = dict(graph.nodes)
    succ = {name: [] for name in nodes}
    pred = {name: [] for name in nodes}
    for a, b in graph.edges:
        a, b = _endpoint(a, nodes), _endpoint(b, nodes)
        succ[a].append(b)
        pred[b].append(a)
    net = NIRNetwork(graph=graph, dt=float(dt))
    supported = ("Input", "Output") + NEURON_NODES + LINEAR_NODES
    for name, node in nodes.items():
        if _kind(node) not in supported:
            raise NIRError(f"node '{name}' of type {_kind(node)} is not supported by "
                           f"spinn.nir (supported: {', '.join(supported)})")
    # populations: inputs and neurons, in the graph's order
    for name, node in nodes.items():
        kind = _kind(node)
        if kind == "Input":
            shape = tuple(int(v) for v in np.atleast_1d(node.input_type["input"]))
            n = int(np.prod(shape))
            net.populations[name] = sim.Population(
                n, sim.SpikeSourceArray(spike_times=[]), label=f"{label}:{name}")
            net.shapes[name] = shape
            net.inputs.append(name)
        elif kind in NEURON_NODES:
            params, shape = neuron_parameters(node, dt)
            n = int(np.prod(shape))
            pop = sim.Population(n, sim.extra_models.NIR_neuron(**params),
                                 label=f"{label}:{name}")
            net.populations[name] = pop
            net.shapes[name] = shape
    # outputs
    for name, node in nodes.items():
        if _kind(node) != "Output":
            continue
        srcs = pred[name]
        if len(srcs) != 1 or srcs[0] not in net.populations or srcs[0] in net.inputs:
            what = ", ".join(f"'{s}' ({_kind(nodes[s])})" for s in srcs)
            raise NIRError(f"Output node '{name}' must follow exactly one neuron node; "
                           f"it follows {what or 'nothing'}")
        net.outputs[name] = srcs[0]
        pop = net.populations[srcs[0]]
        pop.record("spikes" if _spiking(nodes[srcs[0]]) else "v")
    # linear chains: from every population (and every bias) forward to neurons
    incoming = {}           # (pre, post) -> Sparse
    bias = {}               # post -> vector

    def walk(origin, at, m: Sparse | None, vec, shape, depth=0):
        if depth > len(nodes):
            raise NIRError(f"a cycle of linear nodes through '{at}'")
        for nxt in succ[at]:
            kind = _kind(nodes[nxt])
            if kind in NEURON_NODES:
                n_post = int(np.prod(net.shapes[nxt]))
                size = m.n_out if m is not None else vec.size
                if size != n_post:
                    raise NIRError(f"node '{nxt}' ({kind}) of {n_post} neurons receives "
                                   f"{size} values from '{at}'")
                if m is not None:
                    key = (origin, nxt)
                    incoming[key] = m if key not in incoming else _add(incoming[key], m)
                else:
                    bias[nxt] = bias.get(nxt, 0.0) + vec
            elif kind in LINEAR_NODES:
                lm, out_shape, b = linear_map(nodes[nxt], shape, nxt)
                if m is not None:
                    if m.n_out != lm.n_in:
                        raise NIRError(f"node '{nxt}' ({kind}) takes {lm.n_in} values, "
                                       f"'{at}' gives {m.n_out}")
                    walk(origin, nxt, m.then(lm), None, out_shape, depth + 1)
                else:
                    walk(origin, nxt, None, lm.apply(vec), out_shape, depth + 1)
            elif kind == "Output":
                if m is not None and at != origin or vec is not None:
                    raise NIRError(f"Output node '{nxt}' follows the linear node '{at}' "
                                   f"({_kind(nodes[at])}); spinn outputs neuron spikes or "
                                   "states only")
            else:
                raise NIRError(f"node '{nxt}' of type {kind} cannot follow '{at}'")

    for name in net.populations:
        walk(name, name, _identity(int(np.prod(net.shapes[name]))), None, net.shapes[name])
    for name, node in nodes.items():
        if _kind(node) in LINEAR_NODES:
            in_shape = _shape_into(name, nodes, pred, net.shapes)
            if in_shape is None:
                continue
            lm, out_shape, b = linear_map(node, in_shape, name)
            if b is not None:
                walk(name, name, None, b, out_shape)
    timestep = sim.get_time_step()
    for (pre, post), m in incoming.items():
        for sign, receptor in ((1, "excitatory"), (-1, "inhibitory")):
            sel = (m.w > 0) if sign > 0 else (m.w < 0)
            if not np.any(sel):
                continue
            conns = np.column_stack([m.src[sel], m.dst[sel], m.w[sel],
                                     np.full(int(sel.sum()), timestep)])
            net.projections.append(sim.Projection(
                net.populations[pre], net.populations[post],
                sim.FromListConnector(conns, column_names=["weight", "delay"]),
                sim.StaticSynapse(), receptor_type=receptor,
                label=f"{label}:{pre}->{post}:{receptor[:3]}"))
    for post, vec in bias.items():
        pop = net.populations[post]
        pop.set(i_offset=np.asarray(pop.get("i_offset", gather=True)) + vec)
    return net


def _add(a: Sparse, b: Sparse) -> Sparse:
    return _summed(np.concatenate([a.src, b.src]), np.concatenate([a.dst, b.dst]),
                   np.concatenate([a.w, b.w]), a.n_in, a.n_out)


def _shape_into(name, nodes, pred, shapes, depth=0):
    """The shape of what flows into the linear node ``name`` (None if unknown)."""
    if depth > len(nodes):
        return None
    for p in pred[name]:
        if p in shapes:
            return shapes[p]
        if _kind(nodes[p]) in LINEAR_NODES:
            s = _shape_into(p, nodes, pred, shapes, depth + 1)
            if s is not None:
                return linear_map(nodes[p], s, p)[1]
    return None
