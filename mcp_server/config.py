"""Settings: environment variables first, command-line flags override, with start-up checks."""

from __future__ import annotations

import difflib
import ipaddress
import os
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import urlsplit

from mcp_server.posthog import DEFAULT_MAX_REPLY

Transport = Literal["stdio", "sse", "http"]

HOST_SHORTHANDS = {"us": "https://us.posthog.com", "eu": "https://eu.posthog.com"}
INGESTION_HOSTS = {"us.i.posthog.com": "us", "eu.i.posthog.com": "eu"}
PLACEHOLDER = re.compile(r"\$\{[^}]*\}")
SHOWN_NAMES = 5  # unknown names an error echoes


class ConfigError(Exception):
    """A configuration mistake, with a message that names the fix."""


@dataclass(frozen=True)
class Option:
    """One setting: its flag, the environment variables it reads, and how to parse it."""

    name: str
    flag: str
    env: tuple[str, ...]
    kind: Literal["str", "int", "float", "bool", "list"]
    help: str
    metavar: str | None = None


OPTIONS: tuple[Option, ...] = (
    Option(
        "api_key",
        "--api-key",
        ("POSTHOG_PERSONAL_API_KEY", "POSTHOG_API_KEY"),
        "str",
        "PostHog personal API key (phx_...). Prefer the environment variable: flags show in `ps`.",
        "KEY",
    ),
    Option(
        "posthog_host",
        "--posthog-host",
        ("POSTHOG_HOST",),
        "str",
        "PostHog base URL, or `us` / `eu` (default: us).",
        "URL",
    ),
    Option("project_id", "--project-id", ("POSTHOG_PROJECT_ID",), "int", "Numeric PostHog project id.", "ID"),
    Option("read_only", "--read-only", ("POSTHOG_MCP_READ_ONLY",), "bool", "Expose only read-only tools."),
    Option(
        "toolsets",
        "--toolsets",
        ("POSTHOG_MCP_TOOLSETS",),
        "list",
        "Groups of tools to offer: insights, elements, elements-legacy or all (default insights,elements).",
        "SET,...",
    ),
    Option(
        "tools",
        "--tools",
        ("POSTHOG_MCP_TOOLS",),
        "list",
        "Comma-separated tool names to offer exactly, whatever their set (overrides --toolsets).",
        "NAME,...",
    ),
    Option(
        "transport", "--transport", ("POSTHOG_MCP_TRANSPORT",), "str", "stdio (default), sse or http.", "stdio|sse|http"
    ),
    Option(
        "host", "--host", ("POSTHOG_MCP_HOST",), "str", "Address the HTTP transports bind (default 127.0.0.1).", "ADDR"
    ),
    Option(
        "port",
        "--port",
        ("POSTHOG_MCP_PORT",),
        "int",
        "Port the HTTP transports bind (default 8000; 0 picks a free port).",
        "PORT",
    ),
    Option(
        "sandbox",
        "--sandbox",
        ("POSTHOG_MCP_SANDBOX",),
        "bool",
        "Serve the embedded PostHog sandbox with demo data instead of a real PostHog.",
    ),
    Option(
        "sandbox_db",
        "--sandbox-db",
        ("POSTHOG_MCP_SANDBOX_DB",),
        "str",
        "SQLite file that keeps the sandbox's state across runs (default: in memory).",
        "PATH",
    ),
    Option(
        "response_budget",
        "--response-budget",
        ("POSTHOG_MCP_RESPONSE_BUDGET",),
        "int",
        "Largest tool result, in characters of JSON (default 40000).",
        "CHARS",
    ),
    Option(
        "timeout",
        "--timeout",
        ("POSTHOG_MCP_TIMEOUT",),
        "float",
        "Seconds to wait for one PostHog answer (default 60).",
        "SECONDS",
    ),
    Option(
        "progress_interval",
        "--progress-interval",
        ("POSTHOG_MCP_PROGRESS_INTERVAL",),
        "float",
        "Seconds between progress notifications on long calls (default 2).",
        "SECONDS",
    ),
    Option(
        "auth_token",
        "--auth-token",
        ("POSTHOG_MCP_AUTH_TOKEN",),
        "str",
        "Bearer token HTTP clients must present (required on a non-loopback bind).",
        "TOKEN",
    ),
    Option(
        "allowed_hosts",
        "--allowed-hosts",
        ("POSTHOG_MCP_ALLOWED_HOSTS",),
        "list",
        "Host header values the HTTP transports accept (port-less forms included).",
        "HOST,...",
    ),
    Option(
        "allowed_origins",
        "--allowed-origins",
        ("POSTHOG_MCP_ALLOWED_ORIGINS",),
        "list",
        "Origin header values the HTTP transports accept.",
        "ORIGIN,...",
    ),
    Option(
        "per_request_keys",
        "--per-request-keys",
        ("POSTHOG_MCP_PER_REQUEST_KEYS",),
        "bool",
        "HTTP: each request carries its user's PostHog key in X-PostHog-Api-Key.",
    ),
    Option(
        "stateless",
        "--stateless",
        ("POSTHOG_MCP_STATELESS",),
        "bool",
        "HTTP: no server-side sessions, so any replica can serve any request.",
    ),
    Option(
        "max_body",
        "--max-body",
        ("POSTHOG_MCP_MAX_BODY",),
        "int",
        "Largest HTTP request body in bytes (default 1048576).",
        "BYTES",
    ),
    Option(
        "max_reply",
        "--max-reply",
        ("POSTHOG_MCP_MAX_REPLY",),
        "int",
        "Most bytes read from one PostHog answer; a longer one is refused (default 20000000).",
        "BYTES",
    ),
    Option(
        "shutdown_grace",
        "--shutdown-grace",
        ("POSTHOG_MCP_SHUTDOWN_GRACE",),
        "float",
        "Seconds in-flight HTTP calls get to finish after SIGTERM (default 30).",
        "SECONDS",
    ),
    Option(
        "log_level",
        "--log-level",
        ("POSTHOG_MCP_LOG_LEVEL",),
        "str",
        "debug, info, warning (default) or error; logs go to stderr.",
        "LEVEL",
    ),
)

TRUE_WORDS = {"1", "true", "yes", "on"}
FALSE_WORDS = {"0", "false", "no", "off"}


@dataclass(frozen=True)
class Settings:
    """Everything the server needs to know, validated."""

    api_key: str | None = field(default=None, repr=False)
    posthog_host: str = HOST_SHORTHANDS["us"]
    project_id: int | None = None
    read_only: bool = False
    tools: frozenset[str] | None = None
    toolsets: frozenset[str] | None = None
    """The chosen toolsets, `all` expanded; None means the default ones."""
    transport: Transport = "stdio"
    host: str = "127.0.0.1"
    port: int = 8000
    sandbox: bool = False
    sandbox_db: str | None = None
    response_budget: int = 40_000
    timeout: float = 60.0
    progress_interval: float = 2.0
    auth_token: str | None = field(default=None, repr=False)
    allowed_hosts: tuple[str, ...] = ()
    allowed_origins: tuple[str, ...] = ()
    per_request_keys: bool = False
    stateless: bool = False
    max_body: int = 1_048_576
    max_reply: int = DEFAULT_MAX_REPLY
    shutdown_grace: float = 30.0
    log_level: str = "warning"

    @property
    def loopback_bind(self) -> bool:
        """Whether the HTTP transports bind only to this machine."""
        return is_loopback(self.host)


def is_loopback(host: str) -> bool:
    """True for localhost and loopback IP addresses."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _parse(option: Option, raw: str, source: str) -> Any:
    """The raw text as the option's kind (its type follows `option.kind`, hence Any)."""
    if PLACEHOLDER.search(raw):
        raise ConfigError(
            f"{source} is the unsubstituted placeholder {raw!r}: the MCP host did not fill it in. "
            "Set the value in the host's settings for this server, or remove the setting."
        )
    if option.kind == "bool":
        word = raw.strip().lower()
        if word in TRUE_WORDS:
            return True
        if word in FALSE_WORDS:
            return False
        raise ConfigError(f"{source} must be true or false (1/0, yes/no), not {raw!r}.")
    if option.kind in ("int", "float"):
        try:
            return int(raw.strip()) if option.kind == "int" else float(raw.strip())
        except ValueError:
            expected = "a whole number" if option.kind == "int" else "a number"
            raise ConfigError(f"{source} must be {expected}, not {raw!r}.") from None
    if option.kind == "list":
        return tuple(item.strip() for item in raw.split(",") if item.strip())
    return raw.strip()


def gather(flags: Mapping[str, object], environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    """Raw values per option: a flag wins over the environment; an empty variable counts as unset."""
    environ = os.environ if environ is None else environ
    values: dict[str, Any] = {}
    for option in OPTIONS:
        flag_value = flags.get(option.name)
        if flag_value is not None:
            if isinstance(flag_value, str):
                values[option.name] = _parse(option, flag_value, option.flag)
            else:
                values[option.name] = flag_value
            continue
        for var in option.env:
            raw = environ.get(var, "")
            if raw.strip():
                values[option.name] = _parse(option, raw, var)
                break
    return values


def load(flags: Mapping[str, object], environ: Mapping[str, str] | None = None) -> Settings:
    """Settings from flags and environment, checked for the mistakes people make."""
    values = gather(flags, environ)
    api_key = values.get("api_key")
    if isinstance(api_key, str):
        check_api_key(api_key)
    host = normalise_host(str(values.get("posthog_host") or "us"))
    project_id = values.get("project_id")
    if isinstance(project_id, int) and project_id < 1:
        raise ConfigError(f"POSTHOG_PROJECT_ID must be a positive project number, not {project_id}.")
    transport = values.get("transport", "stdio")
    if transport not in ("stdio", "sse", "http"):
        raise ConfigError(f"--transport must be stdio, sse or http, not {transport!r}.")
    port = values.get("port", 8000)
    if not isinstance(port, int) or not 0 <= port <= 65535:
        raise ConfigError(f"--port must be between 0 and 65535, not {port}.")
    for name in ("response_budget", "max_body", "max_reply"):
        number = values.get(name)
        if isinstance(number, int) and number < 1000:
            raise ConfigError(f"--{name.replace('_', '-')} must be at least 1000, not {number}.")
    for name in ("timeout", "progress_interval", "shutdown_grace"):
        number = values.get(name)
        if isinstance(number, float) and number <= 0:
            raise ConfigError(f"--{name.replace('_', '-')} must be more than 0 seconds, not {number}.")
    level = str(values.get("log_level", "warning")).lower()
    if level not in ("debug", "info", "warning", "error"):
        raise ConfigError(f"--log-level must be debug, info, warning or error, not {level!r}.")
    tools = values.get("tools")
    if isinstance(tools, tuple):
        check_tool_names(tools)
    toolsets = values.get("toolsets")
    if isinstance(toolsets, tuple):
        toolsets = check_toolset_names(toolsets)
    token = values.get("auth_token")
    if isinstance(token, str) and len(token) < 16:
        raise ConfigError(
            "POSTHOG_MCP_AUTH_TOKEN is too short to be a secret: use at least 16 random characters "
            "(for example the output of `openssl rand -hex 32`)."
        )
    settings = Settings(
        **{k: v for k, v in values.items() if k not in ("posthog_host", "tools", "toolsets", "log_level")},
        posthog_host=host,
        tools=frozenset(tools) if isinstance(tools, tuple) else None,
        toolsets=toolsets if isinstance(toolsets, frozenset) else None,
        log_level=level,
    )
    from mcp_server.access import check_some_tool

    check_some_tool(settings)
    return settings


def check_tool_names(names: tuple[str, ...]) -> None:
    """Refuse an allow-list naming tools that do not exist, suggesting the near misses."""
    from mcp_server.catalog import BY_NAME

    if not names:
        raise ConfigError("--tools / POSTHOG_MCP_TOOLS names no tools: list some, or leave it unset to offer all.")
    unknown = [name for name in names if name not in BY_NAME]
    if unknown:
        raise ConfigError(
            f"--tools / POSTHOG_MCP_TOOLS names unknown tools: {_near_misses(unknown, list(BY_NAME))}. "
            f"Known tools: {', '.join(BY_NAME)}."
        )


def check_toolset_names(names: tuple[str, ...]) -> frozenset[str]:
    """The toolsets a list names, refusing unknown names with the near misses."""
    from mcp_server.catalog import ALL, TOOLSETS, expand_toolsets

    known = [*TOOLSETS, ALL]
    if not names:
        raise ConfigError(
            f"--toolsets / POSTHOG_MCP_TOOLSETS names no toolset: list some of {', '.join(known)}, or leave it unset."
        )
    unknown = [name for name in names if name not in known]
    if unknown:
        raise ConfigError(
            f"--toolsets / POSTHOG_MCP_TOOLSETS names unknown toolsets: {_near_misses(unknown, known)}. "
            f"Known toolsets: {', '.join(known)}."
        )
    return expand_toolsets(names)


def _near_misses(unknown: list[str], known: list[str]) -> str:
    """A few of the unknown names, each cut short (a name can be huge), with the known name each may mean."""
    hints = []
    for name in unknown[:SHOWN_NAMES]:
        # difflib is quadratic in a name's length, and no known name is long.
        close = difflib.get_close_matches(name, known, n=1) if len(name) <= 100 else []
        shown = repr(name if len(name) <= 60 else name[:60] + "...")
        hints.append(shown + (f" (did you mean {close[0]!r}?)" if close else ""))
    more = f" and {len(unknown) - SHOWN_NAMES} more" if len(unknown) > SHOWN_NAMES else ""
    return ", ".join(hints) + more


def check_api_key(key: str) -> None:
    """Refuse keys that cannot work, naming what to use instead (never echoing the key)."""
    if key.startswith("phc_"):
        raise ConfigError(
            "The API key is a project API key (phc_...), which only sends events. This server needs a "
            "personal API key (phx_...): create one in PostHog under Settings > Personal API keys "
            "and set POSTHOG_PERSONAL_API_KEY to it."
        )
    kind = unusable_key_character(key)
    if kind:
        raise ConfigError(
            f"The API key contains {kind}, which PostHog keys never hold: copy the key again from PostHog > Settings "
            "> Personal API keys, without spaces or line breaks, and set POSTHOG_PERSONAL_API_KEY to it."
        )


def unusable_key_character(key: str) -> str | None:
    """The kind of the first character no PostHog key holds (keys are printable ASCII), never which one or where."""
    for char in key:
        if "!" <= char <= "~":
            continue
        if char.isspace():
            return "whitespace (a space or line break)"
        category = unicodedata.category(char)
        if category == "Cf":
            return "an invisible character (such as a zero-width space or byte-order mark)"
        if category.startswith("C"):
            return "a control character"
        return "a non-ASCII character (such as an accented letter or a typographic quote)"
    return None


def normalise_host(raw: str) -> str:
    """A PostHog base URL from `us`, `eu` or any http(s) URL, refusing the ingestion hosts."""
    value = raw.strip()
    if value.lower() in HOST_SHORTHANDS:
        return HOST_SHORTHANDS[value.lower()]
    if "://" not in value:
        value = "https://" + value
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(f"POSTHOG_HOST must be `us`, `eu` or an http(s) URL, not {raw!r}.")
    region = INGESTION_HOSTS.get(parts.hostname.lower())
    if region:
        raise ConfigError(
            f"POSTHOG_HOST {raw!r} is PostHog's event ingestion host, which does not serve the API. "
            f"Use `{region}` (that is, {HOST_SHORTHANDS[region]}) instead."
        )
    return value.rstrip("/")
