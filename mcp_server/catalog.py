"""The tools, one declarative entry each: the single source of truth for listing, dispatch and docs."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from mcp_server import arguments as a
from mcp_server import naming as n
from mcp_server import shaping as s
from mcp_server.pages import PageStyle

TOOLSETS: dict[str, str] = {
    "insights": "saved insights and their results, ad-hoc queries, and the event, property and dashboard names",
    "elements": "click data from current autocapture",
    "elements-legacy": "PostHog's legacy element table, empty on current projects",
}
"""Each toolset, with why its tools belong together."""

DEFAULT_TOOLSETS: tuple[str, ...] = ("insights", "elements")
ALL = "all"

TOOLSETS_SETTING: dict[str, Any] = {
    "type": "string",
    "title": "Toolsets",
    "description": "Comma-separated groups of tools to offer: "
    + ", ".join(f"{name} ({why})" for name, why in TOOLSETS.items())
    + f", or {ALL}.",
    "default": ",".join(DEFAULT_TOOLSETS),
    "required": False,
}
"""The bundle's setting for the toolsets (scripts/sync-manifest writes it into manifest.json)."""


@dataclass(frozen=True)
class Request:
    """One PostHog request a tool can make: method, path under the project, and the scope PostHog requires."""

    method: str
    path: str
    scope: str | None


@dataclass(frozen=True)
class Wait:
    """How a blocking call waits for its computation within the call's deadline without tying up PostHog: it asks
    for the asynchronous `refresh` instead, then reads the computation with `poll` until it completes or the
    deadline nears, and a computation still running then is handed back by its id, never abandoned."""

    modes: Mapping[str, str]
    """The `refresh` asked for -> the asynchronous `refresh` sent instead."""
    poll: Request
    """Reads the computation; `{client_query_id}` in its path is the computation's id."""
    note: str
    """What a result still computing when the wait ends says."""


BLOCKING_AS_ASYNC: Mapping[str, str] = {"blocking": "async", "force_blocking": "force_async"}
"""RECENT_CACHE_CALCULATE_BLOCKING_IF_STALE and CALCULATE_BLOCKING_ALWAYS have these asynchronous twins
(ExecutionMode in posthog/hogql_queries/query_runner.py); only an enqueued computation can be read while it runs."""


@dataclass(frozen=True)
class Tool:
    """One PostHog operation exposed as an MCP tool."""

    name: str
    title: str
    description: str
    arguments: type[a.Arguments]
    method: str
    path: str
    scope: str | None
    read_only: bool
    destructive: bool
    idempotent: bool
    noun: str
    shape: s.Shape
    toolset: str
    page: PageStyle | None = None
    fixed_params: Mapping[str, str] = field(default_factory=dict)
    fixed_body: Mapping[str, Any] | None = None
    echo_arguments: tuple[str, ...] = ()
    """Arguments copied into the result when PostHog's reply does not carry them."""
    not_sent: frozenset[str] = frozenset()
    """Arguments that shape the result here and are never sent to PostHog."""
    result_adds: Mapping[str, Any] = field(default_factory=dict)
    """Fields added to every result, saying what was done."""
    recheck_with: str | None = None
    empty_reply: bool = False  # PostHog answers with no body; the result says what was done
    truncation_hint: str = "Raise POSTHOG_MCP_RESPONSE_BUDGET to get it whole."
    empty_notes: Mapping[str, str] = field(default_factory=dict)
    """Argument name -> a note an empty answer carries when that argument was given."""
    with_params: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    """Argument name -> fixed query parameters sent whenever that argument is given."""
    fallback: Request | None = None
    """Another request doing the same, for a scoped key its own request is not open to."""
    wait: Wait | None = None
    """How a blocking call waits for the computation it starts."""
    naming: tuple[n.Naming, ...] = ()
    """Names the result gains from other tools' listings, when the key holds their scopes."""
    output_schema: Mapping[str, Any] | None = None
    """The top-level fields every successful result conforms to (MCP outputSchema)."""

    @property
    def request(self) -> Request:
        """The tool's own request."""
        return Request(self.method, self.path, self.scope)

    @cached_property
    def input_schema(self) -> dict[str, Any]:
        """The compact JSON schema of the arguments, as the model sees it."""
        return compact_schema(self.arguments.model_json_schema())

    @property
    def max_limit(self) -> int:
        """The hard cap on `limit`, as the argument model declares it."""
        return int(self.input_schema["properties"]["limit"]["maximum"])


GUARD_LIMITS = ("maxLength", "minLength", "maxItems", "minItems", "pattern", "minimum")


def compact_schema(schema: dict[str, Any]) -> dict[str, Any]:
    """Inline `$defs`, and drop what tells the model nothing: pydantic's `title` keys, the `anyOf: [X, null]` wrapping
    of optionals, definitions' docstrings, `additionalProperties: true`, and the limits of fields marked guard-only."""
    defs = schema.get("$defs", {})

    def walk(node: Any, key: str | None = None) -> Any:
        if isinstance(node, list):
            return [walk(item) for item in node]
        if not isinstance(node, dict):
            return node
        if key == "properties":
            return {name: walk(value) for name, value in node.items()}
        if "$ref" in node:
            # A definition's description is its class docstring, written for the code rather than the model.
            target = {k: v for k, v in walk(defs[node["$ref"].split("/")[-1]]).items() if k != "description"}
            extra = {k: walk(v, k) for k, v in node.items() if k != "$ref"}
            return {**target, **extra}
        out = {k: walk(v, k) for k, v in node.items() if k not in ("title", "$defs")}
        options = out.get("anyOf")
        if isinstance(options, list) and {"type": "null"} in options and len(options) == 2:
            (inner,) = [o for o in options if o != {"type": "null"}]
            del out["anyOf"]
            out = {**inner, **out}
        if out.get("default", ...) is None:
            del out["default"]
        if out.pop(a.GUARD_ONLY, False):
            for limit in GUARD_LIMITS:
                out.pop(limit, None)
        if out.get("additionalProperties") is True:
            del out["additionalProperties"]  # JSON Schema's default
        return out

    result = walk(schema)
    assert isinstance(result, dict)
    result.pop("description", None)
    result.setdefault("properties", {})
    if not result.get("required"):
        result.pop("required", None)
    return result


_STRING: dict[str, Any] = {"type": "string"}
_STRINGS: dict[str, Any] = {"type": "array", "items": _STRING}
RESULTS_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "complete": {"type": "boolean"},
        "cut_by": _STRINGS,
        "rows": {"type": "integer"},
        "limit": {"type": "integer"},
        "last_refresh": _STRING,
        "stale": _STRING,
        "url": _STRING,
        "warnings": _STRINGS,
    },
}
"""What results of insight-get, query-run and query-get declare about themselves: complete or cut and by what,
rows and limit, when computed, whether stale, the page in PostHog; other fields are the results themselves."""

NO_ELEMENT_IDS = "PostHog's API never returns element ids, so only an id known from elsewhere works."

TOOLS: tuple[Tool, ...] = (
    Tool(
        name="insights-list",
        title="List insights",
        description=(
            "The project's saved insights, newest first, without queries or results (insight-get gives those). Items "
            "leave out favorited: false and saved: true. Dates are YYYY-MM-DD or relative, like -7d."
        ),
        arguments=a.InsightsList,
        method="GET",
        path="insights/",
        scope="insight:read",
        read_only=True,
        destructive=False,
        idempotent=True,
        noun="insight",
        shape=s.INSIGHT_SUMMARY,
        toolset="insights",
        page=PageStyle.OFFSET,
        fixed_params={"basic": "true"},
        naming=(n.DASHBOARD_NAMES,),
    ),
    Tool(
        name="insight-get",
        title="Get an insight with results",
        description=(
            "One insight by id or short_id: its query, its results when PostHog has them (result) and when they "
            "were computed (last_refresh), its metadata and url."
        ),
        arguments=a.InsightGet,
        method="GET",
        path="insights/{id}/",
        scope="insight:read",
        read_only=True,
        destructive=False,
        idempotent=True,
        noun="insight",
        shape=s.INSIGHT_DETAIL,
        toolset="insights",
        echo_arguments=("client_query_id",),
        truncation_hint="Raise POSTHOG_MCP_RESPONSE_BUDGET to get it whole; its url shows all of it in PostHog.",
        wait=Wait(
            BLOCKING_AS_ASYNC,
            Request("GET", "insights/{id}/", "insight:read"),
            "PostHog is still computing fresh results; this call stopped waiting before its deadline. Call "
            "insight-get again without refresh for them, or insight-query-cancel with this client_query_id to stop it.",
        ),
        naming=(n.DASHBOARD_NAMES, n.UNKNOWN_EVENTS),
        output_schema=RESULTS_SCHEMA,
    ),
    Tool(
        name="insight-create",
        title="Create an insight",
        description=(
            "Create and save an insight from a query. Returns its id, short_id and url; insight-get gives its results."
        ),
        arguments=a.InsightCreate,
        method="POST",
        path="insights/",
        scope="insight:write",
        read_only=False,
        destructive=False,
        idempotent=False,
        noun="insight",
        shape=s.INSIGHT_WRITTEN,
        toolset="insights",
        recheck_with="insights-list (search by name)",
        naming=(n.DASHBOARD_NAMES,),
    ),
    Tool(
        name="insight-update",
        title="Update an insight",
        description=(
            "Change an insight: only the fields given change (tags and dashboards as whole lists). Returns the "
            "updated insight."
        ),
        arguments=a.InsightUpdate,
        method="PATCH",
        path="insights/{id}/",
        scope="insight:write",
        read_only=False,
        destructive=False,
        idempotent=True,
        noun="insight",
        shape=s.INSIGHT_WRITTEN,
        toolset="insights",
        recheck_with="insight-get",
        naming=(n.DASHBOARD_NAMES,),
    ),
    Tool(
        name="insight-delete",
        title="Delete an insight",
        description=(
            "Soft-delete an insight: it leaves lists, dashboards and insight-get. insight-update with deleted=false "
            "restores it."
        ),
        arguments=a.InsightRef,
        method="PATCH",
        path="insights/{id}/",
        scope="insight:write",
        read_only=False,
        destructive=True,
        idempotent=True,
        noun="insight",
        shape=s.INSIGHT_DELETED,
        toolset="insights",
        fixed_body={"deleted": True},
        recheck_with="insight-get",
    ),
    Tool(
        name="insights-activity-retrieve",
        title="Insight change history",
        description=(
            "One insight's change history, newest first: who created, updated, deleted or restored it, when, and "
            "which fields changed."
        ),
        arguments=a.InsightActivity,
        method="GET",
        path="insights/{id}/activity/",
        scope="activity_log:read",
        read_only=True,
        destructive=False,
        idempotent=True,
        noun="insight",
        shape=s.ACTIVITY,
        toolset="insights",
        page=PageStyle.NUMBERED,
        not_sent=frozenset({"include_values"}),
    ),
    Tool(
        name="insights-my-last-viewed",
        title="My recently viewed insights",
        description=(
            "The insights the key's owner viewed most recently (at most 5), as insights-list gives them. PostHog "
            "serves this only to legacy unscoped personal API keys."
        ),
        arguments=a.NoArguments,
        method="GET",
        path="insights/my_last_viewed/",
        scope=None,
        read_only=True,
        destructive=False,
        idempotent=True,
        noun="insight",
        shape=s.INSIGHT_SUMMARY,
        toolset="insights",
        page=PageStyle.BARE,
        naming=(n.DASHBOARD_NAMES,),
    ),
    Tool(
        name="insights-mark-viewed",
        title="Mark insights as viewed",
        description=(
            "Record that the key's owner viewed these insights, which updates last viewed dates and the recently "
            "viewed list. PostHog ignores ids of deleted insights or other projects."
        ),
        arguments=a.InsightsMarkViewed,
        method="POST",
        path="insights/viewed/",
        scope="insight:read",
        read_only=False,
        destructive=False,
        idempotent=True,
        noun="insight",
        shape=s.Shape(),
        toolset="insights",
        empty_reply=True,
        echo_arguments=("insight_ids",),
    ),
    Tool(
        name="insight-generate-metadata",
        title="Suggest an insight name and description",
        description=(
            "Ask PostHog's AI for a name and description that fit a query; saves nothing. Needs the organisation to "
            "have approved AI data processing."
        ),
        arguments=a.InsightGenerateMetadata,
        method="POST",
        path="insights/generate_metadata/",
        scope="insight:write",
        read_only=True,
        destructive=False,
        idempotent=False,
        noun="insight",
        shape=s.GENERATED,
        toolset="insights",
    ),
    Tool(
        name="insight-query-cancel",
        title="Cancel a running computation",
        description=(
            "Stop a computation that an async insight-get or query-run started, by the client_query_id it returned."
        ),
        arguments=a.InsightQueryCancel,
        method="POST",
        path="insights/cancel/",
        scope=None,
        read_only=False,
        destructive=False,
        idempotent=True,
        noun="insight",
        shape=s.CANCELLED,
        toolset="insights",
        empty_reply=True,
        echo_arguments=("client_query_id",),
        # PostHog serves insights/cancel/ only to legacy keys, and counts a query cancel as a read.
        fallback=Request("DELETE", "query/{client_query_id}/", "query:read"),
    ),
    Tool(
        name="elements-list",
        title="List autocapture elements",
        description=(
            "Rows of PostHog's legacy element table (no ids). Current autocapture data is not there, so on most "
            "projects this is empty: for what users click, use elements-stats-retrieve."
        ),
        arguments=a.ElementsList,
        method="GET",
        path="elements/",
        scope="element:read",
        read_only=True,
        destructive=False,
        idempotent=True,
        noun="element",
        shape=s.ELEMENT,
        toolset="elements-legacy",
        page=PageStyle.OFFSET,
    ),
    Tool(
        name="element-get",
        title="Get an autocapture element",
        description=(
            f"Get one row of PostHog's legacy element table by numeric id. {NO_ELEMENT_IDS} For click data use "
            "elements-stats-retrieve."
        ),
        arguments=a.ElementRef,
        method="GET",
        path="elements/{id}/",
        scope="element:read",
        read_only=True,
        destructive=False,
        idempotent=True,
        noun="element",
        shape=s.ELEMENT,
        toolset="elements-legacy",
    ),
    Tool(
        name="element-create",
        title="Create an autocapture element",
        description=(
            "Store a row in PostHog's legacy element table. PostHog files it under no project: it never appears in "
            "elements-list and cannot be read, changed or deleted afterwards. Returns the stored fields, without an id."
        ),
        arguments=a.ElementCreate,
        method="POST",
        path="elements/",
        scope="element:write",
        read_only=False,
        destructive=False,
        idempotent=False,
        noun="element",
        shape=s.ELEMENT,
        toolset="elements-legacy",
        recheck_with="elements-list",
    ),
    Tool(
        name="element-update",
        title="Update an autocapture element",
        description=(
            f"Change fields of a legacy element table row by numeric id; only the fields given change. {NO_ELEMENT_IDS}"
        ),
        arguments=a.ElementUpdate,
        method="PATCH",
        path="elements/{id}/",
        scope="element:write",
        read_only=False,
        destructive=False,
        idempotent=True,
        noun="element",
        shape=s.ELEMENT,
        toolset="elements-legacy",
        recheck_with="element-get",
    ),
    Tool(
        name="element-delete",
        title="Delete an autocapture element",
        description=(
            f"Permanently delete a legacy element table row by numeric id; cannot be undone. {NO_ELEMENT_IDS}"
        ),
        arguments=a.ElementRef,
        method="DELETE",
        path="elements/{id}/",
        scope="element:write",
        read_only=False,
        destructive=True,
        idempotent=True,
        noun="element",
        shape=s.Shape(),
        toolset="elements-legacy",
        empty_reply=True,
        echo_arguments=("id",),
        result_adds={"deleted": True},
        recheck_with="element-get",
    ),
    Tool(
        name="elements-stats-retrieve",
        title="Click statistics by element",
        description=(
            "What users click: counts of autocapture, rage and dead clicks per element chain (clicked element "
            "first), most frequent first."
        ),
        arguments=a.ElementsStats,
        method="GET",
        path="elements/stats/",
        scope="element:read",
        read_only=True,
        destructive=False,
        idempotent=True,
        noun="element",
        shape=s.STATS_ROW,
        toolset="elements",
        page=PageStyle.OFFSET_NO_COUNT,
        fixed_params={"paginate_response": "true"},
    ),
    Tool(
        name="elements-values-list",
        title="Distinct element values",
        description=(
            "Distinct values of one element field among autocaptured clicks, most frequent first, at most 100."
        ),
        arguments=a.ElementsValues,
        method="GET",
        path="elements/values/",
        scope="element:read",
        read_only=True,
        destructive=False,
        idempotent=True,
        noun="element",
        shape=s.VALUE,
        toolset="elements",
        page=PageStyle.BARE,
        truncation_hint="Pass value to narrow the list.",
        empty_notes={
            "value": "No value contains it. Matching is case-sensitive: try another capitalisation, or leave out value."
        },
    ),
    Tool(
        name="query-run",
        title="Run a query",
        description=(
            "Run a query and return its results, shaped as insight-get shapes them; nothing is saved. SQL results "
            "come as columns and rows. A blocking run waits at most until the call's deadline; a longer one returns a "
            "client_query_id for query-get."
        ),
        arguments=a.QueryRun,
        method="POST",
        path="query/",
        scope="query:read",
        read_only=True,
        destructive=False,
        idempotent=True,
        noun="query",
        shape=s.QUERY_RESULT,
        toolset="insights",
        truncation_hint=(
            "Narrow the query (shorter date range, fewer series or breakdown values, a LIMIT or fewer columns), "
            "or raise POSTHOG_MCP_RESPONSE_BUDGET."
        ),
        wait=Wait(
            BLOCKING_AS_ASYNC,
            Request("GET", "query/{client_query_id}/", "query:read"),
            "PostHog is still computing it; this call stopped waiting before its deadline. Call query-get with this "
            "client_query_id for the results, or insight-query-cancel to stop it.",
        ),
        naming=(n.UNKNOWN_EVENTS,),
        output_schema=RESULTS_SCHEMA,
    ),
    Tool(
        name="query-get",
        title="Get a running query's results",
        description="The status of a computation query-run started asynchronously, and its results once complete.",
        arguments=a.QueryGet,
        method="GET",
        path="query/{client_query_id}/",
        scope="query:read",
        read_only=True,
        destructive=False,
        idempotent=True,
        noun="query",
        shape=s.QUERY_RESULT,
        toolset="insights",
        truncation_hint="Run a narrower query, or raise POSTHOG_MCP_RESPONSE_BUDGET.",
        output_schema=RESULTS_SCHEMA,
    ),
    Tool(
        name="event-definitions-list",
        title="List event names",
        description=("The project's event names, most recently seen first, with when each was last seen."),
        arguments=a.EventDefinitionsList,
        method="GET",
        path="event_definitions/",
        scope="event_definition:read",
        read_only=True,
        destructive=False,
        idempotent=True,
        noun="event definition",
        shape=s.EVENT_DEFINITION,
        toolset="insights",
        page=PageStyle.OFFSET,
    ),
    Tool(
        name="property-definitions-list",
        title="List property names",
        description=("The project's event, person or session property names and types, by name."),
        arguments=a.PropertyDefinitionsList,
        method="GET",
        path="property_definitions/",
        scope="property_definition:read",
        read_only=True,
        destructive=False,
        idempotent=True,
        noun="property definition",
        shape=s.PROPERTY_DEFINITION,
        toolset="insights",
        page=PageStyle.OFFSET,
        with_params={"event_names": {"filter_by_event_names": "true"}},
    ),
    Tool(
        name="dashboards-list",
        title="List dashboards",
        description=(
            "The project's dashboards (id and name), pinned first, then by name; insights name dashboards by id."
        ),
        arguments=a.DashboardsList,
        method="GET",
        path="dashboards/",
        scope="dashboard:read",
        read_only=True,
        destructive=False,
        idempotent=True,
        noun="dashboard",
        shape=s.DASHBOARD,
        toolset="insights",
        page=PageStyle.OFFSET,
    ),
)

BY_NAME: dict[str, Tool] = {tool.name: tool for tool in TOOLS}


def expand_toolsets(names: tuple[str, ...]) -> frozenset[str]:
    """The toolsets a list of names chooses, `all` meaning every one (names are checked beforehand)."""
    return frozenset(TOOLSETS) if ALL in names else frozenset(names)
