"""`posthog-sandbox`: serve the sandbox over HTTP on this machine and say how to use it."""

from __future__ import annotations

import argparse
import contextlib
import logging
import socket
import sqlite3
import sys
from collections.abc import Sequence
from typing import Any, TextIO

import uvicorn

from mcp_server.sandbox.app import create_app
from mcp_server.sandbox.faults import ConnectionDropped
from mcp_server.sandbox.keys import DEMO_KEYS, DEMO_PROJECT_ID

DEFAULT_PORT = 8010


def banner(url: str, out: TextIO) -> None:
    """Print the base URL, the demo project and the demo keys (public fixtures, safe to show)."""
    width = max(len(name) for name in DEMO_KEYS)
    lines = [
        f"Sandbox PostHog at {url}",
        f"Demo project id: {DEMO_PROJECT_ID} (API under {url}/api/projects/{DEMO_PROJECT_ID}/)",
        "Demo personal API keys (send as 'Authorization: Bearer <key>'):",
        *(f"  {name:<{width}}  {key.key}\n  {'':<{width}}  {key.description}" for name, key in DEMO_KEYS.items()),
        "Control endpoints (no key): /_sandbox/health, /_sandbox/faults, /_sandbox/requests, /_sandbox/elements",
    ]
    print("\n".join(lines), file=out, flush=True)


def serve(host: str = "127.0.0.1", port: int = DEFAULT_PORT, **options: Any) -> None:
    """Serve a sandbox (`options` go to `create_app`) until interrupted; port 0 picks a free port."""
    try:
        app = create_app(**options)
    except (ValueError, sqlite3.Error) as exc:
        sys.exit(f"posthog-sandbox: --db {options.get('db')}: {exc}. Delete it or choose another file.")
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    # Accepted connections inherit this; without it every small answer waits ~40 ms for a delayed ACK.
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.bind((host, port))
    banner(f"http://{f'[{host}]' if family == socket.AF_INET6 else host}:{sock.getsockname()[1]}", sys.stderr)
    config = uvicorn.Config(app, log_level="warning", access_log=False)
    logging.getLogger("uvicorn.error").addFilter(_not_an_injected_drop)
    uvicorn.Server(config).run(sockets=[sock])


def _not_an_injected_drop(record: logging.LogRecord) -> bool:
    """Keep uvicorn from printing a traceback for every connection dropped on purpose."""
    return not (record.exc_info and isinstance(record.exc_info[1], ConnectionDropped))


def main(argv: Sequence[str] | None = None) -> None:
    """Entry point of the `posthog-sandbox` console script."""
    parser = argparse.ArgumentParser(prog="posthog-sandbox", description="A local PostHog with demo data.")
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, help=f"port (default {DEFAULT_PORT}; 0 = any free)")
    parser.add_argument("--db", default=None, help="SQLite file that keeps state across runs (default: in memory)")
    parser.add_argument("--rate-limit", type=int, default=None, help="burst: requests per minute per key before 429")
    parser.add_argument("--rate-limit-hour", type=int, default=None, help="sustained: requests per hour per key")
    parser.add_argument("--mcp-read-only-org", action="store_true", help="refuse writes from MCP clients with 403")
    args = parser.parse_args(argv)
    with contextlib.suppress(KeyboardInterrupt):
        serve(**vars(args))


if __name__ == "__main__":
    main()
