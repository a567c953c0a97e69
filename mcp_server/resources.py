"""Insights as MCP resources, for hosts that attach context: listed and read through the same tools and checks."""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import mcp_types as types
from mcp.shared.exceptions import MCPError

from mcp_server import errors, shaping
from mcp_server.app import App
from mcp_server.catalog import BY_NAME
from mcp_server.dispatch import AccountResolver, deferred_account, execute
from mcp_server.sdk import Context, request_headers

log = logging.getLogger(__name__)

P = TypeVar("P")
R = TypeVar("R")

TEMPLATE = "posthog://insights/{short_id}"
SHORT_ID = re.compile(r"[A-Za-z0-9]+")
URI = re.compile(r"^posthog://insights/([A-Za-z0-9]+)$")
MIME = "application/json"
PAGE_SIZE = 50
RESOURCE_NOT_FOUND = -32002
CODES = {"invalid": types.INVALID_PARAMS, "refused": types.INVALID_PARAMS, "not_found": RESOURCE_NOT_FOUND}


def protocol_error(exc: errors.ToolError, secrets: list[str]) -> MCPError:
    """A tool's failure as the JSON-RPC error a resource, prompt or completion request answers with."""
    return MCPError(code=CODES.get(exc.kind, types.INTERNAL_ERROR), message=errors.describe(exc, "", secrets))


def guarded(method: str, handler: Callable[[Context, P], Awaitable[R]]) -> Callable[[Context, P], Awaitable[R]]:
    """The handler, answering any unexpected failure with a JSON-RPC internal error (the SDK would send code 0)."""

    async def answer(ctx: Context, params: P) -> R:
        try:
            return await handler(ctx, params)
        except MCPError:
            raise
        except Exception as exc:
            log.exception("%s failed unexpectedly", method)
            raise MCPError(code=types.INTERNAL_ERROR, message=errors.describe(exc, method, ())) from None

    return answer


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _resource(item: Any) -> types.Resource | None:
    """An insight of the list as a resource; None for anything that is not an insight with a short_id."""
    short_id = item.get("short_id") if isinstance(item, dict) else None
    if not isinstance(short_id, str) or not SHORT_ID.fullmatch(short_id):
        return None
    return types.Resource(
        uri=TEMPLATE.format(short_id=short_id),
        name=short_id,
        title=_text(item.get("name")),
        description=_text(item.get("description")),
        mime_type=MIME,
    )


def resource_handlers(app: App, resolve: AccountResolver) -> dict[str, Any]:
    """The resources/* handlers for `Server(...)`."""

    async def list_templates(
        ctx: Context, params: types.PaginatedRequestParams | None
    ) -> types.ListResourceTemplatesResult:
        template = types.ResourceTemplate(
            uri_template=TEMPLATE,
            name="insight",
            title="PostHog insight",
            description="An insight's query, results and metadata, as insight-get returns them.",
            mime_type=MIME,
        )
        return types.ListResourceTemplatesResult(resource_templates=[template])

    async def list_resources(ctx: Context, params: types.PaginatedRequestParams | None) -> types.ListResourcesResult:
        arguments: dict[str, Any] = {"order": "-last_modified_at", "limit": PAGE_SIZE}
        if params is not None and params.cursor:
            arguments["cursor"] = params.cursor
        secrets = app.secrets()
        try:
            page = await execute(
                app, BY_NAME["insights-list"], arguments, deferred_account(resolve, request_headers(ctx), secrets)
            )
        except errors.ToolError as exc:
            if isinstance(exc, errors.Refused):
                return types.ListResourcesResult(resources=[])
            raise protocol_error(exc, secrets) from None
        resources = [resource for item in page["results"] if (resource := _resource(item)) is not None]
        return types.ListResourcesResult(resources=resources, next_cursor=page["next_cursor"])

    async def read_resource(ctx: Context, params: types.ReadResourceRequestParams) -> types.ReadResourceResult:
        uri = str(params.uri)
        match = URI.fullmatch(uri)
        if match is None:
            raise MCPError(code=RESOURCE_NOT_FOUND, message=errors.unknown_resource(uri, TEMPLATE))
        secrets = app.secrets()
        try:
            insight = await execute(
                app,
                BY_NAME["insight-get"],
                {"id": match.group(1)},
                deferred_account(resolve, request_headers(ctx), secrets),
            )
        except errors.ToolError as exc:
            raise protocol_error(exc, secrets) from None
        contents = types.TextResourceContents(
            uri=uri, mime_type=MIME, text=errors.redact(shaping.dumps(insight), secrets)
        )
        return types.ReadResourceResult(contents=[contents])

    return {
        "on_list_resource_templates": list_templates,
        "on_list_resources": guarded("resources/list", list_resources),
        "on_read_resource": guarded("resources/read", read_resource),
    }
