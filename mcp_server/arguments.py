"""The arguments each tool takes: pydantic models whose JSON schemas are what the model sees.

Field names are PostHog's own, so an agent that knows PostHog's API knows the tools.
"""

from __future__ import annotations

import json
import re
import uuid
from enum import StrEnum
from functools import partial
from typing import Annotated, Any, Self, TypeVar

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, PlainValidator, WithJsonSchema, model_validator

from mcp_server import errors

# Every pattern is matched whole (fullmatch here; pydantic-core's `$` is the end of the text), never up to a newline.
SHORT_ID = re.compile(r"^[A-Za-z0-9]{8}$")
DIGITS = re.compile(r"[0-9]{1,19}")
DATE = re.compile(
    r"(-?[0-9]+[hdwmqy]|all|mStart|wStart|dStart|yStart"
    r"|[0-9]{4}-[0-9]{2}-[0-9]{2}([T ][0-9:.]+(Z|[+-][0-9]{2}:?[0-9]{2})?)?)"
)
MAX_ID = 2**63 - 1  # PostHog's ids are 64-bit signed integers: anything larger names nothing
ID_SCHEMA = {"type": "integer", "minimum": 1, "maximum": MAX_ID}
# C0 control characters and DEL: PostHog stores text in Postgres, which refuses NUL, and none belongs in a name.
CONTROL = re.compile(r"[\x00-\x1f\x7f]")
CONTROL_EXCEPT_LINE_BREAKS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


class Arguments(BaseModel):
    """Base of every argument model: unknown fields are refused."""

    model_config = ConfigDict(extra="forbid", frozen=True, use_enum_values=True)


U = TypeVar("U", bound=Arguments)


def _id_number(value: Any) -> int | None:
    if isinstance(value, str) and DIGITS.fullmatch(value):
        value = int(value)
    if isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= MAX_ID:
        return value
    return None


def _insight_id(value: Any) -> int | str:
    number = _id_number(value)
    if number is not None:
        return number
    if isinstance(value, str) and SHORT_ID.fullmatch(value):
        return value
    raise errors.not_an_insight_id(MAX_ID)


def _positive_id(value: Any, hint: str = "") -> int:
    number = _id_number(value)
    if number is None:
        raise errors.not_a_positive_id(MAX_ID, hint)
    return number


def _controls(pattern: re.Pattern[str]) -> AfterValidator:
    def check(value: str) -> str:
        found = pattern.search(value)
        if found:
            raise errors.control_character(found.group())
        return value

    return AfterValidator(check)


# Single-line text (names, search terms, tags, HTML attributes) holds no control character at all; multi-line text
# (descriptions, an element's text) may hold tabs and line breaks. Placed after a length, which keeps its message.
NO_CONTROLS = _controls(CONTROL)
LINE_BREAKS_ONLY = _controls(CONTROL_EXCEPT_LINE_BREAKS)
IdNumber = Annotated[int, Field(ge=1, le=MAX_ID)]

InsightId = Annotated[
    int | str,
    PlainValidator(_insight_id),
    WithJsonSchema(
        {
            "anyOf": [ID_SCHEMA, {"type": "string", "pattern": "^([0-9]{1,19}|[A-Za-z0-9]{8})$"}],
            "description": "The insight's numeric id, or its 8-character short_id (as in its URL).",
        }
    ),
]
NumericInsightId = Annotated[
    int,
    PlainValidator(_positive_id),
    WithJsonSchema({**ID_SCHEMA, "description": "The insight's numeric id."}),
]
ViewedId = Annotated[
    int,
    PlainValidator(partial(_positive_id, hint=errors.numeric_insight_ids_only())),
    WithJsonSchema(ID_SCHEMA),
]
ElementId = Annotated[
    int,
    PlainValidator(_positive_id),
    WithJsonSchema({**ID_SCHEMA, "description": "The element's numeric id."}),
]
Cursor = Annotated[
    str | None,
    Field(
        description="next_cursor of the previous page (enough on its own); omit for the first page.", max_length=1000
    ),
]


def _date_text(value: str) -> str:
    if not DATE.fullmatch(value):
        raise errors.not_a_date()
    return value


def _only_true(value: bool) -> bool:
    if value is not True:
        raise errors.only_true_filters()
    return value


# PostHog filters on the mere presence of these parameters, so false would silently mean true.
OnlyTrue = Annotated[bool, AfterValidator(_only_true), WithJsonSchema({"type": "boolean", "const": True})]

# The pattern is checked here rather than in the schema, where it would cost tokens on every field.
DateText = Annotated[str, Field(max_length=40), AfterValidator(_date_text), WithJsonSchema({"type": "string"})]


class Refresh(StrEnum):
    """PostHog's `refresh` modes for computing an insight's results."""

    FORCE_CACHE = "force_cache"
    BLOCKING = "blocking"
    FORCE_BLOCKING = "force_blocking"
    ASYNC = "async"
    FORCE_ASYNC = "force_async"
    LAZY_ASYNC = "lazy_async"
    ASYNC_EXCEPT_ON_CACHE_MISS = "async_except_on_cache_miss"


ASYNC_REFRESH = frozenset({Refresh.ASYNC, Refresh.FORCE_ASYNC, Refresh.LAZY_ASYNC, Refresh.ASYNC_EXCEPT_ON_CACHE_MISS})


class InsightType(StrEnum):
    """Insight types PostHog filters by."""

    TRENDS = "TRENDS"
    FUNNELS = "FUNNELS"
    RETENTION = "RETENTION"
    PATHS = "PATHS"
    STICKINESS = "STICKINESS"
    LIFECYCLE = "LIFECYCLE"
    JSON = "JSON"
    SQL = "SQL"


class InsightOrder(StrEnum):
    """Orderings PostHog's insight list accepts."""

    LAST_MODIFIED_DESC = "-last_modified_at"
    LAST_MODIFIED = "last_modified_at"
    CREATED_DESC = "-created_at"
    CREATED = "created_at"
    LAST_VIEWED_DESC = "-last_viewed_at"
    NAME = "name"
    NAME_DESC = "-name"


# PostHog orders by any field it is given; the id is unique and never changes.
NEWEST_FIRST = "-id"


class ElementKey(StrEnum):
    """Element fields whose values PostHog can list."""

    TAG_NAME = "tag_name"
    TEXT = "text"
    HREF = "href"
    ATTR_ID = "attr_id"


class ClickEvent(StrEnum):
    """Autocapture event kinds counted by element statistics."""

    AUTOCAPTURE = "$autocapture"
    RAGECLICK = "$rageclick"
    DEAD_CLICK = "$dead_click"


VIZ_SOURCES = ("TrendsQuery", "FunnelsQuery", "RetentionQuery", "PathsQuery", "StickinessQuery", "LifecycleQuery")
# The kinds PostHog's MCPInsightSerializer saves (products/product_analytics/backend/api/insight.py).
WRAPPERS = {"InsightVizNode": VIZ_SOURCES, "DataVisualizationNode": ("HogQLQuery",)}
ACCEPTED_KINDS = (*WRAPPERS, *VIZ_SOURCES, "HogQLQuery")


def _query_node(value: Any, *, sql: bool = True) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise errors.not_a_query()
    try:
        json.dumps(value, ensure_ascii=False).encode()
    except UnicodeEncodeError:
        # A lone UTF-16 surrogate is not text: it cannot be sent as UTF-8 JSON.
        raise errors.lone_surrogate() from None
    kind = value.get("kind")
    accepted = ACCEPTED_KINDS if sql else ("InsightVizNode", *VIZ_SOURCES)
    if kind not in accepted:
        raise errors.unknown_query_kind(kind, accepted)
    if kind in VIZ_SOURCES:
        return {"kind": "InsightVizNode", "source": value}
    if kind == "HogQLQuery":
        if not isinstance(value.get("query"), str) or not value["query"].strip():
            raise errors.hogql_without_sql()
        return {"kind": "DataVisualizationNode", "source": value}
    source = value.get("source")
    if not isinstance(source, dict) or source.get("kind") not in WRAPPERS[kind]:
        raise errors.wrapper_without_source(kind, WRAPPERS[kind])
    return value


QUERY_EXAMPLE = '{"kind": "TrendsQuery", "series": [{"kind": "EventsNode", "event": "$pageview", "math": "total"}]}'

QueryNode = Annotated[
    dict[str, Any],
    PlainValidator(_query_node),
    WithJsonSchema(
        {
            "type": "object",
            "description": (
                "A PostHog query node. A bare TrendsQuery, FunnelsQuery, RetentionQuery, PathsQuery, "
                "StickinessQuery or LifecycleQuery is wrapped in an InsightVizNode, and a bare HogQLQuery in a "
                f"DataVisualizationNode. Example: {QUERY_EXAMPLE}"
            ),
            "properties": {"kind": {"type": "string", "enum": list(ACCEPTED_KINDS)}},
            "required": ["kind"],
            "additionalProperties": True,
        }
    ),
]
VizQueryNode = Annotated[
    dict[str, Any],
    PlainValidator(partial(_query_node, sql=False)),
    WithJsonSchema(
        {
            "type": "object",
            "description": (
                "A PostHog insight query: a TrendsQuery, FunnelsQuery, RetentionQuery, PathsQuery, StickinessQuery or "
                f"LifecycleQuery, bare or in an InsightVizNode. Example: {QUERY_EXAMPLE}"
            ),
            "properties": {"kind": {"type": "string", "enum": ["InsightVizNode", *VIZ_SOURCES]}},
            "required": ["kind"],
            "additionalProperties": True,
        }
    ),
]


def _runnable_query(value: Any) -> dict[str, Any]:
    # PostHog's query endpoint runs a source query itself: a wrapper node is sent as its source.
    node = _query_node(value)
    source: dict[str, Any] = node["source"]
    return source


RunnableQuery = Annotated[
    dict[str, Any],
    PlainValidator(_runnable_query),
    WithJsonSchema(
        {
            "type": "object",
            "description": (
                "A TrendsQuery, FunnelsQuery, RetentionQuery, PathsQuery, StickinessQuery, LifecycleQuery or "
                f"HogQLQuery (SQL in `query`), as insight-create takes it. Example: {QUERY_EXAMPLE}"
            ),
            "properties": {"kind": {"type": "string", "enum": list(ACCEPTED_KINDS)}},
            "required": ["kind"],
            "additionalProperties": True,
        }
    ),
]


def _changes(update: U) -> U:
    # An empty PATCH is not harmless: PostHog marks the insight saved.
    if not any(value is not None for name, value in update if name != "id"):
        raise errors.nothing_to_change()
    return update


class InsightsList(Arguments):
    """Arguments of insights-list."""

    search: Annotated[str, Field(max_length=200), NO_CONTROLS] | None = Field(
        None, description="Text to find in names, descriptions and tags; exact matches first."
    )
    short_id: str | None = Field(None, pattern=SHORT_ID.pattern, description="Only the insight with this short_id.")
    insight: InsightType | None = Field(None, description="Only insights of this type.")
    saved: bool | None = Field(None, description="true: only saved insights; false: only unsaved ones.")
    favorited: OnlyTrue | None = Field(None, description="true: only favorited insights.")
    user: OnlyTrue | None = Field(None, description="true: only insights created by the key's owner.")
    created_by: list[IdNumber] | None = Field(
        None, max_length=50, description="Only insights created by these user ids."
    )
    tags: list[Annotated[str, Field(min_length=1, max_length=100), NO_CONTROLS]] | None = Field(
        None, max_length=20, description="Only insights with any of these tags."
    )
    dashboards: list[IdNumber] | None = Field(
        None, max_length=50, description="Only insights on all of these dashboard ids."
    )
    date_from: DateText | None = Field(None, description="Modified at or after: YYYY-MM-DD or relative like -7d.")
    date_to: DateText | None = Field(None, description="Modified at or before: YYYY-MM-DD or relative like -1d.")
    created_date_from: DateText | None = Field(None, description="Created at or after (YYYY-MM-DD or -30d).")
    created_date_to: DateText | None = Field(None, description="Created at or before (YYYY-MM-DD or -1d).")
    last_viewed_date_from: DateText | None = Field(None, description="Last viewed at or after (YYYY-MM-DD or -7d).")
    last_viewed_date_to: DateText | None = Field(None, description="Last viewed at or before (YYYY-MM-DD or -1d).")
    order: InsightOrder | None = Field(
        None,
        description=(
            "Sort order (default: newest first, an order that edits do not change; with search, best matches first)."
        ),
    )
    limit: int = Field(20, ge=1, le=500, description="Insights per page.")
    cursor: Cursor = None

    @model_validator(mode="after")
    def _stable_order(self) -> InsightsList:
        # PostHog's own default order is undefined, and edits move insights in a modified-at order: pages on ids.
        if self.order is None and self.search is None:
            object.__setattr__(self, "order", NEWEST_FIRST)
        return self


class InsightGet(Arguments):
    """Arguments of insight-get."""

    id: InsightId
    refresh: Refresh | None = Field(
        None,
        description=(
            "How to get results: force_cache (default) serves cached results only; blocking computes stale "
            "results before answering (can take seconds); async variants start a computation and return at once."
        ),
    )
    client_query_id: str | None = Field(
        None,
        pattern=r"^[A-Za-z0-9_-]{1,64}$",
        description="Id for the computation an async refresh starts; generated when left out.",
    )

    @model_validator(mode="after")
    def _name_the_computation(self) -> InsightGet:
        # Only an async computation outlives the call, so only it needs a name to be cancelled by.
        if self.refresh in ASYNC_REFRESH and self.client_query_id is None:
            object.__setattr__(self, "client_query_id", str(uuid.uuid4()))
        return self


Name = Annotated[str, Field(max_length=400, description="The insight's name."), NO_CONTROLS]
# PostHog's Insight.description is a CharField(max_length=400).
Description = Annotated[str, Field(max_length=400, description="The insight's description."), LINE_BREAKS_ONLY]
Tags = Annotated[
    list[Annotated[str, Field(min_length=1, max_length=100), NO_CONTROLS]],
    Field(max_length=50, description="Tags, replacing any the insight has."),
]
Dashboards = Annotated[
    list[IdNumber],
    Field(max_length=100, description="Dashboard ids the insight is on; the full list, replacing the current one."),
]


class InsightCreate(Arguments):
    """Arguments of insight-create."""

    query: QueryNode
    name: Name | None = None
    description: Description | None = None
    tags: Tags | None = None
    dashboards: Dashboards | None = None
    favorited: bool | None = Field(None, description="Mark as a favorite.")
    saved: bool = Field(True, description="Save it to the insights list.")


class InsightUpdate(Arguments):
    """Arguments of insight-update."""

    id: InsightId
    name: Name | None = None
    description: Description | None = None
    query: QueryNode | None = None
    tags: Tags | None = None
    dashboards: Dashboards | None = None
    favorited: bool | None = Field(None, description="Mark or unmark as a favorite.")
    saved: bool | None = Field(None, description="Whether it appears in the saved insights list.")
    deleted: bool | None = Field(None, description="false restores a soft-deleted insight.")

    @model_validator(mode="after")
    def _changes_something(self) -> Self:
        return _changes(self)


class InsightRef(Arguments):
    """An insight named by id."""

    id: InsightId


class InsightActivity(Arguments):
    """Arguments of insights-activity-retrieve."""

    id: InsightId
    include_values: bool = Field(False, description="Include each change's before and after values (bulky).")
    limit: int = Field(20, ge=1, le=100, description="Entries per page.")
    cursor: Cursor = None


class NoArguments(Arguments):
    """A tool that takes no arguments."""


class InsightsMarkViewed(Arguments):
    """Arguments of insights-mark-viewed."""

    insight_ids: list[ViewedId] = Field(
        min_length=1, max_length=2500, description="Numeric ids of the insights viewed, from insights-list."
    )


class InsightGenerateMetadata(Arguments):
    """Arguments of insight-generate-metadata."""

    query: VizQueryNode


QueryId = Annotated[
    str,
    Field(pattern=r"^[A-Za-z0-9_-]{1,64}$", description="The client_query_id returned for the computation."),
]


class InsightQueryCancel(Arguments):
    """Arguments of insight-query-cancel."""

    client_query_id: QueryId


class RunRefresh(StrEnum):
    """The `refresh` modes of PostHog's query endpoint this server offers (posthog/api/query.py)."""

    BLOCKING = "blocking"
    FORCE_BLOCKING = "force_blocking"
    ASYNC = "async"
    FORCE_ASYNC = "force_async"


class QueryRun(Arguments):
    """Arguments of query-run."""

    query: RunnableQuery
    refresh: RunRefresh = Field(
        RunRefresh.BLOCKING,
        description="blocking (default): cached results if fresh, else computed now; async: return at once.",
    )
    client_query_id: str | None = Field(
        None, pattern=r"^[A-Za-z0-9_-]{1,64}$", description="Id for the computation; generated when left out."
    )


class QueryGet(Arguments):
    """Arguments of query-get."""

    client_query_id: QueryId


class EventDefinitionsList(Arguments):
    """Arguments of event-definitions-list."""

    search: Annotated[str, Field(max_length=200), NO_CONTROLS] | None = Field(
        None, description="Words the event name contains (any case)."
    )
    limit: int = Field(50, ge=1, le=500, description="Events per page (default 50, at most 500).")
    cursor: Cursor = None


class PropertyType(StrEnum):
    """Whose properties PostHog lists."""

    EVENT = "event"
    PERSON = "person"
    SESSION = "session"


class PropertyDefinitionsList(Arguments):
    """Arguments of property-definitions-list."""

    type: PropertyType = Field(PropertyType.EVENT, description="Event (default), person or session properties.")
    search: Annotated[str, Field(max_length=200), NO_CONTROLS] | None = Field(
        None, description="Words the property name contains (any case)."
    )
    event_names: list[Annotated[str, Field(min_length=1, max_length=400), NO_CONTROLS]] | None = Field(
        None, min_length=1, max_length=20, description="Only event properties seen with these events."
    )
    limit: int = Field(50, ge=1, le=500, description="Properties per page (default 50, at most 500).")
    cursor: Cursor = None

    @model_validator(mode="after")
    def _events_name_event_properties(self) -> PropertyDefinitionsList:
        # PostHog answers 400 when event_names comes with another type (posthog/api/property_definition.py).
        if self.event_names is not None and self.type != PropertyType.EVENT:
            raise ValueError("event_names only applies to type=event")
        return self


class DashboardsList(Arguments):
    """Arguments of dashboards-list."""

    limit: int = Field(100, ge=1, le=500, description="Dashboards per page (default 100, at most 500).")
    cursor: Cursor = None


class ElementsList(Arguments):
    """Arguments of elements-list."""

    limit: int = Field(100, ge=1, le=1000, description="Elements per page.")
    cursor: Cursor = None


class ElementRef(Arguments):
    """An element named by id."""

    id: ElementId


class ElementFields(Arguments):
    """The fields of an autocaptured element."""

    text: Annotated[str, Field(max_length=10_000), LINE_BREAKS_ONLY] | None = Field(
        None, description="The element's text."
    )
    tag_name: Annotated[str, Field(max_length=100), NO_CONTROLS] | None = Field(
        None, description="HTML tag, e.g. button, a, input."
    )
    attr_class: list[Annotated[str, Field(max_length=200), NO_CONTROLS]] | None = Field(
        None, max_length=100, description="CSS classes."
    )
    href: Annotated[str, Field(max_length=2048), NO_CONTROLS] | None = Field(
        None, description="Link target, for <a> elements."
    )
    attr_id: Annotated[str, Field(max_length=200), NO_CONTROLS] | None = Field(
        None, description="The element's HTML id attribute."
    )
    nth_child: int | None = Field(None, ge=0, description="Position among its parent's children.")
    nth_of_type: int | None = Field(None, ge=0, description="Position among siblings with the same tag.")
    attributes: dict[Annotated[str, NO_CONTROLS], Annotated[str, LINE_BREAKS_ONLY]] | None = Field(
        None, description='Other HTML attributes, e.g. {"attr__data-attr": "x"}.'
    )
    order: int | None = Field(None, ge=0, description="Position in its element chain (0 is the clicked element).")


class ElementCreate(ElementFields):
    """Arguments of element-create."""


class ElementUpdate(ElementFields):
    """Arguments of element-update."""

    id: ElementId

    @model_validator(mode="after")
    def _changes_something(self) -> Self:
        return _changes(self)


class ElementsStats(Arguments):
    """Arguments of elements-stats-retrieve."""

    include: list[ClickEvent] | None = Field(
        None, min_length=1, max_length=3, description="Event kinds to count (default: all of them)."
    )
    date_from: DateText | None = Field(None, description="Start of the period: YYYY-MM-DD or relative (default -7d).")
    date_to: DateText | None = Field(None, description="End of the period: YYYY-MM-DD or relative (default now).")
    properties: list[dict[str, Any]] | None = Field(
        None,
        max_length=20,
        description='Property filters, e.g. [{"key": "$current_url", "value": "/pricing", "operator": "icontains", '
        '"type": "event"}].',
    )
    filter_test_accounts: bool | None = Field(None, description="Leave out internal and test users.")
    sampling_factor: float | None = Field(None, gt=0, le=1, description="Sample this fraction of events.")
    max_element_chain_depth: int | None = Field(
        None, ge=1, le=100, description="Keep at most this many elements of each chain, clicked element first."
    )
    limit: int = Field(50, ge=1, le=1000, description="Element chains per page.")
    cursor: Cursor = None


class ElementsValues(Arguments):
    """Arguments of elements-values-list."""

    key: ElementKey = Field(description="Which element field to list values of.")
    value: Annotated[str, Field(max_length=200), NO_CONTROLS] | None = Field(
        None, description="Only values containing this (case-sensitive)."
    )
