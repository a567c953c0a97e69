"""Where a server's CPU time goes under load: py-spy samples it, and each sample is put down to a package."""

from __future__ import annotations

import os
import re
import signal
import tempfile
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from benchmarks.load import Call, drive, warm
from benchmarks.processes import PY_SPY, children, fetched_tool, http_server

RATE = 200  # samples per second
WARM_CALLS = 3
TOP = 10
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


@dataclass(frozen=True)
class Profile:
    """CPU milliseconds per call holding the GIL: by the package and the function running when sampled (self time),
    and by the deepest posthog-mcp function on the stack (time spent in it or in what it called)."""

    calls: int
    by_package: dict[str, float]
    by_function: dict[str, float]
    by_ours: dict[str, float]

    @property
    def total(self) -> float:
        return sum(self.by_package.values())


def read_samples(path: Path, calls: int) -> Profile:
    """py-spy's raw output (`frame;frame;... count` lines) as milliseconds per call, imports left out."""
    packages: Counter[str] = Counter()
    functions: Counter[str] = Counter()
    ours: Counter[str] = Counter()
    for line in path.read_text().splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack:
            continue
        count = int(count_text)
        frames = [match for frame in stack.split(";") if (match := FRAME.match(frame))]
        if not frames or any(frame["file"].startswith("<frozen importlib") for frame in frames):
            continue  # imports: start-up, not calls
        leaf = frames[-1]
        packages[package(leaf["file"])] += count
        functions[f"{leaf['function']} ({short(leaf['file'])})"] += count
        mine = [frame for frame in work(frames) if "/mcp_server/" in frame["file"]]
        ours[f"{mine[-1]['function']} ({short(mine[-1]['file'])})" if mine else "no posthog-mcp code"] += count
    scale = 1000 / RATE / calls
    return Profile(
        calls,
        {name: count * scale for name, count in packages.most_common()},
        {name: count * scale for name, count in functions.most_common(TOP)},
        {name: count * scale for name, count in ours.most_common(TOP)},
    )


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


async def profile(command: Sequence[str], env: dict[str, str], call: Call, clients: int, seconds: float) -> Profile:
    """Serve with `command` under py-spy, load it with `clients` clients for `seconds`, then stop it and read
    where its CPU time went."""
    py_spy = fetched_tool(PY_SPY, "py-spy")
    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder) / "samples.txt"
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
            await warm(running.url, call, WARM_CALLS)
            window = await drive(running.url, clients, seconds, call)
            os.kill(server, signal.SIGTERM)
            running.process.wait(60)
        if window.errors:
            raise RuntimeError(f"{window.errors} errors while profiling {command}")
        return read_samples(out, window.calls + WARM_CALLS)
