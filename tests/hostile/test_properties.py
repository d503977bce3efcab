"""Property tests (hypothesis) of the readers every hostile input goes through.

Each reader promises a value or its documented error for *any* input: never another
exception, never a secret in the message.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reconcile.client.redact import redact, redact_input, secret_kind
from reconcile.errors import InputError
from reconcile.limits import Limit
from tests.hostile.harness import ACCOUNT_KEY, BEARER, CONN, KEY, LEAK_MARKERS, SAS_URI, TOKEN

FAST = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
SECRETS = st.sampled_from([SAS_URI, CONN, BEARER, TOKEN, ACCOUNT_KEY, f"Ocp-Apim-Subscription-Key: {KEY}",
                           f"?sv=2022-11-02&sig=Zq7SecretSig0nature"])
PROSE = st.text(st.characters(blacklist_categories=("Cs",)), max_size=40)


@FAST
@given(before=PROSE, secret=SECRETS, after=PROSE)
def test_redact_masks_a_planted_secret_wherever_it_sits(before: str, secret: str, after: str) -> None:
    text = redact(f"{before} {secret} {after}")
    assert not any(m in text for m in LEAK_MARKERS if m != KEY)
    assert secret_kind(f"{before} {secret} {after}") is not None


@FAST
@given(before=PROSE, after=PROSE)
def test_redact_input_masks_bare_keys_and_quoted_bearer_values(before: str, after: str) -> None:
    for secret in (KEY, "'Bearer abc'", f'"{BEARER}"'):
        out = redact_input(f"{before} {secret} {after}")
        assert KEY not in out and "Bearer abc'" not in out and TOKEN not in out


@FAST
@given(st.text(max_size=300))
def test_the_yaml_reader_returns_documents_or_problems_for_any_text(tmp_path_factory: pytest.TempPathFactory,
                                                                    text: str) -> None:
    from reconcile.specs.problems import Problems
    from reconcile.specs.yamlsrc import read_documents

    file = tmp_path_factory.mktemp("y") / "s.yaml"
    file.write_text(text, encoding="utf-8", errors="surrogatepass")
    problems = Problems()
    read_documents(file, "s.yaml", problems)
    assert all(m.startswith("s.yaml") for m in problems.messages())


JSONISH = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=10),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=5), inner, max_size=4),
    max_leaves=30,
)


@FAST
@given(st.binary(max_size=400) | JSONISH.map(lambda v: __import__("json").dumps(v).encode()))
def test_emulator_body_parsing_returns_a_value_or_its_own_error(data: bytes) -> None:
    from reconcile.emulator import lenient

    try:
        lenient.canonicalize(lenient.parse(data), lenient.DATASET_SHAPE)
    except (lenient.LenientJsonError, UnicodeDecodeError):
        pass


@FAST
@given(st.integers(min_value=1, max_value=3000), st.sampled_from(["[", '{"a":']))
def test_json_depth_is_refused_by_name_however_deep(depth: int, opener: str) -> None:
    from reconcile.safejson import loads

    closer = "]" if opener == "[" else "}"
    text = opener * depth + ("1" if opener != "[" else "") + closer * depth
    try:
        loads(text, limit=Limit("t", 1 << 20, "bytes", ""), shown="doc.json")
        assert depth <= 64
    except InputError as exc:
        assert depth > 64 and "jsonDepth limit of 64 levels" in exc.message


@FAST
@given(st.text(max_size=80))
def test_path_text_is_accepted_only_relative_and_printable(value: str) -> None:
    from reconcile.safepath import text_problem

    problem = text_problem(value)
    if problem is None:
        assert value and not value.startswith("/") and "\x00" not in value and "\\" not in value


@FAST
@given(st.lists(st.sampled_from(["a", "b", "..", ".", "link", "out"]), min_size=1, max_size=5))
def test_resolved_paths_never_leave_the_root(tmp_path_factory: pytest.TempPathFactory, parts: list[str]) -> None:
    from reconcile.safepath import path_problem, resolve

    base = tmp_path_factory.mktemp("p")
    root = base / "repo"
    (root / "a" / "b").mkdir(parents=True)
    (root / "a" / "b" / "f").write_text("x")
    (base / "out").mkdir()
    (root / "a" / "link").symlink_to(base / "out")
    (root / "link").symlink_to(root / "a")
    value = "/".join(parts)
    if path_problem(value, root) is None:
        real = resolve(value, root)
        assert real == root.resolve() or root.resolve() in real.parents
