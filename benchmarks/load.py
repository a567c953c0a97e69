"""Throughput over streamable HTTP: concurrent clients for a fixed time against a server process."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field

import anyio
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from benchmarks.processes import cpu_seconds
from benchmarks.stats import percentile

CONNECT_TIMEOUT = 60.0
MAX_REASONS = 5


@dataclass(frozen=True)
class Call:
    """The call every client repeats, and a string every correct answer holds."""

    tool: str
    arguments: dict[str, object]
    expect: str


@dataclass
class Window:
    """What `clients` clients got from a server in one measured window."""

    clients: int
    seconds: float = 0.0
    latencies: list[float] = field(default_factory=list)
    errors: int = 0
    cpu: dict[int, float] = field(default_factory=dict)
    client_cpu: float = 0.0
    failures: list[str] = field(default_factory=list)

    def fail(self, reason: str) -> None:
        """Count an error, keeping the first few reasons."""
        self.errors += 1
        if len(self.failures) < MAX_REASONS:
            self.failures.append(reason[:300])

    @property
    def calls(self) -> int:
        return len(self.latencies)

    @property
    def rate(self) -> float:
        """Calls answered (correctly or not) per second."""
        return self.calls / self.seconds if self.seconds else 0.0

    def cpu_ms_per_call(self, pid: int) -> float:
        """CPU milliseconds process `pid` spent per call in the window."""
        return self.cpu[pid] * 1000 / self.calls if self.calls else float("nan")

    def p(self, share: float) -> float:
        return percentile(self.latencies, share) if self.latencies else float("nan")


async def drive(url: str, clients: int, seconds: float, call: Call, watch: tuple[int, ...] = ()) -> Window:
    """Connect `clients` MCP clients (each its own session and connection), then have each repeat `call` for
    `seconds`; count a call that fails, raises or lacks `call.expect` as an error. `watch`: process ids whose CPU
    time in the window is recorded."""
    window = Window(clients)
    arrived = 0
    all_arrived = anyio.Event()
    go = anyio.Event()
    deadline = 0.0
    busy = 0

    def arrive() -> None:
        nonlocal arrived
        arrived += 1
        if arrived == clients:
            all_arrived.set()

    async def client() -> None:
        nonlocal busy
        phase = "connecting"
        try:
            async with Client(streamable_http_client(url), mode="legacy") as session:
                phase = "calling"
                arrive()
                await go.wait()
                while time.perf_counter() < deadline:
                    busy += 1
                    started = time.perf_counter()
                    reason = ""
                    try:
                        answer = await session.call_tool(call.tool, dict(call.arguments))
                        text = getattr(answer.content[0], "text", "") if answer.content else ""
                        if answer.is_error or call.expect not in text:
                            reason = f"{'error result' if answer.is_error else 'unexpected answer'}: {text}"
                    except Exception as exc:
                        reason = f"{type(exc).__name__}: {exc}"
                    finally:
                        busy -= 1
                    window.latencies.append((time.perf_counter() - started) * 1000)
                    if reason:
                        window.fail(reason)
                phase = "closing"
        except Exception as exc:
            window.fail(f"session, {phase}: {type(exc).__name__}: {exc!r}")
            if not go.is_set():
                arrive()

    with anyio.fail_after(CONNECT_TIMEOUT + seconds + 60):
        async with anyio.create_task_group() as group:
            for _ in range(clients):
                group.start_soon(client)
            with anyio.fail_after(CONNECT_TIMEOUT):
                await all_arrived.wait()
            before = {pid: cpu_seconds(pid) for pid in watch}
            client_before = time.process_time()
            started = time.perf_counter()
            deadline = started + seconds
            go.set()
            while (left := deadline - time.perf_counter()) > 0:  # noqa: ASYNC110 - a timer may wake a little early
                await anyio.sleep(left)
            while busy:  # noqa: ASYNC110 - the calls in flight finish the window
                await anyio.sleep(0.002)
            window.seconds = time.perf_counter() - started
            window.cpu = {pid: cpu_seconds(pid) - before[pid] for pid in watch}
            window.client_cpu = time.process_time() - client_before
    return window


async def warm(url: str, call: Call, calls: int = 3) -> None:
    """A few calls before measuring: imports, the key's scopes and connection pools are ready afterwards."""
    async with Client(streamable_http_client(url), mode="legacy") as session:
        for _ in range(calls):
            answer = await session.call_tool(call.tool, dict(call.arguments))
            if answer.is_error:
                raise RuntimeError(f"{url}: {call.tool} failed: {answer.content}")


def merged(windows: Sequence[Window]) -> Window:
    """Several windows of the same number of clients as one."""
    whole = Window(windows[0].clients)
    for window in windows:
        whole.seconds += window.seconds
        whole.latencies += window.latencies
        whole.errors += window.errors
        whole.failures += window.failures[: MAX_REASONS - len(whole.failures)]
        whole.client_cpu += window.client_cpu
        for pid, seconds in window.cpu.items():
            whole.cpu[pid] = whole.cpu.get(pid, 0.0) + seconds
    return whole


async def alternately(
    first: Callable[[], Awaitable[Window]], second: Callable[[], Awaitable[Window]]
) -> tuple[Window, Window]:
    """Measure in the order first, second, second, first, so that a drift in the machine's load falls on both."""
    a = await first()
    b = [await second(), await second()]
    return merged([a, await first()]), merged(b)
