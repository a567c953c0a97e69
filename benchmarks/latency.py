"""Start-up and per-call cost over stdio, each a ratio to a floor measured beside it in the same run."""

from __future__ import annotations

import statistics
import sys
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any

import httpx
from mcp import Client
from mcp.client.stdio import StdioServerParameters

from benchmarks.fixtures import request_to
from benchmarks.floor import MINIMAL_TOOL
from benchmarks.processes import ROOT, uv
from benchmarks.stats import Figure, rounds
from tests.sandbox_process import Sandbox

OURS_MODULE = ["-m", "mcp_server"]
MINIMAL_MODULE = ["-m", "benchmarks.floor", "minimal"]


def stdio(command: str, args: Sequence[str], env: dict[str, str]) -> Client:
    """An MCP client (initialize handshake, as current hosts do) of a server it spawns over stdio."""
    return Client(StdioServerParameters(command=command, args=list(args), env=env, cwd=str(ROOT)), mode="legacy")


@dataclass(frozen=True)
class Launch:
    """How both servers are started: through `uv run`, or straight from the project's interpreter."""

    label: str
    prefix: tuple[str, ...]

    def command(self, module: Sequence[str]) -> tuple[str, list[str]]:
        whole = [*self.prefix, *module]
        return whole[0], whole[1:]


def launches() -> list[Launch]:
    """The two ways a host starts a server from a checkout."""
    return [
        Launch("through `uv run`", (uv(), "run", "--frozen", "--directory", str(ROOT), "python")),
        Launch("with the project's Python", (sys.executable,)),
    ]


@dataclass(frozen=True)
class ColdStart:
    """Spawn to a completed tools/list, ms, for this server and the minimal one, and their ratio per pair."""

    launch: str
    ours: Figure
    minimal: Figure
    ratio: Figure


async def spawn_to_tools_list(launch: Launch, module: Sequence[str], env: dict[str, str]) -> float:
    """Milliseconds from spawning the server to its answer to tools/list."""
    command, args = launch.command(module)
    started = time.perf_counter()
    async with stdio(command, args, env) as client:
        await client.list_tools()
        return (time.perf_counter() - started) * 1000


async def cold_start(env: dict[str, str], pairs: int) -> list[ColdStart]:
    """Alternate the two servers (each going first in every other pair), `pairs` times for each way of launching
    them, after one unmeasured pair."""
    measured = []
    for launch in launches():
        ours: list[float] = []
        minimal: list[float] = []
        for number in range(pairs + 1):
            order = [OURS_MODULE, MINIMAL_MODULE][:: -1 if number % 2 else 1]
            took = {tuple(module): await spawn_to_tools_list(launch, module, env) for module in order}
            if number:  # the first pair warms the file cache and uv's
                ours.append(took[tuple(OURS_MODULE)])
                minimal.append(took[tuple(MINIMAL_MODULE)])
        measured.append(
            ColdStart(
                launch.label, rounds(ours), rounds(minimal), rounds([a / b for a, b in zip(ours, minimal, strict=True)])
            )
        )
    return measured


async def median_ms(calls: int, call: Callable[[], Awaitable[Any]]) -> float:
    """Median milliseconds of `calls` sequential calls."""
    samples = []
    for _ in range(calls):
        started = time.perf_counter()
        await call()
        samples.append((time.perf_counter() - started) * 1000)
    return statistics.median(samples)


@dataclass(frozen=True)
class PerCall:
    """One tool over stdio against the same request sent straight to PostHog plus the minimal server's call."""

    label: str
    ours: Figure
    direct: Figure
    minimal: Figure
    ratio: Figure
    posthog_requests: int


async def per_call(
    env: dict[str, str],
    sandbox: Sandbox,
    raw: httpx.AsyncClient,
    measured: list[tuple[str, str, dict[str, Any], str]],
    round_count: int,
    calls: int,
) -> list[PerCall]:
    """For each (label, tool, arguments, path): rounds of `calls` calls to this server over stdio, the request it
    makes to `path` sent with httpx, and the minimal server's tool, each round giving one ratio."""
    python = launches()[1]
    results = []
    async with stdio(*python.command(OURS_MODULE), env) as ours, stdio(*python.command(MINIMAL_MODULE), env) as floor:
        for label, tool, arguments, path in measured:
            await ours.call_tool(tool, arguments)  # the first call also looks up the key's scopes
            sandbox.forget_requests()
            answer = await ours.call_tool(tool, arguments)
            if answer.is_error:
                raise RuntimeError(f"{tool} failed: {answer.content}")
            made = [entry for entry in sandbox.requests() if entry["path"].startswith("/api/")]
            params = request_to(sandbox, path)
            samples: dict[str, list[float]] = {"ours": [], "direct": [], "minimal": []}
            for _ in range(round_count):
                samples["ours"].append(await median_ms(calls, partial(ours.call_tool, tool, arguments)))
                samples["direct"].append(await median_ms(calls, partial(raw.get, path, params=params)))
                samples["minimal"].append(
                    await median_ms(calls, partial(floor.call_tool, MINIMAL_TOOL, {"text": "ping"}))
                )
            ratios = [o / (d + m) for o, d, m in zip(*samples.values(), strict=True)]
            results.append(
                PerCall(
                    label,
                    rounds(samples["ours"]),
                    rounds(samples["direct"]),
                    rounds(samples["minimal"]),
                    rounds(ratios),
                    len(made),
                )
            )
    return results
