"""Keys, tokens and SAS strings never appear in messages, logs or reprs."""

from __future__ import annotations

import logging

import httpx
import pytest

from reconcile.client import BearerAuth, KeyAuth, RedactingFilter, redact, register_secret
from reconcile.errors import ReconcileError
from tests.client.fakes import TEST_KEY, Script, error, make_client

SAS = "sv=2022-11-02&ss=b&srt=co&sp=rl&se=2030-01-01T00:00:00Z&st=2024-01-01T00:00:00Z&spr=https&sig=AbC%2Bdef123%3D"
JWT = "eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.eyJhdWQiOiJodHRwczovL2NvZ25pdGl2ZSJ9.c2lnbmF0dXJlcGFydA"
ACCOUNT_KEY = "A" * 86 + "=="


@pytest.mark.parametrize(
    ("text", "secret"),
    [
        ("Ocp-Apim-Subscription-Key: 0123456789abcdef0123456789abcdef", "0123456789abcdef0123456789abcdef"),
        ('{"Ocp-Apim-Subscription-Key": "0123456789abcdef"}', "0123456789abcdef"),
        ("https://x/analyze?subscription-key=0123456789abcdef&a=1", "0123456789abcdef"),
        (f"Authorization: Bearer {JWT}", JWT),
        (f"token {JWT} leaked", "c2lnbmF0dXJlcGFydA"),
        (f"https://acct.blob.core.windows.net/c/train.json?{SAS}", "AbC%2Bdef123%3D"),
        (f"https://acct.blob.core.windows.net/c/train.json?{SAS}", "sp=rl&se=2030"),
        (f'"sasToken": "{SAS}"', "AbC%2Bdef123"),
        (f'"sasToken": "?{SAS}"', "AbC%2Bdef123"),
        ("https://a/b?se=2030&sig=zzzSECRETzzz&sp=r", "zzzSECRETzzz"),
        ("sig=zzzSECRETzzz", "zzzSECRETzzz"),
        (
            f"DefaultEndpointsProtocol=https;AccountName=acct;AccountKey={ACCOUNT_KEY};EndpointSuffix=core.windows.net",
            ACCOUNT_KEY,
        ),
        ("BlobEndpoint=https://a/;SharedAccessSignature=sv=2022&sig=qqq", "sig=qqq"),
        (f"key is {ACCOUNT_KEY}", ACCOUNT_KEY),
    ],
)
def test_patterns_mask_secrets(text: str, secret: str) -> None:
    out = redact(text)
    assert secret not in out
    assert "***" in out


def test_ordinary_text_is_untouched() -> None:
    text = "PUT datasets/shapes-train failed: HTTP 409 DatasetAlreadyExists (https://acct.blob.core.windows.net/c/f.json)"
    assert redact(text) == text


def test_registered_secret_is_masked_anywhere() -> None:
    register_secret("plain-emulator-key-xyz")
    assert redact("the key plain-emulator-key-xyz and again plain-emulator-key-xyz") == "the key *** and again ***"
    register_secret("ab")  # too short to mask usefully: ignored
    assert redact("abc") == "abc"


def test_key_never_in_error_messages_logs_or_repr(caplog: pytest.LogCaptureFixture) -> None:
    # A service that echoes the key and a SAS URI back in its error message.
    echo = error(400, "DatasetInvalidAnnotationUri", f"bad uri https://a/b.json?{SAS} with key {TEST_KEY}")
    script = Script([error(503, message=f"upstream saw Ocp-Apim-Subscription-Key: {TEST_KEY}"), echo])
    caplog.set_level(logging.DEBUG, logger="reconcile.client")
    client = make_client(script)
    with client, pytest.raises(ReconcileError) as info:
        client.put("datasets/d1", {"annotationFileUris": [f"https://a/b.json?{SAS}"]})
    outputs = [str(info.value), repr(info.value), repr(client), caplog.text]
    outputs += [r.getMessage() for r in caplog.records]
    for out in outputs:
        assert TEST_KEY not in out
        assert "AbC%2Bdef123" not in out
    # The request lines were logged (method, path, status, attempt) at debug.
    assert any("PUT datasets/d1 -> 503" in r.getMessage() and "attempt 1" in r.getMessage() for r in caplog.records)
    assert any("retrying PUT datasets/d1" in r.getMessage() for r in caplog.records)


def test_bearer_token_never_in_logs_or_errors(caplog: pytest.LogCaptureFixture) -> None:
    class Cred:
        def get_token(self, scope: str):
            return ("opaque-token-value-987654321", 9e12)

    auth = BearerAuth(Cred())
    script = Script([error(403, "403", "denied for opaque-token-value-987654321")])
    caplog.set_level(logging.DEBUG, logger="reconcile.client")
    with make_client(script, auth=auth) as client, pytest.raises(ReconcileError) as info:
        client.get("datasets/d1")
    assert "opaque-token-value-987654321" not in str(info.value)
    assert "opaque-token-value-987654321" not in caplog.text
    assert "opaque-token-value-987654321" not in repr(auth)


def test_filter_redacts_records_of_any_logger() -> None:
    KeyAuth("handler-level-secret-42")
    record = logging.LogRecord("other", logging.INFO, __file__, 1, "sent %s with %s", ("handler-level-secret-42", JWT), None)
    assert RedactingFilter().filter(record) is True
    assert record.getMessage() == "sent *** with ***"


def test_filter_redacts_exception_text() -> None:
    try:
        raise RuntimeError(f"boom sig=verysecretsig")
    except RuntimeError:
        import sys

        record = logging.LogRecord("x", logging.ERROR, __file__, 1, "failed", None, sys.exc_info())
    RedactingFilter().filter(record)
    assert "verysecretsig" not in (record.exc_text or "")
    assert "boom" in (record.exc_text or "")


def test_query_strings_are_not_in_error_paths() -> None:
    script = Script([error(404, "NotFound", "no model")])
    with make_client(script) as client, pytest.raises(ReconcileError) as info:
        client.post("imageanalysis:analyze", params={"model-name": "m1", "subscription-key": "q" * 20}, json={})
    assert info.value.path == "imageanalysis:analyze"
    assert "q" * 20 not in str(info.value)
    assert httpx.URL(str(script.requests[0].url)).params["model-name"] == "m1"


def test_install_everywhere_masks_records_of_any_logger_and_their_tracebacks(caplog: pytest.LogCaptureFixture) -> None:
    from reconcile.client.redact import install_everywhere

    install_everywhere()
    install_everywhere()  # idempotent: one wrapper
    with caplog.at_level(logging.WARNING):
        logging.getLogger("somewhere.else").warning("sent %s", f"Authorization: Bearer {JWT}")
        try:
            raise ValueError(f"https://acct.blob.core.windows.net/c/x.json?{SAS}")
        except ValueError:
            logging.getLogger("reconcile.lock").exception("failed")
    text = caplog.text
    assert JWT not in text and "AbC%2Bdef123" not in text
    assert "Bearer ***" in text and "ValueError" in text


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("0123456789abcdef0123456789abcdef", "an Azure AI services key"),
        ("Bearer eyJ", "a bearer token"),
        (f"https://a/b?{SAS}", "a SAS token"),
        (f"AccountKey={ACCOUNT_KEY}", "a connection string with a key"),
        ("prod", None),
        ("data/shapes/images", None),
    ],
)
def test_secret_kind_names_what_a_config_value_looks_like(text: str, kind: str | None) -> None:
    from reconcile.client.redact import secret_kind

    assert secret_kind(text) == kind


def test_redact_input_masks_bare_keys_but_redact_keeps_fingerprints() -> None:
    from reconcile.client.redact import redact_input

    fingerprint = "8a428fa91655bf1bd6f1ab907dff0ee4"  # plans carry 32-hex fingerprints: never masked there
    assert redact(f"specsFingerprint {fingerprint}") == f"specsFingerprint {fingerprint}"
    assert redact_input(f"unknown field '{fingerprint}'") == "unknown field '***'"
    assert redact_input("no environment 'Bearer eyJ…'") == "no environment 'Bearer ***'"
