"""sPyNNaker's Population: a cell class without parameters, ``seed`` and the
other ``additional_parameters``, and a few sPyNNaker-only methods."""
from __future__ import annotations

import logging

import numpy as np
from pyNN.models import BaseCellType

from spinn.pynn import populations as _populations
from spinn.pynn.simulator import state
from spinn.values import SpikeTimes

logger = logging.getLogger("spinn.compat")

#: sPyNNaker's per-population hardware settings, which mean nothing to spinn
IGNORED = frozenset({"spikes_per_second", "ring_buffer_sigma", "incoming_spike_buffer_size",
                     "drop_late_spikes", "splitter", "n_steps_per_timestep", "rb_left_shifts",
                     "n_colour_bits", "max_rate", "neurons_per_core", "n_synapse_cores",
                     "allow_delay_extensions"})


class Population(_populations.Population):
    __doc__ = _populations.Population.__doc__

    def __init__(self, size, cellclass, cellparams=None, structure=None, initial_values={},
                 label=None, additional_parameters=None, **additional_kwargs):
        extra = dict(additional_parameters or {})
        extra.update(additional_kwargs)
        seed = extra.pop("seed", None)
        max_atoms = extra.pop("max_atoms_per_core", None)
        for key in sorted(extra):
            if key in IGNORED:
                logger.info("Population %r: %s=%r accepted and ignored (SpiNNaker hardware "
                            "setting)", label, key, extra[key])
            else:
                logger.warning("Population %r: unknown additional parameter %s=%r ignored",
                               label, key, extra[key])
        if isinstance(cellclass, type) and issubclass(cellclass, BaseCellType):
            cellclass = cellclass(**(cellparams or {}))      # sPyNNaker's class form
            cellparams = None
        if seed is not None:
            seed = int(seed)
            if not 0 <= seed < 2**64:
                raise ValueError(f"Population {label!r}: seed must be in [0, 2**64), got {seed}")
        self._own_seed = seed       # read by spinn.pynn.populations when it makes the spec
        self._early_spikes_moved = True     # spike times of 0 ms: _first_step_spikes
        super().__init__(size, cellclass, None, structure, initial_values, label)
        self._first_step_spikes()
        if max_atoms is not None:
            self.set_max_atoms_per_core(max_atoms)

    def _set_parameters(self, parameter_space):
        super()._set_parameters(parameter_space)
        self._first_step_spikes()

    def _first_step_spikes(self):
        """sPyNNaker sends a spike at 0 ms (in the first timestep); spinn
        emits a spike time ``t`` at the end of the step ending at ``t``, so
        times before ``dt/2`` would never be sent. They are sent at ``dt``
        instead (one step later than on SpiNNaker; logged)."""
        st = self._spec.spike_times
        if st is None or st.times.size == 0:
            return
        dt = state.dt
        early = st.times < dt / 2
        if not early.any():
            return
        times = np.where(early, dt, st.times)
        if st.ptr is None:
            new = SpikeTimes(np.sort(times))
        else:
            owner = np.repeat(np.arange(st.ptr.size - 1), np.diff(st.ptr))
            new = SpikeTimes(times[np.lexsort((times, owner))], st.ptr)
        logger.info("Population '%s': %d spike time(s) before %g ms sent at %g ms (spinn's "
                    "first step)", self.label, int(early.sum()), dt / 2, dt)
        self._spec = state.network.replace("populations", self._spec.id, spike_times=new)
        state.sync()

    def set_max_atoms_per_core(self, max_atoms_per_core):
        """The largest slice ("core") of this population (sPyNNaker's method)."""
        n = int(np.prod(max_atoms_per_core))
        if n < 1:
            raise ValueError(f"Population '{self.label}': max_atoms_per_core must be >= 1")
        self._require_unbuilt("set_max_atoms_per_core()")
        self._spec = state.network.replace("populations", self._spec.id, max_atoms_per_core=n)

    def add_placement_constraint(self, x=None, y=None, p=None):
        """Accepted and logged: spinn places slices on ranks itself."""
        logger.info("Population '%s': placement constraint (%s, %s, %s) ignored", self.label,
                    x, y, p)

    def spinnaker_get_data(self, variable, as_matrix=False, view_indexes=None):
        """sPyNNaker's numpy form of recorded data: ``[id, time]`` rows for
        ``"spikes"``, ``[id, time, value]`` rows (or, ``as_matrix``, a
        (time, neuron) matrix) for a signal; ids are population indices."""
        if isinstance(variable, (list, tuple)):
            if len(variable) != 1:
                raise ValueError("spinnaker_get_data takes one variable")
            variable = variable[0]
        block = self.get_data(variable, clear=False)
        segment = block.segments[-1]
        if variable == "spikes":
            rows = []
            for train in segment.spiketrains:
                index = int(train.annotations["source_index"])
                if view_indexes is not None and index not in view_indexes:
                    continue
                times = np.asarray(train.magnitude, dtype=float)
                rows.append(np.column_stack([np.full(times.size, index), times]))
            rows = np.concatenate(rows) if rows else np.zeros((0, 2))
            return rows[np.lexsort((rows[:, 1], rows[:, 0]))] if rows.size else rows
        signal = next(s for s in segment.analogsignals if s.name == variable)
        values = np.asarray(signal.magnitude)
        indices = np.asarray(signal.array_annotations["channel_index"])
        if view_indexes is not None:
            keep = np.isin(indices, view_indexes)
            values, indices = values[:, keep], indices[keep]
        if as_matrix:
            return values
        times = np.asarray(signal.times.magnitude, dtype=float)
        return np.column_stack([np.repeat(indices, times.size), np.tile(times, indices.size),
                                values.T.ravel()])
