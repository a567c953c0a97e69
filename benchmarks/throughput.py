"""Streamable HTTP at several numbers of concurrent clients, stateful and stateless, against the bare proxy."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from functools import partial

from benchmarks.fixtures import Fixtures, request_to
from benchmarks.floor import PROXY_TOOL
from benchmarks.load import Call, Window, alternately, drive, warm
from benchmarks.processes import (
    http_server,
    ours_over_http,
    peak_rss_mib,
    proxy_over_http,
    sandbox_pid,
    server_env,
)
from benchmarks.stats import Figure, percentile, rounds
from tests.sandbox_process import Sandbox

OURS = "posthog-mcp"
PROXY = "bare proxy"


def insight_get(fixtures: Fixtures) -> Call:
    """The call every client of this server repeats."""
    return Call("insight-get", {"id": fixtures.trends}, fixtures.trends_short_id)


def proxied_url(sandbox: Sandbox, fixtures: Fixtures) -> str:
    """The URL this server's insight-get of the trends insight requests, for the proxy to request too."""
    path = f"insights/{fixtures.trends}/"
    query = request_to(sandbox, path)
    return f"{sandbox.url}/api/projects/{sandbox.project_id}/{path}" + (f"?{query}" if query else "")


@dataclass(frozen=True)
class Cell:
    """One server at one number of clients in one mode, over every round."""

    mode: str
    clients: int
    server: str
    rate: Figure
    p50: float
    p99: float
    calls: int
    errors: int
    peak_rss_mib: float
    cpu_ms_per_call: Figure
    client_ms_per_call: Figure
    posthog_ms_per_call: Figure
    failures: tuple[str, ...]


@dataclass(frozen=True)
class Row:
    """This server against the proxy at one number of clients in one mode."""

    ours: Cell
    proxy: Cell
    ratio: Figure


def cell(mode: str, clients: int, server: str, windows: list[tuple[Window, int, float]], posthog: int) -> Cell:
    """Pool the rounds of one cell: (window, server pid, peak resident MiB after it) for each round; `posthog` is
    the sandbox's process id."""
    latencies = [latency for window, _, _ in windows for latency in window.latencies]
    return Cell(
        mode,
        clients,
        server,
        rounds([window.rate for window, _, _ in windows]),
        percentile(latencies, 0.5),
        percentile(latencies, 0.99),
        sum(window.calls for window, _, _ in windows),
        sum(window.errors for window, _, _ in windows),
        max(peak for _, _, peak in windows),
        rounds([window.cpu_ms_per_call(pid) for window, pid, _ in windows]),
        rounds([window.client_cpu * 1000 / max(window.calls, 1) for window, _, _ in windows]),
        rounds([window.cpu_ms_per_call(posthog) for window, _, _ in windows]),
        tuple(reason for window, _, _ in windows for reason in window.failures),
    )


async def throughput(
    sandbox: Sandbox, fixtures: Fixtures, levels: tuple[int, ...], seconds: float, round_count: int
) -> list[Row]:
    """Each round starts both servers afresh in each mode and measures them alternately (`seconds` each, in two
    halves) at each level, fewest clients first (so a level's peak memory is the most the process held up to and
    through it)."""
    ours_call = insight_get(fixtures)
    measured: dict[tuple[str, int, str], list[tuple[Window, int, float]]] = defaultdict(list)
    env = server_env(sandbox)
    posthog = sandbox_pid()
    for _ in range(round_count):
        for mode in ("stateless", "stateful"):
            stateless = mode == "stateless"
            with http_server(ours_over_http(stateless), env) as ours:
                await warm(ours.url, ours_call)
                target = proxied_url(sandbox, fixtures)
                with http_server(proxy_over_http(target, sandbox.keys["legacy"], stateless), env) as proxy:
                    proxy_call = Call(PROXY_TOOL, {}, fixtures.trends_short_id)
                    await warm(proxy.url, proxy_call)
                    for clients in levels:
                        windows = await alternately(
                            partial(drive, ours.url, clients, seconds / 2, ours_call, watch=(ours.pid, posthog)),
                            partial(drive, proxy.url, clients, seconds / 2, proxy_call, watch=(proxy.pid, posthog)),
                        )
                        for name, running, window in zip((OURS, PROXY), (ours, proxy), windows, strict=True):
                            measured[mode, clients, name].append((window, running.pid, peak_rss_mib(running.pid)))
    rows = []
    for mode in ("stateless", "stateful"):
        for clients in levels:
            ours_windows, proxy_windows = measured[mode, clients, OURS], measured[mode, clients, PROXY]
            ratios = [a.rate / b.rate for (a, _, _), (b, _, _) in zip(ours_windows, proxy_windows, strict=True)]
            rows.append(
                Row(
                    cell(mode, clients, OURS, ours_windows, posthog),
                    cell(mode, clients, PROXY, proxy_windows, posthog),
                    rounds(ratios),
                )
            )
    return rows
