"""Which tools a configuration and an API key may use: toolsets, the allow-list, read-only mode and scopes."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from mcp_server import errors
from mcp_server.catalog import DEFAULT_TOOLSETS, TOOLS, TOOLSETS, Request, Tool
from mcp_server.config import ConfigError, Settings


@dataclass(frozen=True)
class Grant:
    """What PostHog lets a key do, from `/api/personal_api_keys/@current/`.

    `scopes` is None when the look-up failed: nothing is filtered, and PostHog's own 403 speaks.
    """

    scopes: frozenset[str] | None
    scoped_teams: tuple[int, ...] = ()

    @classmethod
    def from_key(cls, key_info: Mapping[str, Any]) -> Grant:
        """Read a personal API key object as PostHog returns it."""
        scopes = key_info.get("scopes") or []
        teams = key_info.get("scoped_teams") or []
        return cls(
            frozenset(str(s) for s in scopes if isinstance(s, str)),
            tuple(t for t in teams if isinstance(t, int) and not isinstance(t, bool)),
        )

    @property
    def unrestricted(self) -> bool:
        """A legacy unscoped key (no scopes, or `*`), or an unknown one: PostHog decides."""
        return self.scopes is None or not self.scopes or "*" in self.scopes

    def allows(self, scope: str) -> bool:
        """Whether the key holds `scope`; `X:write` implies `X:read`."""
        if self.unrestricted:
            return True
        assert self.scopes is not None
        if scope in self.scopes:
            return True
        resource, _, action = scope.partition(":")
        return action == "read" and f"{resource}:write" in self.scopes

    def _opens(self, request: Request) -> bool:
        """Whether PostHog is sure to accept this key on the request (a legacy-only one: only legacy keys)."""
        if request.scope is None:
            return self.scopes is None or not self.scopes
        return self.allows(request.scope)

    def request(self, tool: Tool) -> Request:
        """The tool's own request, or its fallback when only that one is open to the key."""
        fallback = tool.fallback
        if fallback is not None and not self._opens(tool.request) and self._opens(fallback):
            return fallback
        return tool.request

    def refusal(self, tool: Tool) -> errors.ToolError | None:
        """Why the key cannot call the tool, or None when it can."""
        if tool.fallback is not None and self._opens(tool.fallback):
            return None
        if tool.scope is None:
            if self.unrestricted:
                # A `*` key may be a legacy one, so let it try.
                return None
            if tool.fallback is not None and tool.fallback.scope is not None:
                return errors.scope_missing(tool.name, tool.fallback.scope, self.scopes or ())
            return errors.legacy_key_only(tool.name)
        if self.allows(tool.scope):
            return None
        return errors.scope_missing(tool.name, tool.scope, self.scopes or ())


EVERYTHING = Grant(None)


def chosen_toolsets(settings: Settings) -> frozenset[str]:
    """The toolsets the configuration chooses (the default ones unless --toolsets says otherwise)."""
    return settings.toolsets if settings.toolsets is not None else frozenset(DEFAULT_TOOLSETS)


def describe_choice(settings: Settings) -> str:
    """Which toolsets or named tools the configuration offers, in one line."""
    if settings.tools is not None:
        return "tools: exactly those --tools names (toolsets do not apply)"
    chosen = [name for name in TOOLSETS if name in chosen_toolsets(settings)]
    default = "" if settings.toolsets is not None else " (the default)"
    return f"toolsets: {', '.join(chosen)}{default}, of {', '.join(TOOLSETS)}"


def configured_refusal(tool: Tool, settings: Settings) -> errors.ToolError | None:
    """Why this configuration leaves the tool out, or None; --tools, when given, replaces the toolsets."""
    if settings.tools is not None:
        if tool.name not in settings.tools:
            return errors.not_allowed(tool.name)
    elif tool.toolset not in chosen_toolsets(settings):
        return errors.not_in_toolsets(tool.name, tool.toolset)
    if settings.read_only and not tool.read_only:
        return errors.read_only(tool.name)
    return None


def check_some_tool(settings: Settings) -> None:
    """Refuse a configuration that leaves no tool at all, saying which setting left out which tools."""
    left_out: dict[str, list[str]] = {}
    for tool in TOOLS:
        refusal = configured_refusal(tool, settings)
        if refusal is None:
            return
        left_out.setdefault(refusal.reason, []).append(tool.name)
    raise ConfigError(errors.no_tool_left(left_out))


def configured_tools(settings: Settings) -> tuple[Tool, ...]:
    """The tools the configuration exposes, before any key is asked."""
    return tuple(tool for tool in TOOLS if configured_refusal(tool, settings) is None)


def usable(tools: Iterable[Tool], grant: Grant) -> list[Tool]:
    """The tools a key may call."""
    return [tool for tool in tools if grant.refusal(tool) is None]
