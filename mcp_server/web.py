"""The HTTP transports (streamable HTTP at /mcp, SSE at /sse), secure by default.

One ASGI guard sees every request first: it answers /healthz, refuses other paths and WebSockets, checks Host,
Origin and the bearer token, takes per-request PostHog keys and binds MCP sessions to the credentials that opened
them; the SDK's transports check body size.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import json
import logging
import math
import socket
import sys
import time
from collections.abc import AsyncIterator, Mapping
from typing import Any

import uvicorn
from mcp.server import Server
from mcp.server.sse import SseServerTransport
from mcp.server.streamable_http_manager import StreamableHTTPASGIApp, StreamableHTTPSessionManager
from mcp.server.transport_security import TransportSecuritySettings
from starlette.applications import Starlette
from starlette.datastructures import Headers
from starlette.responses import Response
from starlette.routing import Mount, Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from starlette.websockets import WebSocketClose

from mcp_server import __version__, errors
from mcp_server.accounts import Account, key_digest
from mcp_server.app import App
from mcp_server.config import ConfigError, Settings, unusable_key_character
from mcp_server.dispatch import AccountResolver
from mcp_server.sdk import bind_principal, close_sse_streams, hold_sse_streams
from mcp_server.server import build_server

log = logging.getLogger(__name__)

KEY_HEADER = "x-posthog-api-key"
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "[::1]")
# Each endpoint with and without a trailing slash, so that Starlette never redirects to the client's Host.
ENDPOINTS = {"http": ("/mcp", "/mcp/"), "sse": ("/sse", "/sse/")}
MESSAGES_PATH = "/messages/"


def security_settings(settings: Settings) -> TransportSecuritySettings:
    """Allowed Host and Origin values: loopback names on a loopback bind, else only what is configured."""
    hosts: list[str] = []
    origins: list[str] = []
    if settings.loopback_bind:
        hosts += [f"{name}:*" for name in LOOPBACK_HOSTS] + list(LOOPBACK_HOSTS)
        origins += [f"http://{name}:*" for name in LOOPBACK_HOSTS] + [f"http://{name}" for name in LOOPBACK_HOSTS]
    for host in settings.allowed_hosts:
        name, _, port = host.rpartition(":") if host.count(":") == 1 else (host, "", "")
        # A Host header may omit the port (a proxy on 443), so the port-less form is always allowed too.
        hosts += [host, name] if port else [host, f"{host}:*"]
    origins += list(settings.allowed_origins)
    return TransportSecuritySettings(enable_dns_rebinding_protection=True, allowed_hosts=hosts, allowed_origins=origins)


def check_bind(settings: Settings) -> None:
    """Refuse to expose the server beyond this machine without a token and explicit allowed hosts."""
    if settings.loopback_bind:
        return
    if not settings.auth_token:
        raise ConfigError(errors.exposed_without_token(settings.host))
    if not settings.allowed_hosts:
        raise ConfigError(errors.exposed_without_hosts(settings.host))


def _bearer(headers: Mapping[str, str]) -> str | None:
    value = headers.get("authorization", "")
    scheme, _, token = value.partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


def posthog_key(headers: Mapping[str, str], settings: Settings) -> str | None:
    """The PostHog key a request carries: X-PostHog-Api-Key, or on a token-less loopback bind a Bearer phx_ key."""
    key = headers.get(KEY_HEADER, "").strip()
    if key:
        return key
    bearer = _bearer(headers)
    if bearer and bearer.startswith("phx_") and settings.loopback_bind and not settings.auth_token:
        return bearer
    return None


def _json_response(status: int, body: Mapping[str, Any], headers: Mapping[str, str] | None = None) -> Response:
    return Response(json.dumps(body), status_code=status, media_type="application/json", headers=headers)


def _allowed(value: str, allowed: list[str]) -> bool:
    return value in allowed or any(
        pattern.endswith(":*") and value.startswith(pattern[:-1]) and value[len(pattern) - 1 :].isdigit()
        for pattern in allowed
    )


def _as_sent(header_value: str) -> str:
    # ASGI headers arrive decoded as Latin-1; a client pasting a key sends UTF-8, so judge the text it meant.
    try:
        return header_value.encode("latin-1").decode("utf-8")
    except UnicodeError:
        return header_value


class Guard:
    """ASGI middleware in front of everything: health, paths, Host and Origin, authentication, per-request keys."""

    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app = app
        self.settings = settings
        self.security = security_settings(settings)
        self.endpoints = ENDPOINTS["sse" if settings.transport == "sse" else "http"]
        self._token = settings.auth_token.encode() if settings.auth_token else None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self.app(scope, receive, send)
            return
        if scope["type"] != "http":
            await WebSocketClose(code=1008)(scope, receive, send)
            return
        refusal = self._refusal(scope)
        if refusal is not None:
            await refusal(scope, receive, send)
            return
        await self.app(scope, receive, send)

    def _refusal(self, scope: Scope) -> Response | None:
        """The answer to a request that must not reach MCP, or None; on None the request carries its principal."""
        path: str = scope["path"]
        if path == "/healthz":
            return _json_response(200, {"status": "ok", "version": __version__})
        sse_messages = self.settings.transport == "sse" and path.startswith(MESSAGES_PATH)
        if path not in self.endpoints and not sse_messages:
            return _json_response(404, {"error": "not_found", "detail": errors.not_served_here(self.endpoints[0])})
        headers = Headers(scope=scope)
        # Checked here rather than by the SDK, which logs the client's Host at WARNING: anyone could flood the log.
        if not _allowed(headers.get("host", ""), self.security.allowed_hosts):
            return _json_response(421, {"error": "misdirected_request", "detail": errors.unknown_host()})
        origin = headers.get("origin")
        if origin is not None and not _allowed(origin, self.security.allowed_origins):
            return _json_response(403, {"error": "forbidden_origin", "detail": errors.unknown_origin()})
        if self._token is not None:
            presented = (_bearer(headers) or "").encode()
            if not hmac.compare_digest(presented, self._token):
                detail = errors.token_required()
                return _json_response(
                    401, {"error": "unauthorized", "detail": detail}, {"WWW-Authenticate": 'Bearer realm="posthog-mcp"'}
                )
        owner = "server-token" if self._token is not None else "anonymous"
        if self.settings.per_request_keys:
            key = posthog_key(headers, self.settings)
            if key is None:
                bearer = self.settings.loopback_bind and not self.settings.auth_token
                detail = errors.request_key_required(bearer_accepted=bearer)
                return _json_response(401, {"error": "posthog_key_required", "detail": detail})
            kind = unusable_key_character(_as_sent(key))
            if kind is not None:
                detail = errors.unusable_request_key(kind)
                return _json_response(401, {"error": "invalid_posthog_key", "detail": detail})
            owner += ":" + key_digest(key)
        # The SDK binds each MCP session to the principal that opened it; ours is the credentials' digest.
        principal = hashlib.sha256(owner.encode()).hexdigest()
        bind_principal(scope, principal)
        return None


class SseStream:
    """GET /sse as a plain ASGI app: one MCP session per event stream, which is the whole answer and always ends."""

    def __init__(self, transport: SseServerTransport, server: Server[Any]) -> None:
        self.transport = transport
        self.server = server

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        started = ended = False

        async def watched(message: Message) -> None:
            nonlocal started, ended
            started = started or message["type"] == "http.response.start"
            ended = ended or (message["type"] == "http.response.body" and not message.get("more_body", False))
            await send(message)

        with contextlib.suppress(ValueError):  # the transport already answered a refused request
            async with self.transport.connect_sse(scope, receive, watched) as (reader, writer):
                await self.server.run(reader, writer, self.server.create_initialization_options())
        if started and not ended:
            # A stream cut at shutdown: end it cleanly rather than leave uvicorn to log an unfinished answer.
            await send({"type": "http.response.body", "body": b"", "more_body": False})


def per_request_resolver(app: App) -> AccountResolver:
    """Each HTTP request's account, from the PostHog key it carries."""

    def resolve(headers: Mapping[str, str] | None) -> Account:
        key = posthog_key(headers, app.settings) if headers is not None else None
        if key is None or app.accounts is None:
            raise errors.no_request_key()
        errors.REQUEST_SECRETS.set((key,))
        return app.accounts.get(key)

    return resolve


def create_web_app(app: App) -> Starlette:
    """The ASGI app serving the transport the settings name."""
    settings = app.settings
    resolver = per_request_resolver(app) if settings.per_request_keys else None
    server = build_server(app, resolver)
    security = security_settings(settings)
    routes: list[Route | Mount] = []
    if settings.transport == "sse":
        sse = SseServerTransport("/messages/", security_settings=security, max_request_body_size=settings.max_body)

        routes += [Route(path, SseStream(sse, server), methods=["GET"]) for path in ENDPOINTS["sse"]]
        routes.append(Mount(MESSAGES_PATH, app=sse.handle_post_message))

        @contextlib.asynccontextmanager
        async def lifespan(_: Starlette) -> AsyncIterator[None]:
            try:
                yield
            finally:
                await app.aclose()

    else:
        manager = StreamableHTTPSessionManager(
            app=server,
            stateless=settings.stateless,
            security_settings=security,
            max_request_body_size=settings.max_body,
        )
        routes += [Route(path, StreamableHTTPASGIApp(manager)) for path in ENDPOINTS["http"]]

        @contextlib.asynccontextmanager
        async def lifespan(_: Starlette) -> AsyncIterator[None]:
            try:
                async with manager.run():
                    yield
            finally:
                await app.aclose()

    starlette = Starlette(routes=routes, lifespan=lifespan)
    starlette.router.redirect_slashes = False  # a redirect would name the client's Host, unchecked
    starlette.add_middleware(Guard, settings=settings)
    return starlette


def _bound_socket(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host.strip("[]") else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    # Accepted connections inherit this; without it every small answer waits ~40 ms for a delayed ACK.
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.bind((host.strip("[]"), port))
    # Listening before the URL is printed: a client that connects at once waits in the backlog, never refused.
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


class DrainingServer(uvicorn.Server):
    """uvicorn, but SIGTERM lets tool calls in flight finish before the event streams close.

    sse-starlette would otherwise end every event stream, in-flight answers included, the moment the signal lands.
    """

    def __init__(self, config: uvicorn.Config, app: App, grace: float) -> None:
        super().__init__(config)
        self.app = app
        self.grace = grace
        hold_sse_streams()

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        """Stop accepting, wait for calls in flight (within the grace period), then close the streams."""
        drain = asyncio.create_task(self._close_streams_when_idle())
        try:
            await super().shutdown(sockets)
        finally:
            drain.cancel()

    async def _close_streams_when_idle(self) -> None:
        deadline = time.monotonic() + self.grace
        while self.app.calls_in_flight and time.monotonic() < deadline:  # noqa: ASYNC110 - a counter, not an event
            await asyncio.sleep(0.05)
        if self.app.calls_in_flight:
            log.warning("%d call(s) still running after the %.0f s grace period", self.app.calls_in_flight, self.grace)
        await asyncio.sleep(0.2)  # lets the last answers reach their streams
        close_sse_streams()


def serve_http(settings: Settings) -> int:
    """Serve over HTTP until SIGTERM or SIGINT, then let in-flight calls finish within the grace period."""
    try:
        check_bind(settings)
    except ConfigError as exc:
        print(f"posthog-mcp: {exc}", file=sys.stderr)
        return 2
    try:
        sock = _bound_socket(settings.host, settings.port)
    except OSError as exc:
        print(
            f"posthog-mcp: cannot listen on {settings.host}:{settings.port} ({exc.strerror}): "
            "choose another --port (0 picks a free one) or stop what uses it.",
            file=sys.stderr,
        )
        return 2
    host, port = sock.getsockname()[:2]
    shown = f"[{host}]" if ":" in host else host
    path = "/sse" if settings.transport == "sse" else "/mcp"
    kind = "SSE" if settings.transport == "sse" else "streamable HTTP"
    print(f"posthog-mcp: serving {kind} at http://{shown}:{port}{path}", file=sys.stderr, flush=True)
    app = App.create(settings)
    config = uvicorn.Config(
        create_web_app(app),
        log_level=settings.log_level if settings.log_level != "debug" else "info",
        timeout_graceful_shutdown=math.ceil(settings.shutdown_grace),
        lifespan="on",
        access_log=False,
        log_config=None,
    )
    DrainingServer(config, app, settings.shutdown_grace).run(sockets=[sock])
    return 0
