"""PyNN's example scripts (``examples/`` in the pyNN 0.13.0 sdist), run unchanged
against spinn, on 1 rank (``python example.py spinn ...``) and on 2 ranks
(``python -m launch.cli run -n 2 example.py spinn ...``).

Nothing of PyNN's is copied or edited: the scripts are run from the unpacked sdist
(see ``sdist.py``), each in a temporary working directory (they write into
``Results/``), with ``MPLBACKEND=Agg`` and a timeout. Each run must exit with 0 and
leave plausible output: the neo files it writes (``*.pkl``) hold spikes or a membrane
potential that moves, or it prints the numbers it is meant to print. A 2-rank run
must write the same data (spike times, signals, connection files, printed numbers) as
the 1-rank run: spinn's results do not depend on the number of ranks.

Scripts spinn cannot run are listed in ``KNOWN_FAILURES`` with the reason and run as
``xfail(strict=True)`` on 1 rank (fixing one turns its xfail into a failure that asks
for the entry to be removed); scripts that need a third-party package that is not
installed, or that do not use a simulator at all, are skipped with the reason.

All of it is marked ``slow`` (about 2-3 minutes on 2 cores).
"""
import os
import pickle
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from .sdist import pynn_sdist

pytestmark = pytest.mark.slow

EXAMPLES = pynn_sdist() / "examples"
REPO = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class Example:
    script: str
    args: tuple = ()
    # globs (relative to the working directory) of neo pickle files the run must write
    data: tuple = ()
    # other files it must write, compared line by line (sorted) across rank counts
    texts: tuple = ()
    # regular expressions of printed lines that must appear; the matching lines must
    # be the same on 1 and 2 ranks
    printed: tuple = ()
    # False where the printed lines legitimately depend on the number of ranks
    same_printed: bool = True
    # why the example cannot run on 2 ranks (run as xfail(strict=True) there)
    not_on_two_ranks: str = ""
    timeout: float = 90.0
    id: str = ""

    @property
    def name(self):
        return self.id or Path(self.script).stem


RUNNABLE = [
    Example("HH_cond_exp2.py", data=("Results/HH_cond_exp2_spinn.pkl",)),
    Example("Izhikevich.py", data=("Results/*/Izhikevich_spinn_np*.pkl",)),
    Example("StepCurrentSource.py", data=("Results/*/StepCurrentSource_spinn_*.pkl",)),
    Example("VAbenchmarks.py", args=("CUBA",), id="VAbenchmarks-CUBA",
            data=("Results/*/VAbenchmarks_CUBA_exc_*.pkl",
                  "Results/*/VAbenchmarks_CUBA_inh_*.pkl"),
            printed=(r"^Number of Synapses +:", r"^(Excitatory|Inhibitory) rate +:")),
    Example("VAbenchmarks.py", args=("COBA",), id="VAbenchmarks-COBA",
            data=("Results/*/VAbenchmarks_COBA_exc_*.pkl",
                  "Results/*/VAbenchmarks_COBA_inh_*.pkl"),
            printed=(r"^Number of Synapses +:", r"^(Excitatory|Inhibitory) rate +:")),
    Example("brunel.py", data=("Results/brunel_np*_spinn.pkl",),
            printed=(r"Excitatory rate +:", r"Inhibitory rate +:")),
    Example("cell_type_demonstration.py",
            data=("Results/*/cell_type_demonstration_spinn_*.pkl",)),
    Example("connections.py", texts=("test.connections",),
            printed=(r"^Number of Synapses +:", r"^Number of inputs +:")),
    Example("current_injection.py", data=("Results/*/current_injection_spinn_*.pkl",)),
    # mpi4py's own collectives next to spinn's: what it gathers depends on the size;
    # its ranks print unsynchronised, their lines can interleave (so no ^ anchor)
    Example("distrib_example.py", printed=(r"gathered \(2\):",), same_printed=False),
    Example("gif_neuron.py", data=("Results/*/gif_neuron_spinn_*.pkl",),
            printed=(r"^tau_eta = ", r"^delta_v = ")),
    Example("inhomogeneous_network.py", data=("Results/*/inhomogeneous_network_spinn_*.pkl",)),
    # the composed neuron: the run (and the script's data.filter of 'excitatory.isyn' etc.)
    Example("monolith_vs_composed.py"),
    Example("multi_synapse.py", printed=(r"^tau_m = ", r"^GABAA.e_syn = ")),
    Example("parameter_changes.py", data=("Results/parameter_changes_spinn.pkl",),
            printed=(r"^Setting current to",)),
    Example("simpleRandomNetwork.py",
            data=("Results/*/simpleRandomNetwork_output_spinn_np*.pkl",),
            texts=("Results/*/simpleRandomNetwork_spinn_np*.conn",)),
    Example("simple_STDP.py", data=("Results/*/simple_stdp_spinn_*.pkl",)),
    Example("small_network.py", data=("Results/*/small_network_spinn_np*.pkl",)),
    Example("specific_network.py", data=("Results/*/specific_network_spinn_np*.pkl",)),
    Example("stdp_network.py", printed=(r"^Projection \"Excitatory connections\"",)),
    Example("synaptic_input.py", data=("Results/*/synaptic_input_spinn_*.pkl",)),
    Example("tsodyksmarkram.py", data=("Results/*/tsodyksmarkram_static_spinn_*.pkl",
                                       "Results/*/tsodyksmarkram_depressing_spinn_*.pkl",
                                       "Results/*/tsodyksmarkram_facilitating_spinn_*.pkl")),
    Example("multiquantal_synapses.py",
            data=tuple(f"Results/*/multiquantal_synapses_{kind}, n={n}_spinn_*.pkl"
                       for kind in ("depressing", "facilitating") for n in (1, 5))),
    # the weight matrices, row by row, drawn with a NumpyRNG and a NativeRNG
    Example("random_numbers.py", printed=(r"^\s*\[*\s*(nan|0\.\d)",)),
    Example("stochastic_deterministic_comparison.py",
            data=tuple(f"Results/*/stochastic_comparison_{kind}, {how}_spinn_*.pkl"
                       for kind in ("depressing", "facilitating")
                       for how in ("deterministic", "stochastic"))),
    Example("stochastic_synapses.py",
            data=("Results/*/stochastic_synapses_static_spinn_*.pkl",
                  "Results/*/stochastic_synapses_stochastic_spinn_*.pkl")),
    Example("stochastic_tsodyksmarkram.py",
            data=tuple(f"Results/*/stochastic_tsodyksmarkram_{kind}, {how}_spinn_*.pkl"
                       for kind in ("depressing", "facilitating")
                       for how in ("deterministic", "stochastic"))),
    Example("update_spike_source_array.py", printed=(r"^Actual spike counts:",),
            not_on_two_ranks="the script draws each source's phase with numpy's unseeded "
                             "np.random.uniform, so every MPI process sets other spike "
                             "times; spinn refuses such a network (RankError: 'the network "
                             "description differs between MPI processes')"),
    Example("varying_poisson.py", printed=(r"^Actual spike counts:",)),
]

KNOWN_FAILURES = {
}

SKIPPED = {
    "nineml_brunel": "imports pyNN.neuron (NEURON) and ninemlcatalog, whatever the "
                     "simulator argument",
    "nineml_neuron": "needs the nineml package (NineML abstraction layer)",
    "nrn_artificial_cell": "imports pyNN.neuron (NEURON artificial cells), whatever the "
                           "simulator argument",
    "simpleRandomNetwork_csa": "needs the csa package (Connection Set Algebra)",
    "random_distributions": "uses no simulator (plots pyNN.random's distributions)",
}


def _all_scripts():
    return sorted(p.stem for p in EXAMPLES.glob("*.py"))


def test_every_example_is_listed():
    """A script added to PyNN's examples must be classified here."""
    listed = {Path(e.script).stem for e in RUNNABLE} | set(KNOWN_FAILURES) | set(SKIPPED)
    assert set(_all_scripts()) == listed


def _env():
    env = dict(os.environ)
    env["MPLBACKEND"] = "Agg"
    env["PYTHONPATH"] = os.pathsep.join(
        [str(REPO)] + [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p])
    return env


def run_example(script, args, n_ranks, workdir, timeout):
    """Run a PyNN example in ``workdir``; its CompletedProcess."""
    workdir.mkdir(parents=True, exist_ok=True)
    path = str(EXAMPLES / script)
    if n_ranks == 1:
        command = [sys.executable, path, "spinn", *args]
    else:
        command = [sys.executable, "-m", "launch.cli", "run", "-n", str(n_ranks), path,
                   "spinn", *args]
    try:
        return subprocess.run(command, cwd=workdir, env=_env(), capture_output=True,
                              text=True, timeout=timeout)
    except subprocess.TimeoutExpired as error:
        pytest.fail(f"{script} on {n_ranks} rank(s) took longer than {timeout} s\n"
                    f"{(error.stderr or b'')[-3000:]!r}")


def _one(workdir, pattern):
    found = sorted(workdir.glob(pattern))
    assert len(found) == 1, f"expected one file {pattern} in {workdir}, found {found}"
    return found[0]


def _block_data(path):
    """The data of a neo pickle: per segment, the spike trains (keyed by source) and
    the signals (keyed by name), as plain arrays."""
    with open(path, "rb") as f:
        block = pickle.load(f)
    segments = []
    for segment in block.segments:
        trains = {}
        for i, train in enumerate(segment.spiketrains):
            key = train.annotations.get("source_index", train.annotations.get("source_id", i))
            trains[int(key)] = np.asarray(train.rescale("ms").magnitude)
        signals = {}
        for signal in segment.analogsignals:
            channels = signal.array_annotations.get("channel_index")
            order = np.argsort(channels) if channels is not None else slice(None)
            signals[signal.name] = np.asarray(signal.magnitude)[:, order]
        segments.append((trains, signals))
    return segments


def _check_plausible(path, data):
    n_spikes = sum(len(t) for trains, _ in data for t in trains.values())
    moving = []
    for _, signals in data:
        for name, values in signals.items():
            assert values.size, f"{path.name}: empty signal {name}"
            assert np.all(np.isfinite(values)), f"{path.name}: {name} is not finite"
            moving.append(np.ptp(values, axis=0).max() > 1e-6)
    assert n_spikes > 0 or any(moving), f"{path.name}: no spikes and no moving signal"


def _printed(example, stdout):
    lines = []
    for pattern in example.printed:
        matching = [line.strip() for line in stdout.splitlines() if re.search(pattern, line)]
        assert matching, (f"{example.name}: nothing printed matching {pattern!r}; "
                          f"stdout:\n{stdout[-3000:]}")
        lines.extend(matching)
    # on several ranks, every rank prints
    return list(dict.fromkeys(lines))


def _text_rows(path):
    """A text file's data lines, sorted (a distributed run may gather them in another
    order), without comment lines."""
    return sorted(line.strip() for line in path.read_text().splitlines()
                  if line.strip() and not line.startswith("#"))


_RESULTS = {}


def _run_and_check(example, n_ranks, tmp_path):
    result = run_example(example.script, example.args, n_ranks, tmp_path / f"np{n_ranks}",
                         example.timeout)
    assert result.returncode == 0, (
        f"{example.name} on {n_ranks} rank(s) exited with {result.returncode}\n"
        f"stdout:\n{result.stdout[-2000:]}\nstderr:\n{result.stderr[-4000:]}")
    workdir = tmp_path / f"np{n_ranks}"
    data = {}
    for pattern in example.data:
        path = _one(workdir, pattern)
        data[pattern] = _block_data(path)
        _check_plausible(path, data[pattern])
    texts = {}
    for pattern in example.texts:
        rows = _text_rows(_one(workdir, pattern))
        assert rows, f"{example.name}: {pattern} holds no data"
        texts[pattern] = rows
    outcome = {"data": data, "texts": texts, "printed": _printed(example, result.stdout)}
    _RESULTS[example.name, n_ranks] = outcome
    return outcome


def _assert_same(example, one, two):
    name = example.name
    if example.same_printed:
        # every rank prints, and two ranks' lines may run into each other: each line
        # of the 1-rank run must appear within a printed line of the 2-rank run
        missing = [line for line in one["printed"]
                   if not any(line in other for other in two["printed"])]
        assert not missing, f"{name}: printed numbers differ: {missing} not in {two['printed']}"
    assert two["texts"] == one["texts"], f"{name}: files differ"
    for pattern, segments in one["data"].items():
        other = two["data"][pattern]
        assert len(other) == len(segments), f"{name} {pattern}: segment counts differ"
        for (trains1, signals1), (trains2, signals2) in zip(segments, other):
            assert trains2.keys() == trains1.keys(), f"{name} {pattern}: spike sources differ"
            for key in trains1:
                np.testing.assert_array_equal(trains2[key], trains1[key],
                                              err_msg=f"{name} {pattern} source {key}")
            assert signals2.keys() == signals1.keys()
            for key in signals1:
                np.testing.assert_array_equal(signals2[key], signals1[key],
                                              err_msg=f"{name} {pattern} signal {key}")


@pytest.mark.parametrize("example", RUNNABLE, ids=lambda e: e.name)
def test_example_one_rank(example, tmp_path):
    _run_and_check(example, 1, tmp_path)


@pytest.mark.parametrize("example", RUNNABLE, ids=lambda e: e.name)
def test_example_two_ranks(example, tmp_path, request):
    """On 2 ranks: plausible, and the same output as on 1 rank."""
    if example.not_on_two_ranks:
        request.applymarker(pytest.mark.xfail(strict=True, reason=example.not_on_two_ranks))
    two = _run_and_check(example, 2, tmp_path)
    one = _RESULTS.get((example.name, 1)) or _run_and_check(example, 1, tmp_path)
    _assert_same(example, one, two)


@pytest.mark.parametrize("name", sorted(KNOWN_FAILURES))
def test_example_known_failure(name, tmp_path, request):
    request.applymarker(pytest.mark.xfail(strict=True, reason=KNOWN_FAILURES[name]))
    result = run_example(f"{name}.py", (), 1, tmp_path, 60.0)
    assert result.returncode == 0, result.stderr[-2000:]


@pytest.mark.parametrize("name", sorted(SKIPPED))
def test_example_skipped(name):
    pytest.skip(SKIPPED[name])
