"""The sandbox over real HTTP on 127.0.0.1: dropped connections, delays, control endpoints, the CLI banner."""

from __future__ import annotations

import re
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import httpx
import pytest
import uvicorn

from mcp_server.sandbox import DEMO_KEYS, LEGACY_KEY, create_app

INSIGHTS = "/api/projects/1/insights/"
AUTH = {"Authorization": f"Bearer {LEGACY_KEY}"}


@contextmanager
def served() -> Iterator[str]:
    """A fresh sandbox served by uvicorn on a free port, in a thread."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(create_app(), log_level="critical"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(10)


@pytest.fixture(scope="module")
def url() -> Iterator[str]:
    with served() as base:
        yield base


@pytest.fixture(autouse=True)
def clean(url: str) -> None:
    httpx.delete(f"{url}/_sandbox/faults").raise_for_status()
    httpx.delete(f"{url}/_sandbox/requests").raise_for_status()


def test_a_dropped_connection_breaks_the_http_response(url: str) -> None:
    httpx.post(f"{url}/_sandbox/faults", json={"kind": "drop", "path": INSIGHTS}).raise_for_status()
    with pytest.raises(httpx.RemoteProtocolError):
        httpx.get(url + INSIGHTS, headers=AUTH)
    assert httpx.get(url + INSIGHTS + "?limit=1", headers=AUTH).status_code == 200


def test_a_delay_beyond_the_read_timeout_times_out(url: str) -> None:
    httpx.post(f"{url}/_sandbox/faults", json={"kind": "delay", "path": INSIGHTS, "seconds": 1.0}).raise_for_status()
    with pytest.raises(httpx.ReadTimeout):
        httpx.get(url + INSIGHTS, headers=AUTH, timeout=httpx.Timeout(5, read=0.2))


def test_control_endpoints_work_across_processes_over_http(url: str) -> None:
    httpx.post(f"{url}/_sandbox/faults", json={"kind": "status", "path": INSIGHTS, "status": 503}).raise_for_status()
    failed = httpx.get(url + INSIGHTS, headers={**AUTH, "X-PostHog-Client": "mcp"})
    served_ok = httpx.get(url + INSIGHTS + "?limit=2", headers=AUTH)
    log = httpx.get(f"{url}/_sandbox/requests").json()
    assert (failed.status_code, served_ok.status_code) == (503, 200)
    assert [(entry["status"], entry["fault"]) for entry in log] == [(503, "status"), (200, None)]
    assert log[0]["headers"]["x-posthog-client"] == "mcp"
    assert served_ok.json()["next"] == f"{url}{INSIGHTS}?limit=2&offset=2"


def test_health_answers_without_a_key(url: str) -> None:
    body = httpx.get(f"{url}/_sandbox/health").json()
    assert body["project_id"] == 1
    assert body["keys"]["legacy"] == LEGACY_KEY


def test_the_cli_prints_the_url_it_serves_and_the_demo_keys() -> None:
    command = [sys.executable, "-m", "mcp_server.sandbox.cli", "--port", "0"]
    process = subprocess.Popen(command, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True)
    assert process.stderr is not None
    try:
        lines = [process.stderr.readline() for _ in range(3 + 2 * len(DEMO_KEYS) + 1)]
        match = re.fullmatch(r"Sandbox PostHog at (http://127\.0\.0\.1:(\d+))\n", lines[0])
        assert match, lines[0]
        banner = "".join(lines)
        assert all(key.key in banner for key in DEMO_KEYS.values())
        assert "Demo project id: 1" in banner
        deadline = time.monotonic() + 15
        while True:
            try:
                response = httpx.get(f"{match.group(1)}/_sandbox/health", timeout=1)
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline
                time.sleep(0.05)
        assert response.status_code == 200
    finally:
        process.terminate()
        process.wait(10)
