"""spinn.nir's linear maps (convolutions and pooling expanded into synapses,
chains composed) against direct numpy computations."""
import numpy as np
import pytest

nir = pytest.importorskip("nir")

from spinn.nir import NIRError, Sparse, _dense, linear_map  # noqa: E402


def conv2d_direct(x, w, stride, pad, dil, groups):
    c, h, wd = x.shape
    o, cg, kh, kw = w.shape
    xp = np.zeros((c, h + 2 * pad[0], wd + 2 * pad[1]))
    xp[:, pad[0]:pad[0] + h, pad[1]:pad[1] + wd] = x
    ho = (h + 2 * pad[0] - dil[0] * (kh - 1) - 1) // stride[0] + 1
    wo = (wd + 2 * pad[1] - dil[1] * (kw - 1) - 1) // stride[1] + 1
    y = np.zeros((o, ho, wo))
    per = o // groups
    for co in range(o):
        g = co // per
        for i in range(ho):
            for j in range(wo):
                for cl in range(cg):
                    for a in range(kh):
                        for b in range(kw):
                            y[co, i, j] += w[co, cl, a, b] * xp[
                                g * cg + cl, i * stride[0] + a * dil[0],
                                j * stride[1] + b * dil[1]]
    return y


@pytest.mark.parametrize("stride,pad,dil,groups", [
    (1, 0, 1, 1), (2, 1, 1, 1), (1, 2, 2, 1), (1, 1, 1, 2), ((2, 1), (0, 1), 1, 1)])
def test_conv2d_expansion(stride, pad, dil, groups):
    rng = np.random.default_rng(0)
    c_in, c_out, h, w = 4, 6, 7, 6
    weight = rng.normal(size=(c_out, c_in // groups, 3, 2))
    node = nir.Conv2d(input_shape=(h, w), weight=weight, stride=stride, padding=pad,
                      dilation=dil, groups=groups, bias=np.arange(c_out, dtype=float))
    m, out_shape, bias = linear_map(node, (c_in, h, w), "conv")
    x = rng.normal(size=(c_in, h, w))
    two = lambda v: v if isinstance(v, tuple) else (v, v)      # noqa: E731
    ref = conv2d_direct(x, weight, two(stride), two(pad), two(dil), groups)
    assert out_shape == ref.shape
    np.testing.assert_allclose(m.apply(x.ravel()).reshape(out_shape), ref, atol=1e-12)
    np.testing.assert_array_equal(bias.reshape(out_shape)[:, 0, 0], np.arange(c_out))


def test_conv2d_same_padding():
    rng = np.random.default_rng(1)
    weight = rng.normal(size=(2, 3, 3, 3))
    node = nir.Conv2d(input_shape=(5, 5), weight=weight, stride=1, padding="same",
                      dilation=1, groups=1, bias=np.zeros(2))
    m, out_shape, bias = linear_map(node, (3, 5, 5), "conv")
    x = rng.normal(size=(3, 5, 5))
    assert out_shape == (2, 5, 5) and bias is None
    np.testing.assert_allclose(m.apply(x.ravel()).reshape(out_shape),
                               conv2d_direct(x, weight, (1, 1), (1, 1), (1, 1), 1), atol=1e-12)


def test_conv1d_expansion():
    rng = np.random.default_rng(2)
    weight = rng.normal(size=(3, 2, 4))
    node = nir.Conv1d(input_shape=9, weight=weight, stride=2, padding=1, dilation=1,
                      groups=1, bias=np.zeros(3))
    m, out_shape, _ = linear_map(node, (2, 9), "c1")
    x = rng.normal(size=(2, 9))
    ref = conv2d_direct(x[:, None, :], weight[:, :, None, :], (1, 2), (0, 1), (1, 1), 1)[:, 0]
    assert out_shape == ref.shape
    np.testing.assert_allclose(m.apply(x.ravel()).reshape(out_shape), ref, atol=1e-12)


@pytest.mark.parametrize("kind,scale", [("SumPool2d", 1.0), ("AvgPool2d", 0.25)])
def test_pooling(kind, scale):
    x = np.random.default_rng(3).normal(size=(2, 4, 6))
    node = getattr(nir, kind)(kernel_size=np.array([2, 2]), stride=np.array([2, 2]),
                              padding=np.array([0, 0]))
    m, out_shape, _ = linear_map(node, (2, 4, 6), "pool")
    ref = scale * x.reshape(2, 2, 2, 3, 2).sum(axis=(2, 4))
    assert out_shape == (2, 2, 3)
    np.testing.assert_allclose(m.apply(x.ravel()).reshape(out_shape), ref, atol=1e-12)


def test_composition_equals_matrix_product():
    rng = np.random.default_rng(4)
    a = rng.normal(size=(5, 7)) * (rng.random((5, 7)) < 0.5)
    b = rng.normal(size=(3, 5)) * (rng.random((3, 5)) < 0.5)
    c = _dense(a).then(_dense(b))
    dense = np.zeros((c.n_out, c.n_in))
    np.add.at(dense, (c.dst, c.src), c.w)
    np.testing.assert_allclose(dense, b @ a, atol=1e-12)
    assert isinstance(c, Sparse) and c.n_in == 7 and c.n_out == 3


def test_shape_mismatch_is_named():
    node = nir.Linear(np.ones((2, 3)))
    with pytest.raises(NIRError, match="'lin' \\(Linear\\)"):
        linear_map(node, (4,), "lin")
