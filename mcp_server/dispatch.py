"""One tool call: the configuration's and the key's refusals, argument validation, then the adapter."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from pydantic import ValidationError

from mcp_server import errors, pages
from mcp_server.access import configured_refusal
from mcp_server.accounts import Account
from mcp_server.app import App
from mcp_server.catalog import Tool

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
