"""One tool call: the configuration's and the key's refusals, argument validation, then the adapter."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any

from pydantic import ValidationError

from mcp_server import errors, pages
from mcp_server.access import EVERYTHING, configured_refusal, usable
from mcp_server.accounts import Account
from mcp_server.app import App
from mcp_server.catalog import Tool

log = logging.getLogger(__name__)

AccountResolver = Callable[[Mapping[str, str] | None], Account]
"""Picks a request's PostHog account from its HTTP headers (None over stdio)."""


def deferred_account(
    resolve: AccountResolver, headers: Mapping[str, str] | None, secrets: list[str]
) -> Callable[[], Account]:
    """The request's account, resolved only once the arguments are valid; its key joins the secrets to redact."""

    def account() -> Account:
        chosen = resolve(headers)
        secrets.append(chosen.key)
        return chosen

    return account


def validate(tool: Tool, arguments: Any) -> Any:
    """The tool's arguments as its model, or a ToolError naming each failing field."""
    if arguments is None:
        arguments = {}
    if not isinstance(arguments, dict):
        raise errors.arguments_not_object(tool.name)
    if tool.page is not None:
        arguments = pages.with_carried_arguments(tool.name, arguments)
    try:
        return tool.arguments.model_validate(arguments)
    except ValidationError as exc:
        raise errors.invalid_arguments(tool.name, exc, list(tool.arguments.model_fields)) from None


async def execute(app: App, tool: Tool, arguments: Any, account: Callable[[], Account]) -> dict[str, Any]:
    """Run one tool, refusing what the configuration, the arguments or the key's scopes forbid (ToolError)."""
    refusal = configured_refusal(tool, app.settings)
    if refusal is not None:
        raise refusal
    args = validate(tool, arguments)
    with app.client.one_call():
        chosen = account()
        grant = await chosen.grant()
        refusal = grant.refusal(tool)
        if refusal is not None:
            raise refusal
        return await app.backend.run(tool, args, chosen, grant.request(tool))


async def offered_tools(app: App, resolve: AccountResolver, headers: Mapping[str, str] | None) -> tuple[Tool, ...]:
    """The tools a request sees: the configuration's, less those the key's scopes rule out when they are known."""
    try:
        grant = await resolve(headers).grant()
    except errors.ToolError:
        grant = EVERYTHING
    except Exception:
        # The scope look-up is only a filter: when it breaks, offer what the configuration offers.
        log.exception("the scope look-up failed unexpectedly")
        grant = EVERYTHING
    return tuple(usable(app.tools, grant))
