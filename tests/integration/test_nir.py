"""spinn.nir: NIR graphs against a plain numpy integration of NIR's equations.

The reference below is written from NIR's specification (the docstrings of
the ``nir`` package), discretised as spinn does: forward Euler with step
``dt``, every state advanced with the values at the start of the step,
``spike if v > v_threshold`` then ``v = v_reset``; a spike (or input row)
of step ``k`` is the input of the next layer in step ``k + 1``.
Weights are multiples of 1/64 (biases of 1/256), so every sum of weights is
exact whatever its order: the comparison is step for step, exact.
"""
import numpy as np
import pytest

nir = pytest.importorskip("nir")

import spinn as sim          # noqa: E402
import spinn.nir as snir     # noqa: E402

DT = 1e-3


def _q(a, step=1 / 64):
    return np.round(np.asarray(a) / step) * step


# -- reference ------------------------------------------------------------------

def _conv2d(x, w, b, stride, pad):
    """Cross-correlation of x (C, H, W) with w (O, C, kh, kw), explicit loops."""
    c, h, wd = x.shape
    o, _, kh, kw = w.shape
    xp = np.zeros((c, h + 2 * pad, wd + 2 * pad))
    xp[:, pad:pad + h, pad:pad + wd] = x
    ho, wo = (h + 2 * pad - kh) // stride + 1, (wd + 2 * pad - kw) // stride + 1
    y = np.zeros((o, ho, wo))
    for i in range(ho):
        for j in range(wo):
            patch = xp[:, i * stride:i * stride + kh, j * stride:j * stride + kw]
            y[:, i, j] = np.tensordot(w, patch, axes=([1, 2, 3], [0, 1, 2]))
    return y + (0 if b is None else np.asarray(b)[:, None, None])


def _linear(node, x):
    kind = type(node).__name__
    if kind == "Affine":
        return node.weight @ x.ravel() + node.bias
    if kind == "Linear":
        return node.weight @ x.ravel()
    if kind == "Flatten":
        return x.ravel()
    if kind == "Conv2d":
        return _conv2d(x, node.weight, node.bias, int(np.ravel(node.stride)[0]),
                       int(np.ravel(node.padding)[0]))
    if kind == "Scale":
        return x * node.scale
    if kind == "Conv1d":
        c, n = x.shape
        o, _, k = node.weight.shape
        pad, st = int(np.ravel(node.padding)[0]), int(np.ravel(node.stride)[0])
        xp = np.zeros((c, n + 2 * pad))
        xp[:, pad:pad + n] = x
        no = (n + 2 * pad - k) // st + 1
        y = np.stack([np.tensordot(node.weight, xp[:, j * st:j * st + k], axes=([1, 2], [0, 1]))
                      for j in range(no)], axis=1)
        return y + node.bias[:, None]
    if kind == "SumPool2d":
        k, s = int(np.ravel(node.kernel_size)[0]), int(np.ravel(node.stride)[0])
        c, h, w = x.shape
        return x[:, :h // s * s, :w // s * s].reshape(c, h // s, k, w // s, k).sum(axis=(2, 4))
    raise AssertionError(kind)


def reference(graph, x, n_steps):
    """{neuron node: (spikes (T, n), v (T, n))} by forward Euler of NIR's ODEs."""
    nodes, edges = graph.nodes, graph.edges
    pred = {n: [a for a, b in edges if b == n] for n in nodes}
    neurons = [n for n, v in nodes.items() if type(v).__name__ in
               ("LIF", "CubaLIF", "LI", "IF", "I", "Threshold")]
    shape = {n: np.shape(getattr(nodes[n], "r", getattr(nodes[n], "threshold", None)))
             for n in neurons}
    v = {n: np.zeros(shape[n]) for n in neurons}
    cur = {n: np.zeros(shape[n]) for n in neurons}
    prev = {n: np.zeros(shape[n]) for n in neurons}
    inp = next(n for n, v_ in nodes.items() if type(v_).__name__ == "Input")
    out = {n: (np.zeros((n_steps, v[n].size)), np.zeros((n_steps, v[n].size)))
           for n in neurons}
    for k in range(n_steps):
        prev[inp] = x[k - 1] if 1 <= k <= len(x) else np.zeros(x.shape[1:])

        def value(n):               # what node n sends in step k
            if n in prev:
                return prev[n]
            return _linear(nodes[n], sum(value(p) for p in pred[n]))

        new = {}
        for n in neurons:
            node, kind = nodes[n], type(nodes[n]).__name__
            s = sum(value(p) for p in pred[n]).reshape(shape[n])
            if kind == "LIF" or kind == "LI":
                v[n] = v[n] + DT / node.tau * ((node.v_leak - v[n]) + node.r * s)
            elif kind == "CubaLIF":
                i_old = cur[n]
                cur[n] = i_old + DT / node.tau_syn * (-i_old + node.w_in * s)
                v[n] = v[n] + DT / node.tau_mem * ((node.v_leak - v[n]) + node.r * i_old)
            elif kind in ("IF", "I"):
                v[n] = v[n] + DT * (node.r * s)
            elif kind == "Threshold":
                v[n] = s
            z = np.zeros(shape[n])
            if kind in ("LIF", "CubaLIF", "IF"):
                z = (v[n] > node.v_threshold).astype(float)
                v[n] = np.where(z > 0, node.v_reset, v[n])
            elif kind == "Threshold":
                z = (v[n] > node.threshold).astype(float)
            new[n] = z
            out[n][0][k], out[n][1][k] = z.ravel(), v[n].ravel()
        prev.update(new)
        prev[inp] = None
    return out


# -- graphs ---------------------------------------------------------------------

def _lif(shape, rng, tau=0.005, thr=0.1):
    shape = tuple(np.atleast_1d(shape))
    return nir.LIF(tau=np.full(shape, tau) * (1 + 0.5 * rng.random(shape)),
                   r=np.full(shape, 1.0) + rng.random(shape), v_leak=np.zeros(shape),
                   v_threshold=np.full(shape, thr), v_reset=np.zeros(shape))


def mlp_graph(seed=1):
    rng = np.random.default_rng(seed)
    n_in, n_h, n_out = 20, 30, 10
    return nir.NIRGraph.from_list(
        nir.Input(np.array([n_in])),
        nir.Affine(_q(rng.normal(0, 1, (n_h, n_in))), _q(rng.normal(0, 0.2, n_h), 1 / 256)),
        _lif(n_h, rng),
        nir.Linear(_q(rng.normal(0, 1, (n_out, n_h)))),
        _lif(n_out, rng),
        nir.Output(np.array([n_out])))


def cuba_graph(seed=2):
    rng = np.random.default_rng(seed)
    n_in, n, n_out = 8, 16, 4
    cuba = nir.CubaLIF(tau_syn=np.full(n, 0.004), tau_mem=np.full(n, 0.008) + 0.004 *
                       rng.random(n), r=np.full(n, 2.0), v_leak=np.full(n, 0.01),
                       v_threshold=np.full(n, 0.05), v_reset=np.full(n, -0.01),
                       w_in=1 + rng.random(n))
    nodes = {
        "in": nir.Input(np.array([n_in])),
        "w_in": nir.Linear(_q(rng.normal(0, 1.5, (n, n_in)))),
        "cuba": cuba,
        "w_rec": nir.Linear(_q(rng.normal(0, 0.8, (n, n)))),
        "w_out": nir.Affine(_q(rng.normal(0, 1, (n_out, n))), _q(rng.normal(0, 0.1, n_out))),
        "li": nir.LI(tau=np.full(n_out, 0.01), r=np.ones(n_out), v_leak=np.zeros(n_out)),
        "spikes": nir.Output(np.array([n])),
        "trace": nir.Output(np.array([n_out])),
    }
    edges = [("in", "w_in"), ("w_in", "cuba"), ("cuba", "w_rec"), ("w_rec", "cuba"),
             ("cuba", "spikes"), ("cuba", "w_out"), ("w_out", "li"), ("li", "trace")]
    return nir.NIRGraph(nodes=nodes, edges=edges)


def conv_graph(seed=3):
    rng = np.random.default_rng(seed)
    c_in, h, c = 2, 8, 4
    nodes = {
        "in": nir.Input(np.array([c_in, h, h])),
        "conv": nir.Conv2d(input_shape=(h, h), weight=_q(rng.normal(0, 0.7, (c, c_in, 3, 3))),
                           stride=1, padding=1, dilation=1, groups=1,
                           bias=_q(rng.normal(0, 0.05, c), 1 / 256)),
        "lif1": _lif((c, h, h), rng),
        "pool": nir.SumPool2d(kernel_size=np.array([2, 2]), stride=np.array([2, 2]),
                              padding=np.array([0, 0])),
        "if": nir.IF(r=np.full((c, h // 2, h // 2), 50.0),
                     v_threshold=np.full((c, h // 2, h // 2), 0.1)),
        "flat": nir.Flatten(input_type={"input": np.array([c, h // 2, h // 2])}, start_dim=0),
        "fc": nir.Affine(_q(rng.normal(0, 0.5, (5, c * (h // 2) ** 2))), np.zeros(5)),
        "lif2": _lif(5, rng),
        "out": nir.Output(np.array([5])),
    }
    edges = [("in", "conv"), ("conv", "lif1"), ("lif1", "pool"), ("pool", "if"),
             ("if", "flat"), ("flat", "fc"), ("fc", "lif2"), ("lif2", "out")]
    return nir.NIRGraph(nodes=nodes, edges=edges)


def misc_graph(seed=4):
    """Conv1d -> LIF -> Flatten -> Linear -> Scale -> Threshold -> Linear -> I."""
    rng = np.random.default_rng(seed)
    c_in, n, c = 2, 12, 3
    nodes = {
        "in": nir.Input(np.array([c_in, n])),
        "conv": nir.Conv1d(input_shape=n, weight=_q(rng.normal(0, 0.8, (c, c_in, 3))),
                           stride=1, padding=1, dilation=1, groups=1,
                           bias=_q(rng.normal(0, 0.05, c), 1 / 256)),
        "lif": _lif((c, n), rng),
        "flat": nir.Flatten(input_type={"input": np.array([c, n])}, start_dim=0),
        "w1": nir.Linear(_q(rng.normal(0, 1, (6, c * n)))),
        "scale": nir.Scale(_q(1 + rng.random(6), 1 / 8)),
        "thr": nir.Threshold(np.full(6, 0.5)),
        "w2": nir.Linear(_q(rng.normal(0, 1, (4, 6)))),
        "int": nir.I(r=np.full(4, 2.0)),
        "out": nir.Output(np.array([4])),
    }
    order = list(nodes)
    return nir.NIRGraph(nodes=nodes, edges=list(zip(order[:-1], order[1:])))


def _inputs(shape, n_steps, p, seed):
    return (np.random.default_rng(seed).random((n_steps,) + tuple(shape)) < p).astype(float)


def _spinn(graph, x, n_steps, n_ranks, per_core=None):
    sim.setup(timestep=1.0, quiet=True, n_virtual_ranks=n_ranks)
    if per_core:        # populations split into slices over the ranks
        sim.set_number_of_neurons_per_core(sim.extra_models.NIR_neuron, per_core)
    try:
        net = snir.load(graph, dt=DT)
        return net.run(x, n_steps=n_steps)
    finally:
        sim.end()


def _agreement(a, b):
    same = np.all(a.reshape(len(a), -1) == b.reshape(len(b), -1), axis=1)
    return int(same.sum()), len(same)


@pytest.mark.parametrize("n_ranks,per_core", [(1, None), (2, None), (2, 7)])
def test_lif_mlp(n_ranks, per_core):
    g, T = mlp_graph(), 60
    x = _inputs((20,), T, 0.3, 10)
    out = _spinn(g, x, T, n_ranks, per_core)
    ref = reference(g, x, T)["lif_1"][0]
    same, total = _agreement(out, ref)
    print(f"LIF MLP, {n_ranks} rank(s): {same}/{total} steps identical, "
          f"{int(ref.sum())} output spikes")
    assert ref.sum() > 10 and out.shape == (T, 10)
    assert same == total


@pytest.mark.parametrize("n_ranks", [1, 2])
def test_cuba_lif_recurrent(n_ranks):
    g, T = cuba_graph(), 80
    x = _inputs((8,), T, 0.3, 11)
    out = _spinn(g, x, T, n_ranks)
    ref = reference(g, x, T)
    same, total = _agreement(out["spikes"], ref["cuba"][0])
    print(f"CubaLIF recurrent, {n_ranks} rank(s): {same}/{total} steps identical, "
          f"{int(ref['cuba'][0].sum())} spikes")
    assert ref["cuba"][0].sum() > 10
    assert same == total
    # the LI readout's membrane, bit for bit
    np.testing.assert_array_equal(out["trace"], ref["li"][1])
    assert np.ptp(ref["li"][1]) > 0


@pytest.mark.parametrize("n_ranks", [1, 2])
def test_conv_net(n_ranks):
    g, T = conv_graph(), 40
    x = _inputs((2, 8, 8), T, 0.3, 12)
    out = _spinn(g, x, T, n_ranks)
    ref = reference(g, x, T)
    same, total = _agreement(out, ref["lif2"][0])
    print(f"conv net, {n_ranks} rank(s): {same}/{total} steps identical, "
          f"{int(ref['lif1'][0].sum())}/{int(ref['if'][0].sum())}/"
          f"{int(ref['lif2'][0].sum())} spikes per layer")
    assert ref["lif2"][0].sum() > 5 and ref["if"][0].sum() > 5
    assert same == total


@pytest.mark.parametrize("n_ranks", [1, 2])
def test_conv1d_scale_threshold_integrator(n_ranks):
    g, T = misc_graph(), 50
    x = _inputs((2, 12), T, 0.3, 14)
    out = _spinn(g, x, T, n_ranks, per_core=5)
    ref = reference(g, x, T)
    print(f"Conv1d/Threshold/I, {n_ranks} rank(s): "
          f"{_agreement(out, ref['int'][1])[0]}/{T} steps identical, "
          f"{int(ref['lif'][0].sum())}/{int(ref['thr'][0].sum())} spikes")
    assert ref["thr"][0].sum() > 5
    np.testing.assert_array_equal(out, ref["int"][1])


def test_demo_file():
    """examples/nir_demo.nir (unquantised weights) against the reference."""
    import importlib.util
    from pathlib import Path
    path = Path(__file__).resolve().parents[2] / "examples" / "nir_demo.py"
    spec = importlib.util.spec_from_file_location("nir_demo", path)
    demo = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(demo)
    g = nir.read(demo.NIR_FILE)
    x, T = demo.moving_bar(), demo.STEPS
    ref = reference(g, x, T)["out_lif"][0]
    for n_ranks in (1, 2):
        out = _spinn(g, x, T, n_ranks)
        same, total = _agreement(out, ref)
        print(f"nir_demo, {n_ranks} rank(s): {same}/{total} steps identical, "
              f"{int(ref.sum())} output spikes")
        assert same == total


def test_file_round_trip(tmp_path):
    g, T = mlp_graph(), 30
    path = tmp_path / "mlp.nir"
    nir.write(path, g)
    x = _inputs((20,), T, 0.3, 13)
    np.testing.assert_array_equal(_spinn(str(path), x, T, 1), _spinn(g, x, T, 1))


def test_unsupported_node_is_named():
    g = nir.NIRGraph(nodes={"in": nir.Input(np.array([2])),
                            "d": nir.Delay(delay=np.ones(2)),
                            "out": nir.Output(np.array([2]))},
                     edges=[("in", "d"), ("d", "out")], type_check=False)
    sim.setup(timestep=1.0, quiet=True)
    try:
        with pytest.raises(snir.NIRError, match="'d' of type Delay"):
            snir.load(g, dt=DT)
    finally:
        sim.end()


def test_output_after_linear_node_is_refused():
    g = nir.NIRGraph.from_list(nir.Input(np.array([3])), nir.Linear(np.ones((2, 3))),
                               nir.Output(np.array([2])))
    sim.setup(timestep=1.0, quiet=True)
    try:
        with pytest.raises(snir.NIRError, match="Output node 'output' must follow"):
            snir.load(g, dt=DT)
    finally:
        sim.end()
