"""The floors every figure is a ratio to: the least a server on the same SDK can do.

`minimal` serves one trivial tool over stdio and knows nothing of PostHog; `proxy` serves, over streamable HTTP,
one tool that is a single httpx GET of a fixed URL and returns the body as it came. Both are the SDK's own
`MCPServer`, started the way the server under test is started.

Usage: python -m benchmarks.floor minimal
       python -m benchmarks.floor proxy --url URL --key KEY [--stateless] [--port 0]
"""

from __future__ import annotations

import argparse
import socket
import sys

MINIMAL_TOOL = "echo"
PROXY_TOOL = "get"


def serve_minimal() -> None:
    """One tool that answers its argument, over stdio."""
    from mcp.server.mcpserver import MCPServer

    server: MCPServer[object] = MCPServer("minimal", log_level="WARNING")

    @server.tool(name=MINIMAL_TOOL, description="Answer the text given.")
    def echo(text: str) -> str:
        return text

    server.run("stdio")


def serve_proxy(url: str, key: str, stateless: bool, port: int) -> None:
    """One tool that GETs `url` with `key` and answers the body, over streamable HTTP on 127.0.0.1."""
    import httpx
    import uvicorn
    from mcp.server.mcpserver import MCPServer

    http = httpx.AsyncClient(headers={"Authorization": f"Bearer {key}"})
    server: MCPServer[object] = MCPServer("proxy", log_level="WARNING")  # ours logs no line per call either

    @server.tool(name=PROXY_TOOL, description="GET the one URL this server proxies.")
    async def get() -> str:
        response = await http.get(url)
        response.raise_for_status()
        return response.text

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # as the server under test does
    sock.bind(("127.0.0.1", port))
    sock.listen(2048)
    print(f"proxy serving streamable HTTP at http://127.0.0.1:{sock.getsockname()[1]}/mcp", file=sys.stderr, flush=True)
    app = server.streamable_http_app(stateless_http=stateless)
    uvicorn.Server(uvicorn.Config(app, log_level="warning", access_log=False, log_config=None)).run(sockets=[sock])


def main() -> None:
    """Entry point: `minimal` or `proxy`."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.floor", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("minimal", help="one trivial tool over stdio")
    proxy = commands.add_parser("proxy", help="one tool that GETs a URL, over streamable HTTP")
    proxy.add_argument("--url", required=True)
    proxy.add_argument("--key", required=True)
    proxy.add_argument("--stateless", action="store_true")
    proxy.add_argument("--port", type=int, default=0)
    args = parser.parse_args()
    if args.command == "minimal":
        serve_minimal()
    else:
        serve_proxy(args.url, args.key, args.stateless, args.port)


if __name__ == "__main__":
    main()
