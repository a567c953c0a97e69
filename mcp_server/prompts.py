"""Prompts a host offers in its menu, and completion of their arguments and of the insight template's short_id.

A prompt names tools, so it is offered only while every tool it names is offered (configuration and key alike).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import mcp_types as types
from mcp.shared.exceptions import MCPError

from mcp_server import errors
from mcp_server.app import App
from mcp_server.catalog import BY_NAME
from mcp_server.dispatch import AccountResolver, deferred_account, execute, offered_tools
from mcp_server.resources import SHORT_ID, TEMPLATE, guarded, protocol_error
from mcp_server.sdk import Context, request_headers

# The most values one completion answer may carry (the MCP spec's cap).
MAX_COMPLETIONS = 100
MAX_ARGUMENT = 500
CONTROLS = re.compile(r"[\x00-\x1f\x7f]")


@dataclass(frozen=True)
class Argument:
    """One argument of a prompt; `insight` marks an insight's short_id, which completion offers."""

    name: str
    description: str
    insight: bool = False


@dataclass(frozen=True)
class Prompt:
    """A prompt: its text (a format string over its arguments) and the tools that text names."""

    name: str
    title: str
    description: str
    text: str
    tools: tuple[str, ...]
    arguments: tuple[Argument, ...] = ()

    def definition(self) -> types.Prompt:
        """The prompt as prompts/list gives it (every argument is required)."""
        arguments = [
            types.PromptArgument(name=a.name, description=a.description, required=True) for a in self.arguments
        ]
        return types.Prompt(name=self.name, title=self.title, description=self.description, arguments=arguments or None)


PROMPTS: tuple[Prompt, ...] = (
    Prompt(
        name="explain-insight",
        title="Explain an insight",
        description="What a saved insight measures, what its numbers show, and what to look at next.",
        text=(
            'Explain the PostHog insight {short_id}. Call insight-get with id "{short_id}" (with refresh=blocking if '
            "it has no results). Then say in a few sentences what it measures, what the numbers show (level, trend, "
            "change, anything unusual) and what to check next. Give its url."
        ),
        tools=("insight-get",),
        arguments=(Argument("short_id", "The insight's short_id, from its URL or insights-list.", insight=True),),
    ),
    Prompt(
        name="weekly-report",
        title="Weekly report from favourite insights",
        description="A short product report from the insights you favourited.",
        text=(
            "Write a short weekly product report. Call insights-list with favorited=true, then insight-get with "
            "refresh=blocking for each insight. Give each one line: what it shows for the last week and the change "
            "against the week before, with its url. End with the two or three changes most worth a look."
        ),
        tools=("insights-list", "insight-get"),
    ),
    Prompt(
        name="page-clicks",
        title="What users click on a page",
        description="The most clicked elements on a page, with rage and dead clicks.",
        text=(
            "What do users click on the page {url}? Call elements-stats-retrieve with a property filter on "
            "$current_url (operator icontains, type event) for that page. List the most clicked elements (text, tag, "
            "link) with their counts, point out rage and dead clicks, and say what they suggest."
        ),
        tools=("elements-stats-retrieve",),
        arguments=(Argument("url", "The page's URL, or part of it such as /pricing."),),
    ),
)

BY_PROMPT: dict[str, Prompt] = {prompt.name: prompt for prompt in PROMPTS}


def _argument(prompt: Prompt, argument: Argument, given: Mapping[str, str]) -> str:
    value = CONTROLS.sub(" ", given.get(argument.name) or "").strip()
    if not value:
        raise MCPError(code=types.INVALID_PARAMS, message=errors.prompt_argument_missing(prompt.name, argument.name))
    if argument.insight and not SHORT_ID.fullmatch(value):
        raise MCPError(code=types.INVALID_PARAMS, message=errors.not_a_short_id(value))
    return value[:MAX_ARGUMENT]


def prompt_handlers(app: App, resolve: AccountResolver) -> dict[str, Any]:
    """The prompts/* and completion/complete handlers for `Server(...)`."""

    async def offered(ctx: Context) -> dict[str, Prompt]:
        names = {tool.name for tool in await offered_tools(app, resolve, request_headers(ctx))}
        return {prompt.name: prompt for prompt in PROMPTS if names.issuperset(prompt.tools)}

    async def chosen(ctx: Context, name: str) -> Prompt:
        prompts = await offered(ctx)
        if name not in prompts:
            raise MCPError(code=types.INVALID_PARAMS, message=errors.unknown_prompt(name, list(prompts)))
        return prompts[name]

    async def list_prompts(ctx: Context, params: types.PaginatedRequestParams | None) -> types.ListPromptsResult:
        if params is not None and params.cursor:
            raise MCPError(code=types.INVALID_PARAMS, message=errors.invalid_list_cursor())
        return types.ListPromptsResult(prompts=[prompt.definition() for prompt in (await offered(ctx)).values()])

    async def get_prompt(ctx: Context, params: types.GetPromptRequestParams) -> types.GetPromptResult:
        prompt = await chosen(ctx, params.name)
        given = params.arguments or {}
        values = {argument.name: _argument(prompt, argument, given) for argument in prompt.arguments}
        message = types.PromptMessage(
            role="user", content=types.TextContent(type="text", text=prompt.text.format(**values))
        )
        return types.GetPromptResult(description=prompt.description, messages=[message])

    async def short_ids(ctx: Context, value: str) -> types.Completion:
        """Short ids of the insights whose name matches `value`, else of the newest whose short_id starts with it."""
        secrets = app.secrets()
        account = deferred_account(resolve, request_headers(ctx), secrets)
        searches = [{"search": value}] if value else []
        if not value or SHORT_ID.fullmatch(value):
            searches.append({})
        for search in searches:
            try:
                page = await execute(app, BY_NAME["insights-list"], {**search, "limit": MAX_COMPLETIONS}, account)
            except errors.Refused:
                return types.Completion(values=[])
            except errors.ToolError as exc:
                raise protocol_error(exc, secrets) from None
            found = [item.get("short_id") for item in page["results"]]
            values = [
                s for s in found if isinstance(s, str) and SHORT_ID.fullmatch(s) and (search or s.startswith(value))
            ]
            if values:
                return types.Completion(values=values, has_more=page["next_cursor"] is not None and bool(search))
        return types.Completion(values=[])

    async def complete(ctx: Context, params: types.CompleteRequestParams) -> types.CompleteResult:
        ref, argument = params.ref, params.argument
        if isinstance(ref, types.ResourceTemplateReference):
            if ref.uri != TEMPLATE or argument.name != "short_id":
                raise MCPError(code=types.INVALID_PARAMS, message=errors.unknown_completion(ref.uri))
            return types.CompleteResult(completion=await short_ids(ctx, argument.value))
        prompt = await chosen(ctx, ref.name)
        known = {a.name: a for a in prompt.arguments}
        if argument.name not in known:
            raise MCPError(code=types.INVALID_PARAMS, message=errors.unknown_completion(f"{ref.name}.{argument.name}"))
        if not known[argument.name].insight:
            return types.CompleteResult(completion=types.Completion(values=[]))
        return types.CompleteResult(completion=await short_ids(ctx, argument.value))

    return {
        "on_list_prompts": guarded("prompts/list", list_prompts),
        "on_get_prompt": guarded("prompts/get", get_prompt),
        "on_completion": guarded("completion/complete", complete),
    }
