"""A NIR graph run by spinn: a small convolutional spiking network read from
``nir_demo.nir`` (written by this script with ``--write``; weights from a fixed
seed, scaled as a trained network's would be) classifies a moving bar.

    python examples/nir_demo.py
    spinn run -n 2 examples/nir_demo.py
    python examples/nir_demo.py --write      # regenerate nir_demo.nir

Graph: Input (2, 16, 16) -> Conv2d 8x3x3, stride 2 (+bias) -> LIF (8, 8, 8)
-> SumPool2d 2x2 -> IF (8, 4, 4) -> Flatten -> Affine 10x128 -> CubaLIF (10)
-> Output. Forward Euler with NIR's dt = 1 ms (see spinn.nir).
"""
import sys
import time
from pathlib import Path

import numpy as np

import spinn as sim
import spinn.nir

HERE = Path(__file__).resolve().parent
NIR_FILE = HERE / "nir_demo.nir"
DT = 1e-3        # NIR time step (s); tau below in s
STEPS = 100


def make_graph():
    import nir
    rng = np.random.default_rng(2026)
    c_in, h, c = 2, 16, 8
    conv_w = rng.normal(0, 0.6, (c, c_in, 3, 3))
    conv_w -= conv_w.mean(axis=(1, 2, 3), keepdims=True)      # edge detectors, roughly
    ho = 8

    def lif(shape, tau, thr):
        return nir.LIF(tau=np.full(shape, tau), r=np.full(shape, 1.0 * tau / DT),
                       v_leak=np.zeros(shape), v_threshold=np.full(shape, thr),
                       v_reset=np.zeros(shape))

    nodes = {
        "input": nir.Input(np.array([c_in, h, h])),
        "conv": nir.Conv2d(input_shape=(h, h), weight=conv_w, stride=2, padding=1,
                           dilation=1, groups=1, bias=rng.normal(0, 0.05, c)),
        "lif1": lif((c, ho, ho), 0.01, 1.0),
        "pool": nir.SumPool2d(kernel_size=np.array([2, 2]), stride=np.array([2, 2]),
                              padding=np.array([0, 0])),
        "if1": nir.IF(r=np.full((c, 4, 4), 1.0 / DT), v_threshold=np.full((c, 4, 4), 2.0)),
        "flatten": nir.Flatten(input_type={"input": np.array([c, 4, 4])}, start_dim=0),
        "fc": nir.Affine(rng.normal(0, 0.25, (10, c * 16)), rng.normal(0, 0.02, 10)),
        "out_lif": nir.CubaLIF(tau_syn=np.full(10, 0.005), tau_mem=np.full(10, 0.02),
                               r=np.full(10, 0.02 / DT), v_leak=np.zeros(10),
                               v_threshold=np.full(10, 1.0), v_reset=np.zeros(10),
                               w_in=np.full(10, 0.005 / DT)),
        "output": nir.Output(np.array([10])),
    }
    edges = [("input", "conv"), ("conv", "lif1"), ("lif1", "pool"), ("pool", "if1"),
             ("if1", "flatten"), ("flatten", "fc"), ("fc", "out_lif"), ("out_lif", "output")]
    return nir.NIRGraph(nodes=nodes, edges=edges)


def moving_bar(steps=STEPS, h=16):
    """ON events at a vertical bar sweeping right, OFF events where it left, plus
    a little seeded noise: (steps, 2, h, h) spikes."""
    rng = np.random.default_rng(7)
    x = (rng.random((steps, 2, h, h)) < 0.01).astype(float)
    for t in range(steps):
        col = (t // 4) % h
        x[t, 0, :, col] = 1.0
        x[t, 1, :, (col - 1) % h] = 1.0
    return x


def main():
    if "--write" in sys.argv:
        import nir
        nir.write(NIR_FILE, make_graph())
        print(f"wrote {NIR_FILE}")
        return
    sim.setup(timestep=1.0)                 # one spinn step (1 ms) = one NIR step dt
    t0 = time.perf_counter()
    net = spinn.nir.load(NIR_FILE, dt=DT)
    out = net.run(moving_bar())             # (STEPS, 10) output spike counts
    elapsed = time.perf_counter() - t0
    if sim.rank() == 0:
        counts = out.sum(axis=0).astype(int)
        print(f"output spikes per class: {counts.tolist()}; class {int(np.argmax(counts))}; "
              f"load + run {elapsed:.2f} s on {sim.num_processes()} rank(s)")
    sim.end()


if __name__ == "__main__":
    main()
