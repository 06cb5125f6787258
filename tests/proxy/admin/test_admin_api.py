"""Admin API: every route refuses a missing or wrong token; routes call the backend with validated input."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from proxy.admin.app import create_admin_app
from proxy.admin.backend import NotFoundError

TOKEN = "admin-token-1"
EMERGENCY = "emergency-token-2"

ROUTES = [
    ("GET", "/health"),
    ("GET", "/sessions"),
    ("GET", "/proposals"),
    ("POST", "/proposals/1/approve"),
    ("POST", "/proposals/1/reject"),
    ("POST", "/pair"),
    ("POST", "/revoke"),
    ("POST", "/emergency/stop"),
    ("POST", "/emergency/resume"),
    ("GET", "/metrics"),
]


class FakeBackend:
    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.healthy = True

    async def health(self) -> dict[str, Any]:
        self.calls.append(("health", {}))
        return {"ok": self.healthy, "store": "ok" if self.healthy else "broken"}

    async def list_sessions(self) -> list[dict[str, Any]]:
        return [{"topic": "t1"}]

    async def list_proposals(self) -> list[dict[str, Any]]:
        return []

    async def approve_proposal(self, proposal_id: int, *, actor: str) -> dict[str, Any]:
        if proposal_id != 1:
            raise NotFoundError(f"no proposal {proposal_id}")
        self.calls.append(("approve", {"id": proposal_id, "actor": actor}))
        return {"approved": proposal_id}

    async def reject_proposal(self, proposal_id: int, *, actor: str, reason: str) -> dict[str, Any]:
        self.calls.append(("reject", {"id": proposal_id, "reason": reason}))
        return {"rejected": proposal_id}

    async def pair(self, uri: str, *, actor: str) -> dict[str, Any]:
        self.calls.append(("pair", {"uri": uri}))
        return {"paired": True}

    async def revoke(self, **kwargs: Any) -> dict[str, Any]:
        self.calls.append(("revoke", kwargs))
        return {"revoked": 1}

    async def emergency_stop(self, *, actor: str, reason: str) -> dict[str, Any]:
        self.calls.append(("stop", {"actor": actor, "reason": reason}))
        return {"frozen": True}

    async def emergency_resume(self, *, actor: str, reason: str) -> dict[str, Any]:
        self.calls.append(("resume", {"actor": actor, "reason": reason}))
        return {"frozen": False}

    def metrics_text(self) -> bytes:
        return b"wcproxy_up 1\n"


@pytest.fixture
def backend() -> FakeBackend:
    return FakeBackend()


@pytest.fixture
async def client(backend: FakeBackend) -> AsyncIterator[TestClient[Any, Any]]:
    app = create_admin_app(backend, token=TOKEN, emergency_token=EMERGENCY)
    async with TestClient(TestServer(app, host="127.0.0.1")) as test_client:
        yield test_client


def _auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.mark.parametrize(("method", "path"), ROUTES)
async def test_every_route_refuses_a_missing_token(
    client: TestClient[Any, Any], backend: FakeBackend, method: str, path: str
) -> None:
    response = await client.request(method, path, json={"reason": "x", "uri": "wc:x", "all": True})
    assert response.status == 401
    assert (await response.json())["error"]["code"] == "unauthorized"
    assert backend.calls == []


@pytest.mark.parametrize(("method", "path"), ROUTES)
@pytest.mark.parametrize("token", ["wrong", TOKEN + "x", "Basic abc"])
async def test_every_route_refuses_a_wrong_token(
    client: TestClient[Any, Any], backend: FakeBackend, method: str, path: str, token: str
) -> None:
    response = await client.request(
        method, path, headers=_auth(token), json={"reason": "x", "uri": "wc:x", "all": True}
    )
    assert response.status == 403
    assert backend.calls == []


@pytest.mark.parametrize("path", ["/emergency/stop", "/emergency/resume"])
async def test_admin_token_cannot_use_the_emergency_routes(
    client: TestClient[Any, Any], backend: FakeBackend, path: str
) -> None:
    response = await client.post(path, headers=_auth(TOKEN), json={"reason": "drill"})
    assert response.status == 403
    assert backend.calls == []


async def test_emergency_token_cannot_use_admin_routes(client: TestClient[Any, Any]) -> None:
    response = await client.get("/sessions", headers=_auth(EMERGENCY))
    assert response.status == 403


async def test_emergency_stop_needs_a_reason_and_records_the_actor(
    client: TestClient[Any, Any], backend: FakeBackend
) -> None:
    headers = {**_auth(EMERGENCY), "X-Wcproxy-Actor": "alice"}
    missing = await client.post("/emergency/stop", headers=headers, json={})
    assert missing.status == 400
    response = await client.post("/emergency/stop", headers=headers, json={"reason": "key leak"})
    assert response.status == 200
    assert backend.calls == [("stop", {"actor": "alice@127.0.0.1", "reason": "key leak"})]


async def test_sessions_and_metrics_with_the_right_token(client: TestClient[Any, Any]) -> None:
    sessions = await client.get("/sessions", headers=_auth(TOKEN))
    assert await sessions.json() == {"sessions": [{"topic": "t1"}]}
    metrics = await client.get("/metrics", headers=_auth(TOKEN))
    assert await metrics.text() == "wcproxy_up 1\n"


async def test_health_is_503_while_the_daemon_is_unhealthy(
    client: TestClient[Any, Any], backend: FakeBackend
) -> None:
    healthy = await client.get("/health", headers=_auth(TOKEN))
    assert healthy.status == 200
    backend.healthy = False
    broken = await client.get("/health", headers=_auth(TOKEN))
    assert broken.status == 503
    assert await broken.json() == {"ok": False, "store": "broken"}


async def test_unknown_proposal_is_404_and_bad_id_is_400(client: TestClient[Any, Any]) -> None:
    assert (await client.post("/proposals/7/approve", headers=_auth(TOKEN))).status == 404
    assert (await client.post("/proposals/abc/approve", headers=_auth(TOKEN))).status == 400


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"session": "a", "all": True},
        {"all": "yes"},
        {"session": 5},
        {"dapp": "x", "session": "y"},
    ],
)
async def test_revoke_needs_exactly_one_target(
    client: TestClient[Any, Any], backend: FakeBackend, body: dict[str, Any]
) -> None:
    response = await client.post("/revoke", headers=_auth(TOKEN), json=body)
    assert response.status == 400
    assert backend.calls == []


async def test_revoke_one_dapp(client: TestClient[Any, Any], backend: FakeBackend) -> None:
    response = await client.post(
        "/revoke", headers=_auth(TOKEN), json={"dapp": "https://app.example", "reason": "phish"}
    )
    assert response.status == 200
    assert backend.calls[0][1]["dapp"] == "https://app.example"
    assert backend.calls[0][1]["reason"] == "phish"


async def test_body_that_is_not_json_is_a_clear_400(client: TestClient[Any, Any]) -> None:
    response = await client.post("/pair", headers=_auth(TOKEN), data=b"{not json")
    assert response.status == 400
    assert "not JSON" in (await response.json())["error"]["message"]


async def test_oversized_body_is_refused(client: TestClient[Any, Any]) -> None:
    response = await client.post("/pair", headers=_auth(TOKEN), data=b"x" * (70 * 1024))
    assert response.status == 413
