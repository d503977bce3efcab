"""Model state is plain JSON values: arrays round-trip exactly; anything else is refused."""

from __future__ import annotations

import json

import numpy as np
import pytest

from reconcile.learn import state


def test_arrays_and_plain_values_round_trip_through_json():
    value = {"w": np.arange(6, dtype=np.float32).reshape(2, 3), "n": 3, "names": ["a", "b"], "t": 0.5,
             "flags": np.array([True, False]), "nested": [{"i": np.int64(4)}]}
    back = state.unpack(json.loads(json.dumps(state.pack(value))))
    assert back["w"].dtype == np.float32 and np.array_equal(back["w"], value["w"])
    assert back["flags"].tolist() == [True, False]
    assert back["nested"] == [{"i": 4}] and back["names"] == ["a", "b"] and back["n"] == 3


def test_objects_are_refused():
    with pytest.raises(TypeError):
        state.pack({"model": object()})
    with pytest.raises(TypeError):
        state.pack(np.array(["text"], dtype=object))


def test_a_damaged_state_is_refused():
    packed = state.pack(np.zeros(4, np.float32))
    with pytest.raises(state.BadState):
        state.unpack({**packed, "data": "not base64!"})
    with pytest.raises(state.BadState):
        state.unpack({**packed, "__ndarray__": "object"})
