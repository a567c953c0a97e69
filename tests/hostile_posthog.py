"""A hostile PostHog stand-in: a real HTTP server on 127.0.0.1 whose routes misbehave as each test scripts.

Each route answers with a list of `Reply`s, one per request (the last repeats), or with a function of the
request. A reply can be whole, reset mid-body, trickle, never end, or redirect; every request is counted per
method and path so that a test can assert that no write was lost or sent twice.
"""

from __future__ import annotations

import json
import re
import socket
import struct
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Literal
from urllib.parse import parse_qsl, urlsplit

KEY_PATH = "/api/personal_api_keys/@current/"
Behaviour = Literal["whole", "reset", "trickle", "endless"]


@dataclass(frozen=True)
class Reply:
    """One scripted answer: status, headers and body, delivered whole or misbehaving."""

    status: int = 200
    body: bytes = b""
    headers: tuple[tuple[str, str], ...] = (("Content-Type", "application/json"),)
    behaviour: Behaviour = "whole"
    interval: float = 0.0


def json_reply(value: Any, status: int = 200, **headers: str) -> Reply:
    """JSON as PostHog's Python encoder writes it (lone surrogates become `\\udc80` escapes)."""
    return Reply(status, json.dumps(value).encode(), (("Content-Type", "application/json"), *headers.items()))


def raw(body: str | bytes, status: int = 200, content_type: str = "application/json") -> Reply:
    """A body sent as given, under any content type."""
    data = body.encode() if isinstance(body, str) else body
    return Reply(status, data, (("Content-Type", content_type),))


def html_page(status: int) -> Reply:
    """The error page a proxy in front of PostHog sends."""
    page = f"<html><head><title>{status}</title></head><body><center><h1>{status} Error</h1></center></body></html>"
    return raw(page, status, "text/html")


def throttled(retry_after: str | None) -> Reply:
    """PostHog's 429, with a Retry-After header as given (None leaves it out)."""
    body = {"type": "throttled_error", "code": "throttled", "detail": "Request was throttled."}
    return json_reply(body, 429, **({"Retry-After": retry_after} if retry_after is not None else {}))


def redirect(status: int, location: str) -> Reply:
    """A redirect elsewhere, which a client must not follow with the key."""
    return Reply(status, b"", (("Location", location), ("Content-Length", "0")))


def reset_mid_body(status: int = 200) -> Reply:
    """Headers promising a body, part of it, then a TCP reset."""
    return Reply(status, b'{"id": 1, "name": "cut sho', behaviour="reset")


def trickle(interval: float) -> Reply:
    """A JSON body that arrives one byte every `interval` seconds and never completes."""
    return Reply(200, b'{"id": 1, "name": "' + b"x" * 1_000_000, behaviour="trickle", interval=interval)


def endless(interval: float) -> Reply:
    """A chunked JSON body that never ends: 64 KiB every `interval` seconds."""
    return Reply(200, b'{"id": 1, "name": "', behaviour="endless", interval=interval)


def huge(size: int) -> Reply:
    """A valid JSON object of about `size` bytes."""
    return raw(b'{"id": 1, "short_id": "AbCdEf12", "name": "' + b"x" * size + b'"}')


def nested(depth: int) -> Reply:
    """An insight whose query is nested `depth` levels deep."""
    return raw('{"id": 1, "short_id": "AbCdEf12", "query": ' + '{"a": ' * depth + "1" + "}" * depth + "}")


@dataclass
class Received:
    """One request as the stand-in received it."""

    method: str
    path: str
    params: dict[str, str]
    body: bytes
    authorization: str | None


Route = list[Reply] | Callable[[Received], Reply]


@dataclass
class HostilePostHog:
    """The stand-in's scripted routes and what it received; `url` is set while it runs."""

    project: int = 42
    scopes: list[str] = field(default_factory=lambda: ["*"])
    url: str = ""
    routes: dict[tuple[str, str], Route] = field(default_factory=dict)
    received: list[Received] = field(default_factory=list)
    stopping: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def prefix(self) -> str:
        return f"/api/projects/{self.project}/"

    def on(self, method: str, path: str, *replies: Reply | Callable[[Received], Reply]) -> HostilePostHog:
        """Script `method path` (a regex, relative to the project prefix unless it starts with /)."""
        full = path if path.startswith("/") else self.prefix + path
        first = replies[0] if replies else None
        self.routes[(method, full)] = first if callable(first) else [r for r in replies if isinstance(r, Reply)]
        return self

    def count(self, method: str, path: str) -> int:
        """How many `method path` requests arrived (path relative to the project prefix unless absolute)."""
        full = path if path.startswith("/") else self.prefix + path
        with self.lock:
            return sum(1 for r in self.received if r.method == method and r.path == full)

    def answer(self, request: Received) -> Reply:
        with self.lock:
            self.received.append(request)
            for (method, pattern), route in self.routes.items():
                if method == request.method and re.fullmatch(pattern, request.path):
                    if callable(route):
                        break
                    return route.pop(0) if len(route) > 1 else route[0]
            else:
                route = None
        if callable(route):
            return route(request)
        if request.path == KEY_PATH:
            return json_reply({"id": "k1", "scopes": self.scopes, "scoped_teams": []})
        return json_reply({"type": "invalid_request", "code": "not_found", "detail": "Not found."}, 404)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def setup(self) -> None:
        super().setup()
        # Without it, headers and body in separate writes wait out delayed ACKs (about 40 ms a request).
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the test asserts on the record instead."""

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        parts = urlsplit(self.path)
        request = Received(
            self.command, parts.path, dict(parse_qsl(parts.query)), body, self.headers.get("Authorization")
        )
        reply = self.server.stand_in.answer(request)
        try:
            self._deliver(reply)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True

    do_GET = do_POST = do_PATCH = do_DELETE = do_PUT = _serve

    def _deliver(self, reply: Reply) -> None:
        self.send_response(reply.status)
        for name, value in reply.headers:
            self.send_header(name, value)
        stopping = self.server.stand_in.stopping
        if reply.behaviour == "endless":
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            chunk = b"x" * 65536
            self.wfile.write(b"%x\r\n%s\r\n" % (len(reply.body), reply.body))
            while not stopping.wait(reply.interval):
                self.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
            self.close_connection = True
            return
        if not any(name.lower() == "content-length" for name, _ in reply.headers):
            declared = len(reply.body) + (1000 if reply.behaviour == "reset" else 0)
            self.send_header("Content-Length", str(declared))
        self.end_headers()
        if reply.behaviour == "reset":
            self.wfile.write(reply.body)
            self.wfile.flush()
            # SO_LINGER 0: close sends a TCP reset, not an orderly end of stream.
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.close_connection = True
            return
        if reply.behaviour == "trickle":
            self.wfile.flush()
            for byte in reply.body:
                if stopping.wait(reply.interval):
                    break
                self.wfile.write(bytes([byte]))
                self.wfile.flush()
            self.close_connection = True
            return
        self.wfile.write(reply.body)


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, stand_in: HostilePostHog) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.stand_in = stand_in


@contextmanager
def hostile_posthog(project: int = 42) -> Iterator[HostilePostHog]:
    """A stand-in running on a free port of 127.0.0.1 in a thread, stopped afterwards."""
    stand_in = HostilePostHog(project)
    server = _Server(stand_in)
    stand_in.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True)
    thread.start()
    try:
        yield stand_in
    finally:
        stand_in.stopping.set()
        server.shutdown()
        server.server_close()
        thread.join(5)
