"""reconcile.remote_failures: the Vision endpoint, the blob SDK and plain label downloads classify a
remote failure by one table, so the same answer is the same error whichever way it came."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest
from azure.core import exceptions as az

from reconcile.client.errors import from_response
from reconcile.errors import (
    AuthError,
    ConflictError,
    NotFoundError,
    PreconditionFailedError,
    RateLimitedError,
    RemoteError,
    ServiceUnavailableError,
)
from reconcile.remote_failures import blob_call, error_for_blob_sdk
from reconcile.storage.fetch import fetch_label

#: The table of the module docstring, written out independently of the code.
EXPECTED = {
    400: RemoteError,
    401: AuthError,
    403: AuthError,
    404: NotFoundError,
    409: ConflictError,
    412: PreconditionFailedError,
    418: RemoteError,
    429: RateLimitedError,
    500: ServiceUnavailableError,
    503: ServiceUnavailableError,
}


@pytest.fixture(scope="module")
def answering() -> Iterator[str]:
    """A server on 127.0.0.1 whose answer to ``GET /<status>`` is that status."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - http.server's name
            self.send_response(int(self.path.strip("/")))
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"no")

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def _sdk_error(status: int) -> az.HttpResponseError:
    exc = az.HttpResponseError(message=f"the service answered {status}")
    exc.status_code = status
    return exc


@pytest.mark.parametrize("status", sorted(EXPECTED))
def test_one_status_one_class_for_every_kind_of_remote_call(status: int, answering: str) -> None:
    expected = EXPECTED[status]
    vision = from_response(httpx.Response(status, json={"error": {"code": "X", "message": "m"}}),
                           method="GET", path="datasets/a")
    blob = error_for_blob_sdk(_sdk_error(status), "read labels/x.coco.json")
    with pytest.raises(Exception) as fetched:
        fetch_label(f"{answering}/{status}")
    for err in (vision, blob, fetched.value):
        assert type(err) is expected, (status, err)
    if issubclass(expected, RemoteError):
        assert vision.status == blob.status == fetched.value.status == status  # type: ignore[attr-defined]


@pytest.mark.parametrize(("exc", "expected"), [
    (az.ResourceNotFoundError("gone"), NotFoundError),
    (az.ResourceExistsError("exists"), ConflictError),
    (az.ResourceModifiedError("moved"), PreconditionFailedError),
    (az.ClientAuthenticationError("no token"), AuthError),
    (az.ServiceRequestError("connection refused"), ServiceUnavailableError),
    (az.ServiceResponseError("connection reset"), ServiceUnavailableError),
    (OSError("socket closed"), ServiceUnavailableError),
    (az.AzureError("something else"), RemoteError),
])
def test_sdk_errors_without_a_status_map_to_the_row_they_stand_for(exc: Exception, expected: type) -> None:
    err = error_for_blob_sdk(exc, "write the inventory")
    assert type(err) is expected
    assert err.message.startswith("write the inventory: ")


def test_blob_calls_never_leak_a_sas_or_an_account_key() -> None:
    key = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="

    def failing() -> None:
        exc = az.HttpResponseError(message=f"denied https://a.blob.core.windows.net/c/x?sv=1&sig=abc AccountKey={key}")
        exc.status_code = 403
        raise exc

    with pytest.raises(AuthError) as caught:
        blob_call("read labels/x", failing)
    assert "sig=abc" not in str(caught.value) and key not in str(caught.value)
    assert caught.value.hint and "Storage Blob Data Contributor" in caught.value.hint


def test_a_download_that_gets_no_answer_is_retryable() -> None:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(ServiceUnavailableError):
        fetch_label(f"http://127.0.0.1:{port}/labels/x.coco.json", timeout=5)
