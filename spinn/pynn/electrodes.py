"""PyNN current sources backed by :mod:`spinn.electrodes`.

Parameters live in the engine's frozen :class:`~spinn.network.CurrentSourceSpec`;
changing them between runs (``source.amplitude = 0.5`` or ``set_parameters``)
makes a new version, which takes effect from the next step on every rank.
"""
from __future__ import annotations

import numpy as np
from pyNN.parameters import ParameterSpace, Sequence
from pyNN.standardmodels import electrodes

from ..electrodes import recorded_value, step_schedule
from ..errors import NetworkError
from ..network import CurrentSourceSpec
from ..rng import stream_key
from ..validation import check_current_source
from .simulator import state
from .standardmodels import identity_translations


def _plain(value):
    if isinstance(value, Sequence):
        return np.asarray(value.value, dtype=float)
    if isinstance(value, np.ndarray) and value.dtype == object:
        value = value.ravel()[0]
        return np.asarray(getattr(value, "value", value), dtype=float)
    if isinstance(value, np.ndarray):
        return value.ravel()[0] if value.size == 1 else value
    return value


class _SpinnCurrentSource:
    """Shared behaviour of spinn's current sources."""
    kind = None

    def __init__(self, **parameters):
        state.require_setup(type(self).__name__ + "()")
        object.__setattr__(self, "_spec", None)
        ps = ParameterSpace(self.default_parameters, self.get_schema(), shape=(1,))
        if parameters:
            ps.update(**parameters)
        ps.evaluate(simplify=True)
        params = {name: _plain(value) for name, value in ps.items()}
        self._prepare(params)
        spec = CurrentSourceSpec(id=len(state.network.current_sources), kind=self.kind,
                                 params=params, label=type(self).__name__)
        object.__setattr__(self, "_spec", spec)
        state.network.add("current_sources", spec)

    def _replace(self, **changes):
        object.__setattr__(self, "_spec", state.network.replace(
            "current_sources", self._spec.id, **changes))
        state.sync()

    def _prepare(self, params):
        check_current_source(type(self).__name__, self.kind, params)
        if self.kind == "step":
            params["_schedule"] = step_schedule(params["times"], params["amplitudes"],
                                                state.dt, label=type(self).__name__)
        if self.kind == "noisy":
            if params.get("dt") is None:
                params["dt"] = state.dt
            steps = params["dt"] / state.dt
            if abs(steps - round(steps)) > 1e-9 or round(steps) < 1:
                raise NetworkError(f"NoisyCurrentSource: dt = {params['dt']} ms must be a "
                                 f"multiple of the timestep {state.dt} ms")
            params["_seed"] = int(stream_key(state.network.seed, 0xE1EC))

    def inject_into(self, cells):
        gids = np.array([int(c) for c in cells], dtype=np.int64)
        for c in cells:
            if not c.celltype.injectable:
                raise TypeError(f"Can't inject current into a spike source "
                                f"({type(c.celltype).__name__})")
        self._replace(targets=np.union1d(self._spec.targets, gids))

    def set_native_parameters(self, parameters):
        parameters.evaluate(simplify=True)
        params = dict(self._spec.params)
        for name, value in parameters.items():
            params[name] = _plain(value)
        self._prepare(params)
        self._replace(params=params)

    def get_native_parameters(self):
        public = {k: v for k, v in self._spec.params.items() if not k.startswith("_")}
        for k in ("times", "amplitudes"):
            if k in public:
                public[k] = Sequence(public[k])
        return ParameterSpace(public, self.get_schema(), shape=(1,))

    def get_parameters(self):
        """Current parameter values as plain numbers and arrays.

        A StepCurrentSource's ``times`` and ``amplitudes`` are those in effect: times
        rounded to the timestep, of several on one step the last amplitude (as NEURON
        and Brian 2 report them; PyNN's test_issue512)."""
        values = {}
        for name, value in self.get_native_parameters().items():
            if hasattr(value, "evaluate"):
                value = value.evaluate(simplify=True)
            if isinstance(value, Sequence):
                value = np.array(value.value, dtype=float)
            values[name] = value
        if self.kind == "step":
            steps, amplitudes = self._spec.params["_schedule"]
            values["times"] = steps * state.dt
            values["amplitudes"] = np.array(amplitudes, dtype=float)
        return values

    def record(self):
        self._replace(record=True)

    def _get_data(self):
        sim = state.simulation
        n = 0 if sim is None else sim.step
        trace = list(sim.current_traces.get(self._spec.id, [])) if sim else []
        trace = [0.0] * (n - len(trace)) + trace        # before record() was called
        trace.append(recorded_value(self._spec, n, state.dt))
        return np.arange(n + 1) * state.dt, np.array(trace)

    def _reset(self):
        pass


def _translations(cls):
    return identity_translations(*cls.default_parameters)


class DCSource(_SpinnCurrentSource, electrodes.DCSource):
    __doc__ = electrodes.DCSource.__doc__
    kind = "dc"
    translations = _translations(electrodes.DCSource)


class ACSource(_SpinnCurrentSource, electrodes.ACSource):
    __doc__ = electrodes.ACSource.__doc__
    kind = "ac"
    translations = _translations(electrodes.ACSource)


class StepCurrentSource(_SpinnCurrentSource, electrodes.StepCurrentSource):
    __doc__ = electrodes.StepCurrentSource.__doc__
    kind = "step"
    translations = _translations(electrodes.StepCurrentSource)


class NoisyCurrentSource(_SpinnCurrentSource, electrodes.NoisyCurrentSource):
    __doc__ = electrodes.NoisyCurrentSource.__doc__
    kind = "noisy"
    translations = _translations(electrodes.NoisyCurrentSource)
