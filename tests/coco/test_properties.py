"""Property tests: whatever the bytes, the validator answers with a report, never an exception.

Mutations of valid files must also agree between the fast path and the exact
pass, and every example must name a real JSON path of the file.
"""

from __future__ import annotations

import json
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reconcile.coco import exact
from reconcile.coco.validate import ValidationOptions, validate_bytes, validate_exact
from tests.coco.helpers import IC, OD, PREFIX, base_doc, encode, resolve

SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])

json_leaf = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=12),
    st.sampled_from([PREFIX + "x.jpg", "http://h/p.jpg", "file:///p.jpg", PREFIX + "y.jpg?sig=S", PREFIX, ""]),
)
json_value = st.recursive(
    json_leaf,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=6), inner, max_size=4)),
    max_leaves=10,
)
kinds = st.sampled_from([OD, IC])
options_st = st.builds(
    ValidationOptions,
    kind=kinds,
    purpose=st.sampled_from(["train", "eval"]),
    api_version=st.sampled_from(["2023-02-01-preview", "2023-04-01-preview", "2023-07-01-preview"]),
    storage_prefix=st.sampled_from([None, PREFIX]),
    allowed_schemes=st.sampled_from([frozenset({"https"}), frozenset({"https", "http", "file"})]),
    max_examples=st.integers(min_value=0, max_value=4),
    require_urls=st.booleans(),
    inline=st.booleans(),
)

FIELDS = {
    "images": ["id", "width", "height", "file_name", "absolute_url", "coco_url"],
    "annotations": ["id", "image_id", "category_id", "bbox", "area"],
    "categories": ["id", "name"],
}


@st.composite
def mutated_docs(draw: st.DrawFn) -> tuple[dict[str, Any], str]:
    kind = draw(kinds)
    doc = base_doc(kind)
    for _ in range(draw(st.integers(min_value=1, max_value=4))):
        section = draw(st.sampled_from(sorted(FIELDS)))
        records = doc[section]
        if not records:
            continue
        i = draw(st.integers(min_value=0, max_value=len(records) - 1))
        action = draw(st.sampled_from(["set", "set", "set", "delete", "duplicate", "replace", "bbox_item"]))
        if action == "duplicate":
            records.append(json.loads(json.dumps(records[i])))
        elif action == "replace":
            records[i] = draw(json_value)
        elif not isinstance(records[i], dict):
            continue
        elif action == "delete":
            records[i].pop(draw(st.sampled_from(FIELDS[section])), None)
        elif action == "bbox_item" and isinstance(records[i].get("bbox"), list) and records[i]["bbox"]:
            k = draw(st.integers(min_value=0, max_value=len(records[i]["bbox"]) - 1))
            records[i]["bbox"][k] = draw(st.one_of(st.floats(-2, 2), st.integers(-2, 2), json_leaf))
        else:
            records[i][draw(st.sampled_from(FIELDS[section]))] = draw(json_value)
    return doc, kind


def _check_paths(doc: Any, report: Any) -> None:
    for problem in report.problems:
        assert problem.count >= len(problem.examples)
        for ex in problem.examples:
            assert ex.path and ex.detail
            resolve(doc, ex.path)


@SETTINGS
@given(data=st.binary(max_size=300), options=options_st)
def test_arbitrary_bytes_never_raise(data: bytes, options: ValidationOptions) -> None:
    report = validate_bytes(data, options)
    assert report.valid == (not report.errors)
    json.dumps(report.to_dict())


@SETTINGS
@given(value=json_value, options=options_st)
def test_arbitrary_json_never_raises(value: Any, options: ValidationOptions) -> None:
    data = json.dumps(value).encode()
    report = validate_bytes(data, options)
    _check_paths(value, report)
    assert report == validate_exact(data, options)


@SETTINGS
@given(mutated=mutated_docs(), options=options_st, chunk=st.sampled_from([1, 3, exact.CHUNK]))
def test_mutated_files_fast_and_exact_agree(mutated: tuple[dict[str, Any], str], options: ValidationOptions, chunk: int) -> None:
    doc, kind = mutated
    options = ValidationOptions(
        kind=kind,
        purpose=options.purpose,
        storage_prefix=options.storage_prefix,
        allowed_schemes=options.allowed_schemes,
        max_examples=options.max_examples or 1,
        require_urls=options.require_urls,
    )
    data = encode(doc)
    report = validate_bytes(data, options)
    _check_paths(doc, report)
    previous = exact.CHUNK
    exact.CHUNK = chunk  # record-by-record and chunked checking must give the same report
    try:
        assert validate_exact(data, options) == report
    finally:
        exact.CHUNK = previous
    if report.errors:
        assert not report.valid


@SETTINGS
@given(cut=st.integers(min_value=0, max_value=10_000), kind=kinds)
def test_truncated_files_are_json_errors(cut: int, kind: str) -> None:
    data = encode(base_doc(kind))
    cut = cut % len(data)
    report = validate_bytes(data[:cut], ValidationOptions(kind=kind))
    assert not report.valid and "E_JSON" in report.codes()


@SETTINGS
@given(
    url=st.one_of(
        st.text(alphabet=st.characters(min_codepoint=0x21, max_codepoint=0x7E), max_size=40),
        st.from_regex(r"\A[a-zA-Z][a-zA-Z0-9+.-]{0,5}:(//[^/?#\s]{0,12})?[/a-z?#\[\]:.]{0,16}\Z"),
    )
)
def test_url_split_matches_urllib(url: str) -> None:
    from urllib.parse import urlsplit

    from reconcile.coco.urls import _split

    try:
        parts = urlsplit(url)
    except ValueError:
        assert _split(url) is None
    else:
        assert _split(url) == (parts.scheme.lower(), parts.netloc, parts.path)


@SETTINGS
@given(
    urls=st.lists(
        st.tuples(
            st.sampled_from(["https://a.blob.core.windows.net/", "HTTP://h/", "file:///", "ftp://x/", "https:///", "s3://b/"]),
            st.text(alphabet=st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=12),
        ).map("".join),
        max_size=8,
    ),
    prefix=st.sampled_from([None, "https://a.blob.core.windows.net/c/"]),
)
def test_url_checker_matches_url_checks(urls: list[str], prefix: str | None) -> None:
    from reconcile.coco.urls import UrlChecker, url_checks

    options = ValidationOptions(kind=OD, storage_prefix=prefix, allowed_schemes=frozenset({"https", "file"}))
    checker = UrlChecker(options)
    for url in urls + urls:  # the second round hits the root cache
        assert checker.checks(url) == url_checks(url, options)


@SETTINGS
@given(
    root=st.sampled_from(["http://a.blob.core.windows.net/", "ftp://x/", "https:///", "https://ok/", "HTTP://h/"]),
    tails=st.lists(st.text(alphabet=st.characters(min_codepoint=0x00, max_codepoint=0x7E), max_size=8), max_size=6),
)
def test_shared_verdict_agrees_with_one_by_one(root: str, tails: list[str]) -> None:
    from reconcile.coco.urls import UrlChecker, url_checks

    options = ValidationOptions(kind=OD)
    urls = [root + t for t in tails]
    verdict = UrlChecker(options).shared_verdict(urls)
    if verdict is not None:
        assert all(url_checks(u, options) == [verdict] for u in urls)
