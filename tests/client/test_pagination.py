"""list(): follows nextLink verbatim across pages, counts pages, refuses foreign or looping links."""

from __future__ import annotations

import httpx
import pytest

from reconcile.errors import RemoteError
from tests.client.fakes import Script, error, make_client

BASE = "https://example.cognitiveservices.azure.com/computervision"


def paged_service(total: int, link_style: str = "skip"):
    """A fake list endpoint; its nextLink has an opaque token so only verbatim following works."""
    items = [{"name": f"d{i:03d}"} for i in range(total)]

    def handler(request: httpx.Request) -> httpx.Response:
        top = int(request.url.params.get("top", 10))
        start = int(request.url.params.get("$skipToken", "tok0")[3:])
        page = items[start : start + top]
        body: dict = {"value": page}
        if start + top < total:
            body["nextLink"] = f"{BASE}/datasets?api-version=2023-04-01-preview&top={top}&$skipToken=tok{start + top}"
        return httpx.Response(200, json=body)

    return handler


def test_follows_next_link_across_pages() -> None:
    script = Script([paged_service(95)])
    with make_client(script) as client:
        names = [d["name"] for d in client.list("datasets")]
        stats = client.stats
    assert names == [f"d{i:03d}" for i in range(95)]
    assert stats.pages == 4  # 30 + 30 + 30 + 5
    assert script.requests[0].url.params["top"] == "30"
    # Later pages are the nextLink exactly as given.
    assert str(script.requests[1].url) == f"{BASE}/datasets?api-version=2023-04-01-preview&top=30&$skipToken=tok30"


def test_page_size_is_sent_as_top() -> None:
    script = Script([paged_service(7)])
    with make_client(script) as client:
        assert len(list(client.list("datasets", page_size=3))) == 7
        assert client.stats.pages == 3


@pytest.mark.parametrize("size", [0, 31])
def test_page_size_outside_service_limits_is_refused(size: int) -> None:
    with make_client(Script([paged_service(1)])) as client, pytest.raises(ValueError):
        list(client.list("datasets", page_size=size))


def test_empty_list() -> None:
    with make_client(Script([httpx.Response(200, json={"value": []})])) as client:
        assert list(client.list("models")) == []
        assert client.stats.pages == 1


def test_page_retry_is_transparent() -> None:
    pages = paged_service(40)
    calls = {"n": 0}

    def flaky(request: httpx.Request) -> httpx.Response:
        calls["n"] += 1
        if calls["n"] == 2:
            return error(503)
        return pages(request)

    with make_client(Script([flaky])) as client:
        assert len(list(client.list("datasets"))) == 40
        assert client.stats.retries == 1 and client.stats.pages == 2


def test_next_link_without_api_version_gets_it_added() -> None:
    script = Script(
        [
            httpx.Response(200, json={"value": [{"n": 1}], "nextLink": f"{BASE}/datasets?skip=1"}),
            httpx.Response(200, json={"value": [{"n": 2}]}),
        ]
    )
    with make_client(script) as client:
        assert [x["n"] for x in client.list("datasets")] == [1, 2]
    assert script.requests[1].url.params["skip"] == "1"
    assert script.requests[1].url.params["api-version"] == "2023-04-01-preview"


def test_next_link_to_another_host_is_refused() -> None:
    script = Script([httpx.Response(200, json={"value": [], "nextLink": "https://evil.example/steal?skip=30"})])
    with make_client(script) as client, pytest.raises(RemoteError) as info:
        list(client.list("datasets"))
    assert "another host" in str(info.value)
    assert len(script.requests) == 1


def test_looping_next_link_is_refused() -> None:
    link = f"{BASE}/datasets?api-version=2023-04-01-preview&skip=30"
    script = Script([httpx.Response(200, json={"value": [{"n": 1}], "nextLink": link})])
    with make_client(script) as client, pytest.raises(RemoteError) as info:
        list(client.list("datasets"))
    assert "repeats" in str(info.value)


def test_malformed_page_is_remote_error() -> None:
    with make_client(Script([httpx.Response(200, json={"items": []})])) as client, pytest.raises(RemoteError):
        list(client.list("datasets"))
    with make_client(Script([httpx.Response(200, json={"value": [1]})])) as client, pytest.raises(RemoteError):
        list(client.list("datasets"))
