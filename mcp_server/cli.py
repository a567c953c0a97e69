"""The `posthog-mcp` command: serve MCP, or call one tool, list tools, check the set-up, serve the sandbox."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

import anyio

from mcp_server import __version__, errors
from mcp_server.config import OPTIONS, ConfigError, Settings, load

log = logging.getLogger("mcp_server")

EPILOG = """\
commands:
  (none)            serve MCP (stdio unless --transport)
  call TOOL [JSON]  run one tool through an MCP client session and print its result
  tools             list the tools this configuration exposes
  doctor            check the host, the key, its scopes and the project
  sandbox serve     serve the sandbox PostHog API over HTTP on 127.0.0.1

Every option also reads an environment variable (see README); a flag wins over the environment.
Quick start without an account: posthog-mcp --sandbox
"""


def _options_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False, argument_default=argparse.SUPPRESS)
    for option in OPTIONS:
        env = " / ".join(option.env)
        if option.kind == "bool":
            common.add_argument(option.flag, dest=option.name, action="store_true", help=f"{option.help} [{env}]")
        else:
            common.add_argument(option.flag, dest=option.name, metavar=option.metavar, help=f"{option.help} [{env}]")
    return common


def build_parser() -> argparse.ArgumentParser:
    """The argument parser; options work before or after the subcommand."""
    common = _options_parser()
    parser = argparse.ArgumentParser(
        prog="posthog-mcp",
        description="MCP server for PostHog insights and autocapture elements.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        parents=[common],
    )
    parser.add_argument("--version", action="version", version=f"posthog-mcp {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="")
    call = commands.add_parser("call", parents=[common], help="run one tool and print its result")
    call.add_argument("tool", help="tool name, e.g. insights-list")
    call.add_argument("arguments", nargs="?", default="{}", help="tool arguments as a JSON object")
    commands.add_parser("tools", parents=[common], help="list the tools this configuration exposes")
    commands.add_parser("doctor", parents=[common], help="check the configuration against PostHog")
    sandbox = commands.add_parser("sandbox", help="the sandbox PostHog")
    sandbox_commands = sandbox.add_subparsers(dest="sandbox_command", metavar="serve", required=True)
    serve = sandbox_commands.add_parser("serve", help="serve the sandbox over HTTP (options: posthog-sandbox --help)")
    serve.add_argument("sandbox_args", nargs="*", help="--port N, --db PATH, --rate-limit N, ...")
    return parser


class RedactingFilter(logging.Filter):
    """Keeps secrets out of every log line: the server's own, and the key of the request being served."""

    def __init__(self, secrets: Sequence[str]) -> None:
        super().__init__()
        self.secrets = [s for s in secrets if s]

    def filter(self, record: logging.LogRecord) -> bool:
        """Render the message and any traceback once, with every secret replaced."""
        secrets = [*self.secrets, *errors.REQUEST_SECRETS.get()]
        message = errors.redact(record.getMessage(), secrets)
        record.msg, record.args = message, None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = errors.redact(record.exc_text, secrets)
        return True


def configure_logging(settings: Settings) -> None:
    """Log to stderr only: on stdio, stdout is the wire."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(RedactingFilter([settings.api_key or "", settings.auth_token or ""]))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.WARNING)
    log.setLevel(settings.log_level.upper())


def resolve_settings(flags: dict[str, Any], *, require_key: bool = True) -> Settings:
    """Load settings and apply the sandbox, refusing to start without a key or the sandbox."""
    settings = load(flags)
    if settings.sandbox:
        from mcp_server.sandbox import DEMO_KEYS, DEMO_PROJECT_ID, LEGACY_KEY

        demo_keys = {demo.key for demo in DEMO_KEYS.values()}
        key = settings.api_key if settings.api_key in demo_keys else LEGACY_KEY
        if settings.api_key and settings.api_key not in demo_keys:
            log.warning("--sandbox ignores the configured API key and uses the sandbox's legacy demo key")
        return replace(settings, api_key=key, project_id=DEMO_PROJECT_ID, posthog_host=SANDBOX_WEB_HOST)
    keys_per_request = settings.per_request_keys and settings.transport != "stdio"
    if require_key and not settings.api_key and not keys_per_request:
        raise ConfigError(errors.no_api_key_at_start())
    return settings


SANDBOX_WEB_HOST = "http://sandbox.posthog.invalid"


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `posthog-mcp` console script."""
    parser = build_parser()
    args = list(sys.argv[1:] if argv is None else argv)
    option_names = {option.name for option in OPTIONS}
    try:
        for index in range(len(args) - 1):
            if args[index : index + 2] == ["sandbox", "serve"] and "-h" not in args[index + 2 :]:
                # The sandbox has its own options; ours (flags before the subcommand, or variables) carry over.
                before = vars(parser.parse_args(args[:index]))
                return _serve_sandbox(load({k: v for k, v in before.items() if k in option_names}), args[index + 2 :])
        namespace = vars(parser.parse_args(args))
        command = namespace.pop("command", None)
        flags = {k: v for k, v in namespace.items() if k in option_names}
        # doctor runs without a key too: saying that one is missing is its job.
        settings = resolve_settings(flags, require_key=command != "doctor")
    except ConfigError as exc:
        print(f"posthog-mcp: {exc}", file=sys.stderr)
        return 2
    configure_logging(settings)
    try:
        return _run(command, namespace, settings)
    except ConfigError as exc:
        print(f"posthog-mcp: {exc}", file=sys.stderr)
        return 2


def _run(command: str | None, namespace: dict[str, Any], settings: Settings) -> int:
    if command == "call":
        return anyio.run(_call, settings, namespace["tool"], namespace["arguments"])
    if command == "tools":
        return anyio.run(_tools, settings)
    if command == "doctor":
        from mcp_server.doctor import run_doctor

        return anyio.run(run_doctor, settings)
    from mcp_server.transports import serve

    return serve(settings)


def _serve_sandbox(settings: Settings, sandbox_args: list[str]) -> int:
    from mcp_server.sandbox.cli import DEFAULT_PORT
    from mcp_server.sandbox.cli import main as sandbox_main

    port = settings.port if settings.port != Settings.port else DEFAULT_PORT
    given = ["--host", settings.host, "--port", str(port)]
    if settings.sandbox_db:
        given += ["--db", settings.sandbox_db]
    sandbox_main([*given, *sandbox_args])
    return 0


async def _call(settings: Settings, tool: str, raw_arguments: str) -> int:
    from mcp import Client
    from mcp.shared.exceptions import MCPError

    from mcp_server.app import App
    from mcp_server.catalog import BY_NAME
    from mcp_server.server import build_server

    try:
        arguments = json.loads(raw_arguments)
    except json.JSONDecodeError as exc:
        print(f"posthog-mcp: {errors.cli_arguments_not_json(exc)}", file=sys.stderr)
        return 2
    if not isinstance(arguments, dict):
        print(f"posthog-mcp: {errors.cli_arguments_not_object()}", file=sys.stderr)
        return 2
    if tool not in BY_NAME:
        print(f"posthog-mcp: {errors.unknown_tool(tool, list(BY_NAME))}", file=sys.stderr)
        return 2
    app = App.create(settings)
    try:
        async with Client(build_server(app), mode="legacy") as client:
            result = await client.call_tool(tool, arguments)
    except (MCPError, BaseExceptionGroup) as exc:
        # The client's task group may wrap a protocol error; anything else is not ours to explain.
        failed = exc if isinstance(exc, MCPError) else exc.subgroup(MCPError)
        if failed is None:
            raise
        first = failed if isinstance(failed, MCPError) else failed.exceptions[0]
        print(f"posthog-mcp: {first}", file=sys.stderr)
        return 2
    finally:
        await app.aclose()
    if result.is_error:
        text = " ".join(block.text for block in result.content if hasattr(block, "text"))
        print(json.dumps({"error": text}, indent=2, ensure_ascii=False))
        return 1
    print(json.dumps(result.structured_content, indent=2, ensure_ascii=False))
    return 0


async def _tools(settings: Settings) -> int:
    from mcp import Client

    from mcp_server.access import describe_choice
    from mcp_server.app import App
    from mcp_server.catalog import BY_NAME
    from mcp_server.server import build_server

    app = App.create(settings)
    try:
        async with Client(build_server(app), mode="legacy") as client:
            listed = await client.list_tools()
    finally:
        await app.aclose()
    print(describe_choice(settings))
    for mcp_tool in listed.tools:
        tool = BY_NAME[mcp_tool.name]
        kind = "read-only" if tool.read_only else "writes"
        print(f"{tool.name:28} {tool.toolset:16} {tool.scope or '(legacy key)':18} {kind:9} {tool.title}")
    return 0
