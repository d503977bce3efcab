"""ArmClient against scripted answers: paging, throttling headers, Retry-After, LROs, unknown statuses."""

from __future__ import annotations

import httpx
import pytest

from reconcile.client.arm import ArmClient
from reconcile.client.auth import NoAuth
from reconcile.errors import RemoteError

BASE = "https://arm.test"


def _client(handler, sleeps: list[float]) -> ArmClient:
    return ArmClient(endpoint=BASE, api_version="2024-04-01", auth=NoAuth(), transport=httpx.MockTransport(handler),
                     sleep=sleeps.append)


def test_paging_follows_nextlink_and_refuses_other_hosts() -> None:
    def handler(req: httpx.Request) -> httpx.Response:
        assert req.url.params["api-version"] == "2024-04-01"
        if "$skipToken" in req.url.params:
            return httpx.Response(200, json={"value": [{"n": 2}]})
        return httpx.Response(200, json={"value": [{"n": 1}], "nextLink": f"{BASE}/x?$skipToken=a&api-version=2024-04-01"})

    assert [i["n"] for i in _client(handler, []).list("/x")] == [1, 2]

    def evil(req: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"value": [], "nextLink": "https://evil.test/x"})

    with pytest.raises(RemoteError, match="another host"):
        list(_client(evil, []).list("/x"))


def test_429_waits_retry_after_and_then_succeeds() -> None:
    answers = iter([httpx.Response(429, headers={"Retry-After": "7"}, json={"error": {"code": "TooManyRequests"}}),
                    httpx.Response(200, json={"ok": True})])
    sleeps: list[float] = []
    client = _client(lambda req: next(answers), sleeps)
    assert client.get("/x") == {"ok": True}
    assert 7.0 in sleeps and client.stats.responses_429 == 1


def test_remaining_header_holds_back_the_next_call() -> None:
    sleeps: list[float] = []
    client = _client(lambda req: httpx.Response(200, json={}, headers={"x-ms-ratelimit-remaining-subscription-writes": "0"}),
                     sleeps)
    client.put("/a", {})
    assert sleeps == []
    client.put("/b", {})
    assert sleeps and sleeps[0] == pytest.approx(0.1, abs=0.02)  # one token at 10/s


def test_a_report_counts_the_calls_sent_after_the_one_it_answers() -> None:
    from reconcile.client.arm import ArmBudget

    now = [0.0]
    budget = ArmBudget(200.0, 10.0, monotonic=lambda: now[0], sleep=lambda s: now.__setitem__(0, now[0] + s))
    _, first = budget.acquire_ticket()
    for _ in range(3):  # sent by other threads while the first call was in flight
        budget.acquire()
    # the service counted the first call only: 2 left then, so 3 later calls leave -1 now
    budget.report(2, first)
    assert budget.acquire() == pytest.approx(0.2)  # two tokens at 10/s, not sent at once into a 429


def test_async_operation_treats_unknown_status_as_running_then_gets_the_resource() -> None:
    polls = iter(["InProgress", "Provisioning-something-new", "Succeeded"])

    def handler(req: httpx.Request) -> httpx.Response:
        if req.method == "PUT":
            return httpx.Response(201, json={"name": "ep"}, headers={
                "Azure-AsyncOperation": f"{BASE}/op/1?api-version=2024-04-01", "Retry-After": "1"})
        if req.url.path == "/op/1":
            return httpx.Response(200, json={"status": next(polls)}, headers={"Retry-After": "1"})
        return httpx.Response(200, json={"name": "ep", "properties": {"provisioningState": "Succeeded"}})

    sleeps: list[float] = []
    client = _client(handler, sleeps)
    first = client.begin("PUT", "/ep", {})
    assert client.wait_lro(first, path="/ep")["properties"]["provisioningState"] == "Succeeded"
    assert client.stats.lro_polls == 3 and sleeps == [1.0, 1.0, 1.0]


def test_failed_operation_names_the_path() -> None:
    def handler(req: httpx.Request) -> httpx.Response:
        if req.method == "DELETE":
            return httpx.Response(202, headers={"Azure-AsyncOperation": f"{BASE}/op/2", "Retry-After": "0"})
        return httpx.Response(200, json={"status": "Failed", "error": {"code": "Boom", "message": "no"}})

    client = _client(handler, [])
    with pytest.raises(RemoteError, match="/ep: the operation ended Failed: Boom"):
        client.wait_lro(client.begin("DELETE", "/ep"), path="/ep")


def test_location_polls_until_not_202() -> None:
    answers = iter([httpx.Response(202, headers={"Location": f"{BASE}/res/1", "Retry-After": "0"}),
                    httpx.Response(204)])

    def handler(req: httpx.Request) -> httpx.Response:
        if req.method == "POST":
            return httpx.Response(202, headers={"Location": f"{BASE}/res/1", "Retry-After": "0"})
        return next(answers)

    client = _client(handler, [])
    assert client.wait_lro(client.begin("POST", "/jobs/j/cancel"), path="/jobs/j/cancel") is None
    assert client.stats.lro_polls == 2


def test_the_bearer_token_is_never_printed(caplog: pytest.LogCaptureFixture) -> None:
    import logging

    from reconcile.client.auth import BearerAuth

    secret = "eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.secret-part.signature"

    class Cred:
        def get_token(self, scope: str):
            return (secret, 4e9)

    def handler(req: httpx.Request) -> httpx.Response:
        assert req.headers["Authorization"] == f"Bearer {secret}"
        return httpx.Response(400, json={"error": {"code": "UserError", "message": f"bad token {secret}"}})

    client = ArmClient(endpoint=BASE, api_version="2024-04-01", auth=BearerAuth(Cred(), "https://management.azure.com/.default"),
                       transport=httpx.MockTransport(handler), sleep=lambda s: None)
    caplog.set_level(logging.DEBUG)
    with pytest.raises(RemoteError) as err:
        client.put("/x", {})
    assert secret not in str(err.value) and secret not in repr(client) and secret not in caplog.text
