"""Scale-out: stateless replicas of the server behind Caddy, an off-the-shelf load balancer fetched from PyPI."""

from __future__ import annotations

import json
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from functools import partial
from pathlib import Path

from benchmarks.load import Call, Window, alternately, drive, warm
from benchmarks.processes import CADDY, fetched_tool, free_port, http_server, ours_over_http
from benchmarks.stats import Figure, percentile, rounds

CADDYFILE = """\
{{
\tadmin off
\tauto_https off
\tpersist_config off
\tdefault_bind 127.0.0.1
}}
http://127.0.0.1:{both} {{
\treverse_proxy {upstreams} {{
\t\tlb_policy round_robin
\t\ttransport http {{
\t\t\tkeepalive off
\t\t}}
\t}}
}}
http://127.0.0.1:{one} {{
\treverse_proxy {first} {{
\t\ttransport http {{
\t\t\tkeepalive off
\t\t}}
\t}}
}}
"""
# Keep-alive to the replicas is off: Caddy reusing an upstream connection just as it closes fails that request
# (a POST, which Caddy does not resend), about once in 2,000 calls.


@contextmanager
def caddy(upstreams: list[str], errors: list[str]) -> Iterator[tuple[str, str]]:
    """Caddy on two free ports of 127.0.0.1: round-robin over every upstream, and the first upstream alone.
    Yields the two MCP URLs; on the way out, adds the errors Caddy logged to `errors`."""
    binary = fetched_tool(CADDY, "caddy")
    both, one = free_port(), free_port()
    with tempfile.TemporaryDirectory() as folder:
        config = Path(folder) / "Caddyfile"
        config.write_text(CADDYFILE.format(both=both, one=one, upstreams=" ".join(upstreams), first=upstreams[0]))
        home = {"HOME": folder, "XDG_DATA_HOME": folder, "XDG_CONFIG_HOME": folder}
        with (Path(folder) / "caddy.log").open("w") as log:
            process = subprocess.Popen(
                [binary, "run", "--config", str(config), "--adapter", "caddyfile"],
                stdout=log,
                stderr=subprocess.STDOUT,
                env=home,
            )
            try:
                for port in (both, one):
                    listening(port, process, Path(folder) / "caddy.log")
                yield f"http://127.0.0.1:{both}/mcp", f"http://127.0.0.1:{one}/mcp"
            finally:
                process.terminate()
                process.wait(15)
                errors += logged_errors(Path(folder) / "caddy.log")


def logged_errors(log: Path) -> list[str]:
    """The message and error of each line Caddy logged at level error."""
    found = []
    for line in log.read_text().splitlines():
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        if isinstance(entry, dict) and entry.get("level") == "error":
            found.append(f"{entry.get('msg')}: {entry.get('error', '')}")
    return found


def listening(port: int, process: subprocess.Popen[bytes], log: Path) -> None:
    """Wait until something accepts connections on the port, or the process exits."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and process.poll() is None:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"Caddy did not listen on {port}:\n{log.read_text()}")


@dataclass(frozen=True)
class Balanced:
    """Calls through the load balancer at one number of clients, to two replicas or to one."""

    clients: int
    replicas: int
    rate: Figure
    p50: float
    p99: float
    calls: int
    errors: int
    share_of_cpu: tuple[float, ...]
    failures: tuple[str, ...]


def balanced(clients: int, replicas: int, windows: list[Window], pids: tuple[int, ...]) -> Balanced:
    """Pool the rounds: throughput per round, latencies pooled, each replica's share of the replicas' CPU time."""
    latencies = [latency for window in windows for latency in window.latencies]
    cpu = [sum(window.cpu[pid] for window in windows) for pid in pids]
    return Balanced(
        clients,
        replicas,
        rounds([window.rate for window in windows]),
        percentile(latencies, 0.5),
        percentile(latencies, 0.99),
        sum(window.calls for window in windows),
        sum(window.errors for window in windows),
        tuple(share / sum(cpu) for share in cpu) if sum(cpu) else (),
        tuple(reason for window in windows for reason in window.failures),
    )


async def scale_out(
    env: dict[str, str], call: Call, levels: tuple[int, ...], seconds: float, round_count: int, errors: list[str]
) -> list[Balanced]:
    """Two stateless replicas behind Caddy, against one replica behind the same Caddy, alternately (`seconds` each,
    in two halves). Caddy's logged errors are added to `errors`."""
    with ExitStack() as stack:
        replicas = [stack.enter_context(http_server(ours_over_http(stateless=True), env)) for _ in range(2)]
        upstreams = [replica.url.removeprefix("http://").removesuffix("/mcp") for replica in replicas]
        both, one = stack.enter_context(caddy(upstreams, errors))
        await warm(both, call, 4)
        await warm(one, call)
        pids = tuple(replica.pid for replica in replicas)
        measured: dict[tuple[int, int], list[Window]] = {}
        for _ in range(round_count):
            for clients in levels:
                windows = await alternately(
                    partial(drive, both, clients, seconds / 2, call, watch=pids),
                    partial(drive, one, clients, seconds / 2, call, watch=pids),
                )
                for count, window in zip((2, 1), windows, strict=True):
                    measured.setdefault((clients, count), []).append(window)
    return [balanced(clients, count, windows, pids[:count]) for (clients, count), windows in sorted(measured.items())]
