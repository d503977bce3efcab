"""``reconcile coco validate``: exit codes 0/1/2, JSON output, never a traceback."""

from __future__ import annotations

import io
import json
import sys
from pathlib import Path

import pytest

from reconcile.cli import main
from tests.coco.helpers import IC, OD, base_doc, encode


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as info:
        main(argv)
        sys.exit(0)  # main returns normally on success
    out = capsys.readouterr()
    return int(info.value.code or 0), out.out, out.err


@pytest.fixture
def good(tmp_path: Path) -> Path:
    p = tmp_path / "good.coco.json"
    p.write_bytes(encode(base_doc(OD)))
    return p


def test_valid_file_exits_0(good: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(["coco", "validate", str(good), "--kind", OD], capsys)
    assert code == 0 and "valid" in out and "4 images" in out and err == ""


def test_warnings_still_exit_0(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    doc = base_doc(OD)
    doc["categories"][1]["name"] = "cat"
    p = tmp_path / "warn.json"
    p.write_bytes(encode(doc))
    code, out, _ = run(["coco", "validate", str(p), "--kind", OD], capsys)
    assert code == 0 and "W_CAT_NAME_DUP" in out and "categories[1].name" in out


def test_invalid_file_exits_1_with_every_problem(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    doc = base_doc(OD)
    doc["annotations"][0]["bbox"] = [10, 10, 50, 50]
    doc["images"][2]["id"] = 1
    p = tmp_path / "bad.json"
    p.write_bytes(encode(doc))
    code, out, err = run(["coco", "validate", str(p), "--kind", OD], capsys)
    assert code == 1
    assert "E_BBOX_RANGE" in out and "annotations[0].bbox[0]" in out and "E_IMG_ID_DUP" in out
    assert "invalid COCO file" in err and "Traceback" not in err


def test_json_output(good: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(["coco", "validate", str(good), "--kind", OD, "--json"], capsys)
    report = json.loads(out)
    assert code == 0 and report["valid"] is True and report["summary"]["images"] == 4


def test_options_reach_the_validator(good: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(
        ["coco", "validate", str(good), "--kind", OD, "--storage-prefix", "https://other/", "--json"], capsys
    )
    assert code == 1 and json.loads(out)["problems"][0]["code"] == "E_IMG_URL_PREFIX"
    code, out, _ = run(["coco", "validate", str(good), "--kind", IC, "--purpose", "eval", "--json"], capsys)
    codes = {p["code"] for p in json.loads(out)["problems"]}
    assert code == 1 and "E_BBOX_FORBIDDEN" in codes and "E_IMG_DIM_RANGE" not in codes


def test_no_urls_yet(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    doc = base_doc(IC)
    for im in doc["images"]:
        del im["absolute_url"]
    p = tmp_path / "local.json"
    p.write_bytes(encode(doc))
    assert run(["coco", "validate", str(p), "--kind", IC], capsys)[0] == 1
    assert run(["coco", "validate", str(p), "--kind", IC, "--no-urls-yet"], capsys)[0] == 0


@pytest.mark.parametrize(
    "argv",
    [
        ["coco", "validate", "x.json"],
        ["coco", "validate", "x.json", "--kind", "imageSegmentation"],
        ["coco", "validate", "x.json", "--kind", OD, "--purpose", "test"],
        ["coco", "validate", "x.json", "--kind", OD, "--api-version", "2022-01-01"],
        ["coco", "validate", "--kind", OD],
    ],
)
def test_usage_errors_exit_2(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(argv, capsys)
    assert code == 2 and "Traceback" not in err


@pytest.mark.parametrize(
    "content",
    [b"", b"   \n", b"{", b"\xff\xfe\x00", b"[NaN]", b'{"images": 1e999}', b"null", b"[" * 100_000, b'"\\ud800"'],
)
def test_garbage_never_gives_a_traceback(content: bytes, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    p = tmp_path / "garbage.json"
    p.write_bytes(content)
    code, out, err = run(["coco", "validate", str(p), "--kind", IC], capsys)
    assert code == 1 and "INVALID" in out and "Traceback" not in err and "internal error" not in err


def test_missing_file_and_stdin(tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    code, out, _ = run(["coco", "validate", str(tmp_path / "none.json"), "--kind", IC], capsys)
    assert code == 1 and "E_FILE_READ" in out
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(encode(base_doc(IC)))))
    code, out, _ = run(["coco", "validate", "-", "--kind", IC], capsys)
    assert code == 0 and "<stdin>" in out
