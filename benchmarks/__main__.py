"""Run every measurement against one sandbox served over HTTP on 127.0.0.1, print the tables, and (unless quick)
write them to docs/benchmarks.md and the summary into README.md.

Usage: uv run scripts/benchmark [--quick] [--no-write]
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import dataclass

import anyio

from benchmarks import report
from benchmarks.fixtures import posthog, prepare
from benchmarks.floor import PROXY_TOOL
from benchmarks.latency import OURS_MODULE, cold_start, launches, per_call, stdio
from benchmarks.load import Call
from benchmarks.processes import ours_over_http, proxy_over_http, server_env
from benchmarks.profile import profiles
from benchmarks.scale import scale_out
from benchmarks.sizes import count_all, results, tools_list
from benchmarks.throughput import insight_get, proxied_url, throughput
from benchmarks.tokens import Tokens
from tests.sandbox_process import sandbox_over_http


@dataclass(frozen=True)
class Plan:
    """How much of everything to measure."""

    start_pairs: int
    call_rounds: int
    calls_per_round: int
    levels: tuple[int, ...]
    seconds: float
    load_rounds: int
    profile_clients: int
    profile_seconds: float
    profile_rounds: int
    scale_levels: tuple[int, ...]


FULL = Plan(
    start_pairs=12,
    call_rounds=11,
    calls_per_round=30,
    levels=(1, 10, 50),
    seconds=4.0,
    load_rounds=3,
    profile_clients=10,
    profile_seconds=4.0,
    profile_rounds=2,
    scale_levels=(10, 50),
)
QUICK = Plan(
    start_pairs=1,
    call_rounds=2,
    calls_per_round=5,
    levels=(1, 10),
    seconds=1.0,
    load_rounds=1,
    profile_clients=10,
    profile_seconds=1.0,
    profile_rounds=1,
    scale_levels=(10,),
)


def step(text: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {text}", file=sys.stderr, flush=True)


async def measure(plan: Plan) -> report.Run:
    """Every measurement, in one run."""
    started = time.monotonic()
    machine = report.machine()
    tokens = Tokens()
    with sandbox_over_http() as sandbox:
        async with posthog(sandbox) as raw:
            fixtures = await prepare(sandbox, raw)
            default_env = server_env(sandbox)
            python = launches()[1]
            step("sizes: tools/list and results, in bytes and tokens")
            async with stdio(*python.command(OURS_MODULE), default_env) as client:
                default = await tools_list(client, "default toolsets")
                sized = await results(client, sandbox, raw, fixtures)
            async with stdio(*python.command(OURS_MODULE), server_env(sandbox, POSTHOG_MCP_TOOLSETS="all")) as client:
                everything = await tools_list(client, "all toolsets")
            count_all(tokens, [default, everything], sized)
            step("cold start over stdio, against the minimal server")
            starts = await cold_start(default_env, plan.start_pairs)
            step("per-call cost over stdio, against httpx plus the minimal server's round trip")
            calls = await per_call(
                default_env,
                sandbox,
                raw,
                [
                    ("insight-get, trends", "insight-get", {"id": fixtures.trends}, f"insights/{fixtures.trends}/"),
                    ("insights-list, 20 insights", "insights-list", {"limit": 20}, "insights/"),
                ],
                plan.call_rounds,
                plan.calls_per_round,
            )
            step("throughput over streamable HTTP, against the bare proxy")
            rows = await throughput(sandbox, fixtures, plan.levels, plan.seconds, plan.load_rounds)
            step("profile under load (py-spy)")
            proxy_command = proxy_over_http(proxied_url(sandbox, fixtures), sandbox.keys["legacy"], stateless=True)
            ours, proxy = await profiles(
                [
                    (ours_over_http(stateless=True), insight_get(fixtures)),
                    (proxy_command, Call(PROXY_TOOL, {}, fixtures.trends_short_id)),
                ],
                default_env,
                plan.profile_clients,
                plan.profile_seconds,
                plan.profile_rounds,
            )
            step("scale-out: two stateless replicas behind Caddy")
            balancer_errors: list[str] = []
            balanced = await scale_out(
                default_env, insight_get(fixtures), plan.scale_levels, plan.seconds, plan.load_rounds, balancer_errors
            )
    return report.Run(
        machine,
        tokens,
        [default, everything],
        sized,
        starts,
        calls,
        rows,
        ours,
        proxy,
        balanced,
        balancer_errors,
        plan.profile_clients,
        time.monotonic() - started,
        plan is QUICK,
    )


def main() -> None:
    """Entry point of scripts/benchmark."""
    parser = argparse.ArgumentParser(
        prog="scripts/benchmark", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="a little of everything, for a smoke run; writes nothing")
    parser.add_argument("--no-write", action="store_true", help="print the tables only")
    args = parser.parse_args()
    run = anyio.run(measure, QUICK if args.quick else FULL)
    text = report.render(run)
    print(text)
    if not (args.quick or args.no_write):
        report.write(text)
        step(f"wrote {report.RESULTS.relative_to(report.ROOT)} and the summary in README.md")


if __name__ == "__main__":
    main()
