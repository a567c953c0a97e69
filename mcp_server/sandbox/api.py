"""The PostHog API surface: routes, then authentication, scopes, the MCP cap and throttling, in PostHog's order.

Every request is logged and may meet an injected fault before any of that.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import anyio
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from mcp_server.sandbox import accounts, adhoc, elements, insight_actions, insights, taxonomy
from mcp_server.sandbox.errors import (
    ApiError,
    denied,
    method_not_allowed,
    not_found,
    parse_error,
    project_not_found,
    server_error,
    throttled,
    unauthenticated,
)
from mcp_server.sandbox.faults import drop_connection
from mcp_server.sandbox.keys import BY_VALUE, DemoKey, refusal
from mcp_server.sandbox.state import Call, Sandbox, reply

Handler = Callable[[Call], Response]
SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}
MCP_USER_AGENT_MARKER = "posthog/mcp-server"
MCP_READ_ONLY = (
    "Your organization restricts MCP access to read-only. "
    "An organization admin can change this in your organization settings."
)
PROJECT_PREFIX = re.compile(r"^/api/(?:projects|environments)/(?P<project>[^/]+)/(?P<rest>.*)$")


@dataclass(frozen=True)
class Action:
    """A handler and the scope it requires (None: declares none, so scoped keys are refused)."""

    handler: Handler
    scope: str | None
    checked: bool = True


@dataclass(frozen=True)
class Route:
    """A path pattern (relative to the project prefix when `project`) and its actions by method."""

    pattern: re.Pattern[str]
    actions: dict[str, Action] = field(default_factory=dict)
    project: bool = True


def _route(pattern: str, project: bool = True, **actions: Action) -> Route:
    return Route(re.compile(pattern + "/?$"), {m.upper(): a for m, a in actions.items()}, project)


def _model(pattern: str, scope: str, read: Handler, write: Handler, delete: Handler | None = None) -> Route:
    """A model's list route (read lists, write creates) or, with `delete`, its detail route."""
    reader, writer = Action(read, f"{scope}:read"), Action(write, f"{scope}:write")
    if delete is None:
        return _route(pattern, get=reader, post=writer)
    return _route(pattern, get=reader, patch=writer, put=writer, delete=Action(delete, f"{scope}:write"))


INSIGHT_READ, INSIGHT_WRITE, ELEMENT_READ = "insight:read", "insight:write", "element:read"
# Action routes come before the detail routes they would otherwise be mistaken for.
ROUTES = (
    _route(r"^/api/personal_api_keys/@current", project=False, get=Action(accounts.current_key, None, False)),
    _route(r"^/api/users/@me", project=False, get=Action(accounts.me, "user:read")),
    _model(r"^insights", "insight", insights.list_insights, insights.create_insight),
    _route(r"^insights/my_last_viewed", get=Action(insight_actions.my_last_viewed, None)),
    _route(r"^insights/viewed", post=Action(insight_actions.viewed, INSIGHT_READ)),
    _route(r"^insights/cancel", post=Action(insight_actions.cancel, None)),
    _route(r"^insights/generate_metadata", post=Action(insight_actions.generate_metadata, INSIGHT_WRITE)),
    _route(r"^insights/activity", get=Action(insight_actions.all_activity, "activity_log:read")),
    _route(r"^insights/(?P<id>[^/]+)/activity", get=Action(insight_actions.insight_activity, "activity_log:read")),
    _model(
        r"^insights/(?P<id>[^/]+)",
        "insight",
        insights.retrieve_insight,
        insights.update_insight,
        insights.destroy_insight,
    ),
    _model(r"^elements", "element", elements.list_elements, elements.create_element),
    _route(r"^elements/stats", get=Action(elements.stats, ELEMENT_READ)),
    _route(r"^elements/values", get=Action(elements.values, ELEMENT_READ)),
    _model(
        r"^elements/(?P<id>[^/]+)",
        "element",
        elements.retrieve_element,
        elements.update_element,
        elements.delete_element,
    ),
    # posthog/api/query.py counts running, reading and cancelling a query all as query:read.
    _route(r"^query", post=Action(adhoc.run_query, "query:read")),
    _route(
        r"^query/(?P<id>[^/]+)",
        get=Action(adhoc.query_status, "query:read"),
        delete=Action(adhoc.cancel_query, "query:read"),
    ),
    _route(r"^event_definitions", get=Action(taxonomy.list_event_definitions, "event_definition:read")),
    _route(r"^property_definitions", get=Action(taxonomy.list_property_definitions, "property_definition:read")),
    _route(r"^dashboards", get=Action(taxonomy.list_dashboards, "dashboard:read")),
)


def _resolve(path: str) -> tuple[Route, dict[str, str], str | None]:
    """The route for a path, its parameters, and the raw project id (None off the project prefix)."""
    project = PROJECT_PREFIX.match(path)
    relative, raw_project = (project.group("rest"), project.group("project")) if project else (path, None)
    for route in ROUTES:
        if route.project != (raw_project is not None):
            continue
        match = route.pattern.match(relative)
        if match:
            return route, match.groupdict(), raw_project
    raise not_found()


def _authenticate(request: Request, body: Any) -> DemoKey:
    """PersonalAPIKeyAuthentication: the Bearer header, then the body, then the query string."""
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    sources: list[tuple[str, str]] = []
    if scheme.lower() == "bearer" and token.strip() and not token.strip().startswith("pha_"):
        sources.append(("Authorization header", token.strip()))
    if isinstance(body, dict) and isinstance(body.get("personal_api_key"), str):
        sources.append(("body", body["personal_api_key"]))
    if "personal_api_key" in request.query_params:
        sources.append(("query string", request.query_params["personal_api_key"]))
    if not sources:
        raise unauthenticated(None)
    source, value = sources[0]
    key = BY_VALUE.get(value)
    if key is None:
        raise unauthenticated(source)
    return key


def _project(sandbox: Sandbox, raw: str | None) -> int:
    if raw is None:
        return 0
    if not raw.isdigit() or sandbox.store.project(int(raw)) is None:
        raise project_not_found()
    return int(raw)


def _body(raw: bytes) -> Any:
    if not raw.strip():
        return None
    try:
        return json.loads(raw)
    except ValueError as exc:
        raise parse_error(f"JSON parse error - {exc}") from exc


def answer(sandbox: Sandbox, request: Request, raw_body: bytes) -> Response:
    """PostHog's answer to one request, errors included."""
    try:
        route, params, raw_project = _resolve(request.url.path)
        try:
            body = _body(raw_body)
        except ApiError:
            body = None
        key = _authenticate(request, body)
        project_id = _project(sandbox, raw_project)
        action = route.actions.get(request.method)
        scope = action.scope if action else None
        if action is None or action.checked:
            reason = refusal(key, scope, project_id or None)
            if reason:
                raise denied(reason)
        writes = (scope or "").endswith(":write") or (scope is None and request.method not in SAFE_METHODS)
        user_agent = request.headers.get("user-agent", "")
        if sandbox.mcp_read_only_org and writes and MCP_USER_AGENT_MARKER in user_agent:
            raise denied(MCP_READ_ONLY)
        if sandbox.limiter is not None:
            wait = sandbox.limiter.wait(key.key)
            if wait is not None:
                raise throttled(wait)
        if action is None:
            raise method_not_allowed(request.method)
        call = Call(sandbox, request, key, project_id, params, _body(raw_body), sandbox.now())
        with sandbox.store.transaction():
            return action.handler(call)
    except ApiError as error:
        return reply(error.body(), error.status, error.headers)
    except Exception:
        return reply(server_error().body(), 500)


class PostHogApi:
    """The ASGI app behind every non-control path: log, maybe misbehave, then answer as PostHog."""

    def __init__(self, sandbox: Sandbox) -> None:
        self.sandbox = sandbox

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        request = Request(scope, receive)
        raw_body = await request.body()
        entry = self.sandbox.requests.record(request, raw_body)
        fault = self.sandbox.faults.take(request.method, request.url.path)
        if fault is not None:
            entry["fault"] = fault.kind
        if fault is not None and fault.kind == "delay":
            await anyio.sleep(fault.seconds)
        if fault is not None and fault.kind in ("status", "rate_limit", "malformed_json"):
            response = fault.response()
        elif fault is not None and fault.kind == "drop":
            if fault.processed:
                answer(self.sandbox, request, raw_body)
            await drop_connection(send)
            return
        else:
            response = answer(self.sandbox, request, raw_body)
        entry["status"] = response.status_code
        await response(scope, receive, send)
