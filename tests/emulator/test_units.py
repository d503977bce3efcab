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


@pytest.mark.parametrize(("text", "offset", "says"), [
    ("{'a': }", 6, "unexpected character"),          # the '}' where a value belongs
    ("{'a' 1}", 5, "expected ':'"),
    ("{'a': 1} x", 9, "after the JSON value"),
    ("'open", 5, "unterminated string"),              # the end of the input
    ("{a: 1}", 1, "property name in quotes"),
    ("[1 2]", 3, "expected ',' or ']'"),
    ("{'a': 1.2.3}", 6, "bad number '1.2.3'"),        # where the number starts
])
def test_lenient_parse_errors_point_at_the_offending_character(text, offset, says):
    with pytest.raises(lenient.LenientJsonError) as info:
        lenient.parse(text)
    assert info.value.offset == offset and says in str(info.value)


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
    with pytest.raises(ValueError):
        SpeedClock(0)


def test_speed_clock_runs_speed_times_real_time_from_its_anchor():
    import time

    clock = SpeedClock(10.0, real_epoch=1_000.0, emulated_epoch=50.0)
    before = time.time()
    now = clock.now()
    after = time.time()
    # now() = emulated_epoch + (real now - real_epoch) * speed, for a real now between the two reads
    assert 50.0 + (before - 1_000.0) * 10 <= now <= 50.0 + (after - 1_000.0) * 10
    clock.anchor(real_epoch=after, emulated_epoch=7.0)
    assert 7.0 <= clock.now() <= 7.0 + (time.time() - after) * 10
    jumped = clock.advance(3600)
    assert jumped >= 3607.0 and clock.emulated_epoch == 3607.0
    with pytest.raises(ValueError):
        clock.advance(-1)
