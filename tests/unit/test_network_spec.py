"""The frozen description: immutability, digests that name the first
difference, changes between versions, keyed random values."""
import numpy as np
import pytest

from spinn.connectors import AllToAll
from spinn.errors import SimulationStateError
from spinn.network import (CurrentSourceSpec, GidRange, NetworkDraft, PopulationSpec,
                           ProjectionSpec, SynapseUpdate, changes_between, fingerprint,
                           first_difference)
from spinn.values import NEURON_BLOCK, RandomValue, RecordSpec, SpikeTimes, evaluate, take


def draft_with(tau=10.0):
    draft = NetworkDraft(dt_ms=0.1, seed=5)
    draft.add("populations", PopulationSpec(0, "a", 100, "IF_curr_exp", 0,
                                            {"tau_m": tau}, {"v": -65.0}))
    draft.add("populations", PopulationSpec(1, "b", 50, "IF_curr_exp", 100, {"tau_m": 20.0}))
    draft.add("projections", ProjectionSpec(0, "ab", GidRange(0, 100), GidRange(100, 50),
                                            (0,), (1,), AllToAll(), 1, 0.5, 1.0, 0))
    return draft


def test_specs_are_immutable_and_arrays_read_only():
    spec = draft_with().freeze()
    with pytest.raises(AttributeError):
        spec.populations[0].size = 3
    with pytest.raises(TypeError):
        spec.populations[0].params["tau_m"] = 3.0
    pop = PopulationSpec(2, "c", 3, "IF_curr_exp", 150, {"tau_m": np.array([1.0, 2.0, 3.0])})
    with pytest.raises(ValueError):
        pop.params["tau_m"][0] = 5.0


def test_digest_names_the_first_difference():
    a, b = draft_with(10.0).freeze(), draft_with(11.0).freeze()
    assert a.digest == draft_with(10.0).freeze().digest
    assert a.digest != b.digest
    assert first_difference(a.object_digests(), b.object_digests()) == \
        "Population 'a', field 'params'"
    assert first_difference(a.object_digests(), a.object_digests()) is None
    longer = draft_with(10.0)
    longer.add("populations", PopulationSpec(2, "extra", 5, "IF_curr_exp", 150))
    assert first_difference(a.object_digests(), longer.freeze().object_digests()) == \
        "Projection 'ab' (the other process has Population 'extra' there)"
    tail = draft_with(10.0)
    tail.add("current_sources", CurrentSourceSpec(
        0, "dc", {"amplitude": 1.0}))
    assert first_difference(a.object_digests(), tail.freeze().object_digests()) == \
        "current source (source 0) (exists in only one process)"


def test_fingerprints_of_functions_see_names_and_constants():
    assert fingerprint(lambda d: np.exp(d)) != fingerprint(lambda d: np.log(d))
    assert fingerprint(lambda d: d * 2.0) != fingerprint(lambda d: d * 3.0)
    assert fingerprint(np.arange(3)) != fingerprint(np.arange(3.0))


def test_freeze_versions_and_changes_between():
    draft = draft_with()
    first = draft.freeze()
    assert draft.freeze() is first                      # nothing changed: the same spec
    draft.replace("populations", 0, params={"tau_m": 12.0}, initial={"v": -60.0},
                  record={"v": RecordSpec.of_indices(np.array([3, 1]), 2)})
    draft.replace("projections", 0, updates=(SynapseUpdate("weight", 0.1, 0),))
    second = draft.freeze()
    assert second.version == first.version + 1
    changes = changes_between(first, second)
    assert changes.params == {0} and changes.initial == {0: {"v"}} and changes.record
    assert changes.updated == [(0, "weight")]
    np.testing.assert_array_equal(second.populations[0].record["v"].indices, [1, 3])
    draft.add("populations", PopulationSpec(2, "late", 5, "IF_curr_exp", 150))
    grown = changes_between(second, draft.freeze())
    assert grown.grown and not changes_between(first, second).grown
    with pytest.raises(SimulationStateError, match="cannot be removed"):
        changes_between(draft.freeze(), second)
    resized = draft_with()
    resized.replace("populations", 1, max_atoms_per_core=7)
    with pytest.raises(SimulationStateError, match="'b': max_atoms_per_core cannot change"):
        changes_between(first, resized.freeze())


def test_random_values_do_not_depend_on_the_slicing():
    value = RandomValue("normal", (("mu", 0.0), ("sigma", 1.0)), key=99)
    n = 3 * NEURON_BLOCK + 17
    whole = evaluate(value, 0, n)
    parts = np.concatenate([evaluate(value, a, b) for a, b in
                            ((0, 5), (5, 1500), (1500, 2049), (2049, n))])
    np.testing.assert_array_equal(whole, parts)
    picked = np.array([n - 1, 3, 2048, 7])
    np.testing.assert_array_equal(take(value, picked), whole[picked])
    other = RandomValue("normal", (("mu", 0.0), ("sigma", 1.0)), key=100)
    assert not np.array_equal(evaluate(other, 0, 10), whole[:10])
    with pytest.raises(ValueError, match="not supported"):
        RandomValue("cauchy", (), key=1)
    with pytest.raises(ValueError):
        RandomValue("uniform", (("lo", 0.0),), key=1)


def test_spike_times_select_and_homogeneous():
    st = SpikeTimes.from_lists([[1.0, 2.0], [], [0.5, 4.0, 9.0]])
    times, ptr = st.select(1, 3)
    np.testing.assert_array_equal(times, [0.5, 4.0, 9.0])
    np.testing.assert_array_equal(ptr, [0, 0, 3])
    same = SpikeTimes(np.array([1.0, 3.0]))
    times, ptr = same.select(0, 2)
    np.testing.assert_array_equal(times, [1.0, 3.0, 1.0, 3.0])
    np.testing.assert_array_equal(ptr, [0, 2, 4])
