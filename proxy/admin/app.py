"""The aiohttp admin API application (I/O at request time): bearer-token auth, JSON routes over an AdminBackend.

Every route needs a token: the admin token for everyday operations, the separate emergency token for
``/emergency/*``. Errors are JSON ``{"error": {"code", "message"}}`` with a fitting HTTP status.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import structlog
from aiohttp import web

from proxy.admin.auth import Scope, bearer_token, token_matches
from proxy.admin.backend import AdminBackend, NotFoundError
from walletconnect import jsonsafe

__all__ = ["BACKEND_KEY", "MAX_BODY_BYTES", "create_admin_app"]

log = structlog.get_logger(__name__)

BACKEND_KEY = web.AppKey("backend", AdminBackend)
_TOKENS_KEY = web.AppKey("tokens", dict)
MAX_BODY_BYTES = 64 * 1024
_ACTOR_HEADER = "X-Wcproxy-Actor"

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def _error(status: int, code: str, message: str) -> web.Response:
    return web.json_response({"error": {"code": code, "message": message}}, status=status)


def _route_scope(request: web.Request) -> Scope:
    return Scope.EMERGENCY if request.path.startswith("/emergency/") else Scope.ADMIN


@web.middleware
async def _auth_and_errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    tokens: dict[Scope, str | None] = request.app[_TOKENS_KEY]
    scope = _route_scope(request)
    presented = bearer_token(request.headers.get("Authorization"))
    if presented is None:
        log.warning("admin_unauthorized", path=request.path, why="missing token")
        return _error(401, "unauthorized", "missing bearer token")
    if not token_matches(presented, tokens.get(scope)):
        log.warning("admin_forbidden", path=request.path, scope=str(scope))
        return _error(403, "forbidden", f"token not valid for the {scope} scope")
    try:
        return await handler(request)
    except web.HTTPException:
        raise
    except NotFoundError as exc:
        return _error(404, "not_found", str(exc))
    except (ValueError, KeyError, TypeError) as exc:
        return _error(400, "bad_request", str(exc))


async def _json_body(request: web.Request) -> dict[str, Any]:
    if not request.can_read_body:
        return {}
    try:
        body = jsonsafe.loads(await request.text())
    except (ValueError, UnicodeDecodeError) as exc:
        raise ValueError(f"body is not JSON: {exc}") from exc
    if not isinstance(body, dict):
        raise TypeError("body must be a JSON object")
    return body


def _actor(request: web.Request) -> str:
    peer = request.remote or "unknown"
    named = request.headers.get(_ACTOR_HEADER, "").strip()[:128]
    return f"{named}@{peer}" if named else f"admin-api@{peer}"


def _text(body: dict[str, Any], key: str, default: str = "") -> str:
    value = body.get(key, default)
    if not isinstance(value, str):
        raise TypeError(f"{key!r} must be a string")
    return value[:1024]


def _backend(request: web.Request) -> AdminBackend:
    return request.app[BACKEND_KEY]


async def _health(request: web.Request) -> web.Response:
    facts = await _backend(request).health()
    # 503 while unhealthy, so a load balancer or orchestrator sees it without reading the body
    return web.json_response(facts, status=200 if facts.get("ok") else 503)


async def _sessions(request: web.Request) -> web.Response:
    return web.json_response({"sessions": await _backend(request).list_sessions()})


async def _proposals(request: web.Request) -> web.Response:
    return web.json_response({"proposals": await _backend(request).list_proposals()})


def _proposal_id(request: web.Request) -> int:
    raw = request.match_info["proposal_id"]
    if not raw.isdigit() or len(raw) > 20:
        raise ValueError(f"proposal id must be a decimal integer, got {raw!r}")
    return int(raw)


async def _approve(request: web.Request) -> web.Response:
    result = await _backend(request).approve_proposal(_proposal_id(request), actor=_actor(request))
    return web.json_response(result)


async def _reject(request: web.Request) -> web.Response:
    body = await _json_body(request)
    result = await _backend(request).reject_proposal(
        _proposal_id(request),
        actor=_actor(request),
        reason=_text(body, "reason", "rejected by operator"),
    )
    return web.json_response(result)


async def _pair(request: web.Request) -> web.Response:
    body = await _json_body(request)
    uri = _text(body, "uri")
    if not uri:
        raise ValueError("'uri' is required")
    return web.json_response(await _backend(request).pair(uri, actor=_actor(request)))


async def _revoke(request: web.Request) -> web.Response:
    body = await _json_body(request)
    session = body.get("session")
    dapp = body.get("dapp")
    revoke_all = body.get("all", False)
    if session is not None and not isinstance(session, str):
        raise TypeError("'session' must be a string")
    if dapp is not None and not isinstance(dapp, str):
        raise TypeError("'dapp' must be a string")
    if not isinstance(revoke_all, bool):
        raise TypeError("'all' must be a boolean")
    if sum((session is not None, dapp is not None, revoke_all)) != 1:
        raise ValueError("give exactly one of 'session', 'dapp' or 'all': true")
    result = await _backend(request).revoke(
        session=session,
        dapp=dapp,
        revoke_all=revoke_all,
        actor=_actor(request),
        reason=_text(body, "reason", "revoked by operator"),
    )
    return web.json_response(result)


async def _emergency_stop(request: web.Request) -> web.Response:
    body = await _json_body(request)
    reason = _text(body, "reason")
    if not reason.strip():
        raise ValueError("'reason' is required for an emergency stop")
    return web.json_response(
        await _backend(request).emergency_stop(actor=_actor(request), reason=reason)
    )


async def _emergency_resume(request: web.Request) -> web.Response:
    body = await _json_body(request)
    reason = _text(body, "reason", "resumed by operator")
    return web.json_response(
        await _backend(request).emergency_resume(actor=_actor(request), reason=reason)
    )


async def _metrics(request: web.Request) -> web.Response:
    return web.Response(
        body=_backend(request).metrics_text(),
        headers={"Content-Type": "text/plain; version=0.0.4; charset=utf-8"},
    )


def create_admin_app(
    backend: AdminBackend, *, token: str, emergency_token: str | None = None
) -> web.Application:
    """Build the admin application; without an emergency token the emergency routes always refuse."""
    app = web.Application(middlewares=[_auth_and_errors], client_max_size=MAX_BODY_BYTES)
    app[BACKEND_KEY] = backend
    app[_TOKENS_KEY] = {Scope.ADMIN: token, Scope.EMERGENCY: emergency_token}
    app.router.add_get("/health", _health)
    app.router.add_get("/sessions", _sessions)
    app.router.add_get("/proposals", _proposals)
    app.router.add_post("/proposals/{proposal_id}/approve", _approve)
    app.router.add_post("/proposals/{proposal_id}/reject", _reject)
    app.router.add_post("/pair", _pair)
    app.router.add_post("/revoke", _revoke)
    app.router.add_post("/emergency/stop", _emergency_stop)
    app.router.add_post("/emergency/resume", _emergency_resume)
    app.router.add_get("/metrics", _metrics)
    return app
