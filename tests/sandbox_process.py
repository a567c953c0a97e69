"""The sandbox PostHog served over real HTTP on 127.0.0.1 by its own process, and the server as a process."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from mcp_server.sandbox import DEMO_KEYS, DEMO_PROJECT_ID

ROOT = Path(__file__).resolve().parent.parent
URL_LINE = re.compile(r"(https?://127\.0\.0\.1:\d+)")


@dataclass
class Sandbox:
    """A running sandbox: its URL, its demo keys, and its control endpoints."""

    url: str
    keys: dict[str, str] = field(default_factory=lambda: {name: demo.key for name, demo in DEMO_KEYS.items()})
    project_id: int = DEMO_PROJECT_ID

    def fault(self, **spec: Any) -> None:
        """Make the next requests to a path fail (see the sandbox's fault injection)."""
        httpx.post(f"{self.url}/_sandbox/faults", json=spec, timeout=10).raise_for_status()

    def requests(self) -> list[dict[str, Any]]:
        """Every request the sandbox received, oldest first."""
        response = httpx.get(f"{self.url}/_sandbox/requests", timeout=10)
        response.raise_for_status()
        body = response.json()
        return list(body["requests"] if isinstance(body, dict) else body)

    def elements(self, text: str) -> list[dict[str, Any]]:
        """Element rows with this text, ids and project included (PostHog's API never gives an element's id)."""
        response = httpx.get(f"{self.url}/_sandbox/elements", params={"text": text}, timeout=10)
        response.raise_for_status()
        return list(response.json())

    def forget_requests(self) -> None:
        httpx.delete(f"{self.url}/_sandbox/requests", timeout=10).raise_for_status()


@contextmanager
def process_printing_url(
    command: list[str], env: dict[str, str] | None = None, pattern: re.Pattern[str] = URL_LINE
) -> Iterator[tuple[subprocess.Popen[str], str]]:
    """Start a process that prints its URL on stderr; yield it and the URL; stop it afterwards."""
    process = subprocess.Popen(
        command,
        stderr=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        text=True,
        cwd=ROOT,
        env={**os.environ, **(env or {})},
    )
    assert process.stderr is not None
    lines: list[str] = []
    found: list[str] = []
    ready = threading.Event()

    def read() -> None:
        assert process.stderr is not None
        for line in process.stderr:
            lines.append(line)
            match = pattern.search(line)
            if match and not found:
                found.append(match.group(1))
                ready.set()
        ready.set()

    threading.Thread(target=read, daemon=True).start()
    try:
        if not ready.wait(60) or not found:
            raise RuntimeError("the process did not print its URL:\n" + "".join(lines))
        yield process, found[0]
    finally:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(5)


@contextmanager
def sandbox_over_http(*extra: str) -> Iterator[Sandbox]:
    """The sandbox in its own process on a free port of 127.0.0.1."""
    command = [sys.executable, "-m", "mcp_server", "sandbox", "serve", "--port", "0", *extra]
    with process_printing_url(command) as (_, url):
        deadline = time.monotonic() + 30
        while True:
            try:
                httpx.get(f"{url}/_sandbox/health", timeout=2).raise_for_status()
                break
            except httpx.HTTPError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
        yield Sandbox(url)


def server_env(sandbox: Sandbox, key: str = "legacy", **extra: str) -> dict[str, str]:
    """The environment that points `posthog-mcp` at the sandbox over HTTP, as at a real PostHog."""
    return {
        "POSTHOG_PERSONAL_API_KEY": sandbox.keys[key],
        "POSTHOG_HOST": sandbox.url,
        "POSTHOG_PROJECT_ID": str(sandbox.project_id),
        "POSTHOG_MCP_TOOLSETS": "all",
        **extra,
    }
