"""Where a server's CPU time goes under load: py-spy samples it, and each sample is put down to a package."""

from __future__ import annotations

import os
import re
import signal
import tempfile
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from benchmarks.load import Call, drive, warm
from benchmarks.processes import PY_SPY, children, cpu_seconds, fetched_tool, http_server

RATE = 200  # samples per second
WARM_CALLS = 3
TOP = 10
NOT_OURS = "none (the SDK, the HTTP server, the event loop)"
# The SDK's session and transport code, and the HTTP server's (the SDK's types are not among them).
TRANSPORT = (
    "/site-packages/mcp/",
    "/site-packages/starlette/",
    "/site-packages/sse_starlette/",
    "/site-packages/uvicorn/",
)
FRAME = re.compile(r"^(?P<function>.*) \((?P<file>.*):\d+\)$")
# (category, a path fragment of its files), first match wins.
PACKAGES = (
    ("posthog-mcp", "/mcp_server/"),
    ("the proxy's tool", "/benchmarks/"),
    ("MCP SDK", "/site-packages/mcp/"),
    ("MCP SDK", "/site-packages/mcp_types/"),
    ("pydantic", "/site-packages/pydantic"),
    ("httpx, httpcore", "/site-packages/httpx/"),
    ("httpx, httpcore", "/site-packages/httpcore/"),
    ("uvicorn, h11", "/site-packages/uvicorn/"),
    ("uvicorn, h11", "/site-packages/h11/"),
    ("starlette, sse-starlette", "/site-packages/starlette/"),
    ("starlette, sse-starlette", "/site-packages/sse_starlette/"),
    ("anyio", "/site-packages/anyio/"),
    ("asyncio", "/asyncio/"),
    ("asyncio", "/selectors.py"),
)
STDLIB = re.compile(r"/lib/python3\.\d+/([^/]+)")


def package(path: str) -> str:
    """The category of a source file."""
    for name, fragment in PACKAGES:
        if fragment in path:
            return name
    if "/site-packages/" in path:
        return path.split("/site-packages/", 1)[1].split("/", 1)[0].removesuffix(".py")
    if stdlib := STDLIB.search(path):
        return f"{stdlib.group(1).removesuffix('.py')} (standard library)"
    return "other"


@dataclass
class Samples:
    """py-spy's samples of one server, counted three ways, and the calls and CPU time they were taken over."""

    packages: Counter[str] = field(default_factory=Counter)
    functions: Counter[str] = field(default_factory=Counter)
    ours: Counter[str] = field(default_factory=Counter)
    calls: int = 0
    cpu_seconds: float = 0.0

    def read(self, path: Path) -> None:
        """Add py-spy's raw output (`frame;frame;... count` lines), imports left out."""
        for line in path.read_text().splitlines():
            stack, _, count_text = line.rpartition(" ")
            frames = [match for frame in stack.split(";") if (match := FRAME.match(frame))]
            if not frames or any(frame["file"].startswith("<frozen importlib") for frame in frames):
                continue  # imports: start-up, not calls
            count = int(count_text)
            leaf = frames[-1]
            self.packages[package(leaf["file"])] += count
            self.functions[f"{leaf['function']} ({short(leaf['file'])})"] += count
            self.ours[owner(work(frames))] += count

    def profile(self) -> Profile:
        """Shares of the samples, as shares of the CPU time per call the process was measured to use."""
        scale = self.cpu_seconds * 1000 / self.calls / max(1, sum(self.packages.values()))
        return Profile(
            {name: count * scale for name, count in self.packages.most_common()},
            {name: count * scale for name, count in self.functions.most_common(TOP)},
            {name: count * scale for name, count in self.ours.most_common(TOP)},
            (sum(self.packages.values()) - self.ours[NOT_OURS]) * scale,
        )


@dataclass(frozen=True)
class Profile:
    """A server's CPU milliseconds per call: by the package and by the function running when sampled (self time),
    and by the deepest posthog-mcp function on the stack (time in it and in what it called)."""

    by_package: dict[str, float]
    by_function: dict[str, float]
    by_ours: dict[str, float]
    in_ours: float

    @property
    def total(self) -> float:
        return sum(self.by_package.values())


def owner(frames: list[re.Match[str]]) -> str:
    """The deepest posthog-mcp function on the stack, unless the SDK's transport runs beneath it (our ASGI guard
    wraps every request, so what runs under it is the SDK's unless one of our handlers is deeper)."""
    mine = [index for index, frame in enumerate(frames) if "/mcp_server/" in frame["file"]]
    beneath = [frame["file"] for frame in frames[mine[-1] + 1 :]] if mine else []
    if not mine or any(fragment in path for path in beneath for fragment in TRANSPORT):
        return NOT_OURS
    frame = frames[mine[-1]]
    return f"{frame['function']} ({short(frame['file'])})"


def work(frames: list[re.Match[str]]) -> list[re.Match[str]]:
    """The frames of the task or worker-thread job running, without the start-up frames that lead to the loop."""
    runs = [index for index, frame in enumerate(frames) if frame["function"] == "Handle._run"]
    if runs:
        return frames[runs[-1] + 1 :]
    if any(frame["function"] == "BaseEventLoop._run_once" for frame in frames):
        return []  # the event loop itself, between tasks
    return frames


def short(path: str) -> str:
    """A source path from its package on."""
    for marker in ("/site-packages/", "/lib/python3"):
        if marker in path:
            tail = path.split(marker, 1)[1]
            return tail.split("/", 1)[1] if marker == "/lib/python3" else tail
    for marker in ("/mcp_server/", "/benchmarks/"):
        if marker in path:
            return marker.strip("/") + "/" + path.split(marker, 1)[1]
    return path


async def sample(
    samples: Samples, command: Sequence[str], env: dict[str, str], call: Call, clients: int, seconds: float
) -> None:
    """Serve with `command` under py-spy, load it with `clients` clients for `seconds`, then stop it and add
    its samples, calls and CPU time."""
    py_spy = fetched_tool(PY_SPY, "py-spy")
    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder) / "samples.txt"
        # Only while a thread holds the GIL: threads waiting for work or for the GIL are not running Python.
        recorder = [
            py_spy,
            "record",
            "--gil",
            "--nonblocking",
            "--rate",
            str(RATE),
            "--full-filenames",
            "--format",
            "raw",
            "--output",
            str(out),
            "--",
        ]
        with http_server([*recorder, *command], env) as running:
            (server,) = children(running.pid)
            started = cpu_seconds(server)
            await warm(running.url, call, WARM_CALLS)
            window = await drive(running.url, clients, seconds, call)
            used = cpu_seconds(server) - started
            os.kill(server, signal.SIGTERM)
            running.process.wait(60)
        if window.errors:
            raise RuntimeError(f"{window.errors} errors while profiling {command}: {window.failures}")
        samples.read(out)
        samples.calls += window.calls + WARM_CALLS
        samples.cpu_seconds += used


async def profiles(
    servers: Sequence[tuple[Sequence[str], Call]], env: dict[str, str], clients: int, seconds: float, round_count: int
) -> list[Profile]:
    """Profile each (command, call) in turn, `round_count` times, pooling each server's rounds."""
    pooled = [Samples() for _ in servers]
    for _ in range(round_count):
        for samples, (command, call) in zip(pooled, servers, strict=True):
            await sample(samples, command, env, call, clients, seconds)
    return [samples.profile() for samples in pooled]
