"""Unit tests of the emulator's pure parts: lenient JSON, metrics, the held-out split, clocks."""

from __future__ import annotations

import pytest

from reconcile.emulator import lenient
from reconcile.learn import metrics
from reconcile.emulator.clock import ManualClock, SpeedClock
from reconcile.emulator.labeled import from_coco
from tests.fixtures.emulator import classification_coco


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ('{"a": 1}', {"a": 1}),
        ("{'a': 'it\\'s', 'b': [1, 2,],}", {"a": "it's", "b": [1, 2]}),
        ("{'u': '\\u00e9\\n', 'n': -1.5e2, 't': true, 'f': false, 'z': null}",
         {"u": "é\n", "n": -150.0, "t": True, "f": False, "z": None}),
        ("  [ ]  ", []),
    ],
)
def test_lenient_parse(text, value):
    assert lenient.parse(text) == value


@pytest.mark.parametrize("text", ["{'a': }", "{'a' 1}", "{'a': 1} x", "'open", "{a: 1}", "[1 2]", "{'a': 1.2.3}"])
def test_lenient_parse_errors_name_an_offset(text):
    with pytest.raises(lenient.LenientJsonError) as info:
        lenient.parse(text)
    assert info.value.offset >= 0


def test_canonicalize_is_case_insensitive_and_keeps_free_maps():
    body = {"TRAININGPARAMETERS": {"modelkind": "x"}, "customProperties": {"KeepMe": "v"}, "Other": 1}
    out = lenient.canonicalize(body, {**lenient.MODEL_SHAPE, "customProperties": "free"})
    assert out == {"trainingParameters": {"modelKind": "x"}, "customProperties": {"KeepMe": "v"}, "Other": 1}


def test_average_precision():
    assert metrics.average_precision([0.9, 0.8, 0.7], [True, False, True], 2) == pytest.approx(1 * 0.5 + 2 / 3 * 0.5)
    assert metrics.average_precision([0.5] * 4, [True, False, False, False], 1) == 0.25  # ties: one threshold
    assert metrics.average_precision([0.5], [True], 0) == 0.0
    assert metrics.average_precision([0.9, 0.1], [False, False], 3) == 0.0


def test_expected_calibration_error():
    assert metrics.expected_calibration_error([0.9, 0.9], [True, True]) == pytest.approx(0.1)
    assert metrics.expected_calibration_error([0.25, 0.95], [False, True]) == pytest.approx(0.5 * 0.25 + 0.5 * 0.05)
    assert metrics.expected_calibration_error([], []) == 0.0


def test_iou():
    assert metrics.iou([0, 0, 1, 1], [0, 0, 1, 1]) == 1.0
    assert metrics.iou([0, 0, 0.5, 0.5], [0.5, 0.5, 0.5, 0.5]) == 0.0
    assert metrics.iou([0, 0, 0.5, 1], [0.25, 0, 0.5, 1]) == pytest.approx(1 / 3)


def test_held_out_split_is_deterministic_and_disjoint():
    data = from_coco(classification_coco({"a": 7, "b": 6}), "imageClassification")
    train, test = data.split()
    again_train, again_test = data.split()
    assert train == again_train and test == again_test
    assert len(test.images) == 3 and len(train.images) == 10
    assert not {i.file_name for i in train.images} & {i.file_name for i in test.images}
    one = from_coco(classification_coco({"a": 1}), "imageClassification")
    assert one.split() == (one, one)


def test_clocks():
    manual = ManualClock(100.0)
    assert manual.advance(5) == 105.0 and manual.now() == 105.0
    with pytest.raises(ValueError):
        manual.advance(-1)
    speed = SpeedClock(10.0, real_epoch=0.0, emulated_epoch=0.0)
    assert speed.now() > 10 * 1_000_000_000  # real unix time x 10
    with pytest.raises(ValueError):
        SpeedClock(0)
