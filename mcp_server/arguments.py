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
# The schema leaves out the bounds (1 to MAX_ID), which tell a model nothing and cost tokens on every id; validation
# enforces them.
ID_SCHEMA = {"type": "integer"}
GUARD_ONLY = "x-guard-only"
"""Schema marker: this field's length, count, pattern and lower limits only guard the server (a model never comes near
them), so the schema the model sees leaves them out; validation still enforces them."""
GUARD: dict[str, Any] = {GUARD_ONLY: True}
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
IdNumber = Annotated[int, Field(ge=1, le=MAX_ID), WithJsonSchema(ID_SCHEMA)]

InsightId = Annotated[
    int | str,
    PlainValidator(_insight_id),
    WithJsonSchema(
        {
            "anyOf": [ID_SCHEMA, {"type": "string"}],
            "description": "Numeric id or 8-character short_id.",
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
    Field(description="next_cursor of the previous page.", max_length=1000, json_schema_extra=GUARD),
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
Tag = Annotated[str, Field(min_length=1, max_length=100, json_schema_extra=GUARD), NO_CONTROLS]


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


QUERY_EXAMPLE = '{"kind": "TrendsQuery", "series": [{"kind": "EventsNode", "event": "$pageview"}]}'


def _query_schema(description: str, kinds: list[str]) -> WithJsonSchema:
    return WithJsonSchema(
        {
            "type": "object",
            "description": description,
            "properties": {"kind": {"type": "string", "enum": kinds}},
            "required": ["kind"],
        }
    )


QueryNode = Annotated[
    dict[str, Any],
    PlainValidator(_query_node),
    _query_schema(
        "A PostHog query; a bare source kind is wrapped for you (HogQLQuery: SQL in `query`). "
        f"Example: {QUERY_EXAMPLE}",
        list(ACCEPTED_KINDS),
    ),
]
VizQueryNode = Annotated[
    dict[str, Any],
    PlainValidator(partial(_query_node, sql=False)),
    _query_schema("An insight query, bare or in an InsightVizNode.", ["InsightVizNode", *VIZ_SOURCES]),
]


def _runnable_query(value: Any) -> dict[str, Any]:
    # PostHog's query endpoint runs a source query itself: a wrapper node is sent as its source.
    node = _query_node(value)
    source: dict[str, Any] = node["source"]
    return source


RunnableQuery = Annotated[
    dict[str, Any],
    PlainValidator(_runnable_query),
    _query_schema(f"The query to run (HogQLQuery: SQL in `query`). Example: {QUERY_EXAMPLE}", list(ACCEPTED_KINDS)),
]


def _changes(update: U) -> U:
    # An empty PATCH is not harmless: PostHog marks the insight saved.
    if not any(value is not None for name, value in update if name != "id"):
        raise errors.nothing_to_change()
    return update


class InsightsList(Arguments):
    """Arguments of insights-list."""

    search: Annotated[str, Field(max_length=200), NO_CONTROLS] | None = Field(
        None, json_schema_extra=GUARD, description="Text in names, descriptions or tags; best matches first."
    )
    short_id: str | None = Field(
        None, pattern=SHORT_ID.pattern, json_schema_extra=GUARD, description="Only this insight."
    )
    insight: InsightType | None = Field(None, description="Only this type.")
    saved: bool | None = Field(None, description="true: only saved; false: only unsaved.")
    favorited: OnlyTrue | None = Field(None, description="Only favorites.")
    user: OnlyTrue | None = Field(None, description="Only the key owner's.")
    created_by: list[IdNumber] | None = Field(
        None, max_length=50, json_schema_extra=GUARD, description="Only by these creators' user ids."
    )
    tags: list[Tag] | None = Field(
        None, max_length=20, json_schema_extra=GUARD, description="Only with any of these tags."
    )
    dashboards: list[IdNumber] | None = Field(
        None, max_length=50, json_schema_extra=GUARD, description="Only on all of these dashboard ids."
    )
    date_from: DateText | None = Field(None, description="Modified at or after.")
    date_to: DateText | None = Field(None, description="Modified at or before.")
    created_date_from: DateText | None = Field(None, description="Created at or after.")
    created_date_to: DateText | None = Field(None, description="Created at or before.")
    last_viewed_date_from: DateText | None = Field(None, description="Last viewed at or after.")
    last_viewed_date_to: DateText | None = Field(None, description="Last viewed at or before.")
    order: InsightOrder | None = Field(
        None,
        description="Default: newest first (with search, best matches first).",
    )
    limit: int = Field(20, ge=1, le=500, json_schema_extra=GUARD, description="Per page.")
    cursor: Cursor = None

    @model_validator(mode="after")
    def _stable_order(self) -> InsightsList:
        # PostHog's own default order is undefined, and edits move insights in a modified-at order: pages on ids.
        if self.order is None and self.search is None:
            object.__setattr__(self, "order", NEWEST_FIRST)
        return self


# A computation's id, as PostHog's query endpoint takes it (posthog/api/query.py).
QUERY_ID_PATTERN = r"^[A-Za-z0-9_-]{1,64}$"


class InsightGet(Arguments):
    """Arguments of insight-get."""

    id: InsightId
    refresh: Refresh | None = Field(
        None,
        description=(
            "force_cache (default): cached results only; blocking: compute stale ones first, within the call's "
            "deadline; async: return at once. A computation still running returns a client_query_id for "
            "insight-query-cancel; call again without refresh for its results."
        ),
    )
    client_query_id: str | None = Field(
        None,
        pattern=QUERY_ID_PATTERN,
        json_schema_extra=GUARD,
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
Tags = Annotated[list[Tag], Field(max_length=50, json_schema_extra=GUARD, description="Tags, replacing any it has.")]
Dashboards = Annotated[
    list[IdNumber],
    Field(
        max_length=100, json_schema_extra=GUARD, description="Dashboard ids; the full list replaces the current one."
    ),
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
    query: QueryNode | None = Field(None, description="A new query, as insight-create takes it.")
    tags: Tags | None = None
    dashboards: Dashboards | None = None
    favorited: bool | None = Field(None, description="Mark or unmark as a favorite.")
    saved: bool | None = Field(None, description="In the saved insights list.")
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
    limit: int = Field(20, ge=1, le=100, json_schema_extra=GUARD, description="Per page.")
    cursor: Cursor = None


class NoArguments(Arguments):
    """A tool that takes no arguments."""


class InsightsMarkViewed(Arguments):
    """Arguments of insights-mark-viewed."""

    insight_ids: list[ViewedId] = Field(
        min_length=1, max_length=2500, json_schema_extra=GUARD, description="Numeric ids, as insights-list gives them."
    )


class InsightGenerateMetadata(Arguments):
    """Arguments of insight-generate-metadata."""

    query: VizQueryNode


QueryId = Annotated[
    str,
    Field(
        pattern=QUERY_ID_PATTERN,
        json_schema_extra=GUARD,
        description="The client_query_id returned for the computation.",
    ),
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
        description="blocking: cached results if fresh, else computed now; async: return at once.",
    )
    client_query_id: str | None = Field(
        None,
        pattern=QUERY_ID_PATTERN,
        json_schema_extra=GUARD,
        description="Id for the computation; generated if left out.",
    )


class QueryGet(Arguments):
    """Arguments of query-get."""

    client_query_id: QueryId


class EventDefinitionsList(Arguments):
    """Arguments of event-definitions-list."""

    search: Annotated[str, Field(max_length=200), NO_CONTROLS] | None = Field(
        None, json_schema_extra=GUARD, description="Words the event name contains (any case)."
    )
    limit: int = Field(50, ge=1, le=500, json_schema_extra=GUARD, description="Per page.")
    cursor: Cursor = None


class PropertyType(StrEnum):
    """Whose properties PostHog lists."""

    EVENT = "event"
    PERSON = "person"
    SESSION = "session"


class PropertyDefinitionsList(Arguments):
    """Arguments of property-definitions-list."""

    type: PropertyType = Field(PropertyType.EVENT, description="Whose properties.")
    search: Annotated[str, Field(max_length=200), NO_CONTROLS] | None = Field(
        None, json_schema_extra=GUARD, description="Words the property name contains (any case)."
    )
    event_names: list[Annotated[str, Field(min_length=1, max_length=400), NO_CONTROLS]] | None = Field(
        None, min_length=1, max_length=20, description="Only event properties seen with these events."
    )
    limit: int = Field(50, ge=1, le=500, json_schema_extra=GUARD, description="Per page.")
    cursor: Cursor = None

    @model_validator(mode="after")
    def _events_name_event_properties(self) -> PropertyDefinitionsList:
        # PostHog answers 400 when event_names comes with another type (posthog/api/property_definition.py).
        if self.event_names is not None and self.type != PropertyType.EVENT:
            raise ValueError("event_names only applies to type=event")
        return self


class DashboardsList(Arguments):
    """Arguments of dashboards-list."""

    limit: int = Field(100, ge=1, le=500, json_schema_extra=GUARD, description="Per page.")
    cursor: Cursor = None


class ElementsList(Arguments):
    """Arguments of elements-list."""

    limit: int = Field(100, ge=1, le=1000, json_schema_extra=GUARD, description="Per page.")
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
        None, min_length=1, max_length=3, json_schema_extra=GUARD, description="Event kinds to count (default all)."
    )
    date_from: DateText | None = Field(None, description="Start: YYYY-MM-DD or relative (default -7d).")
    date_to: DateText | None = Field(None, description="End (default now).")
    properties: list[dict[str, Any]] | None = Field(
        None,
        max_length=20,
        json_schema_extra=GUARD,
        description='Property filters, e.g. [{"key": "$current_url", "value": "/pricing", "operator": "icontains", '
        '"type": "event"}].',
    )
    filter_test_accounts: bool | None = Field(None, description="Leave out internal and test users.")
    sampling_factor: float | None = Field(None, gt=0, le=1, description="Sample this fraction of events.")
    max_element_chain_depth: int | None = Field(
        None, ge=1, le=100, description="Elements kept per chain, clicked element first."
    )
    limit: int = Field(50, ge=1, le=1000, json_schema_extra=GUARD, description="Chains per page.")
    cursor: Cursor = None


class ElementsValues(Arguments):
    """Arguments of elements-values-list."""

    key: ElementKey = Field(description="The element field.")
    value: Annotated[str, Field(max_length=200), NO_CONTROLS] | None = Field(
        None, json_schema_extra=GUARD, description="Only values containing this (case-sensitive)."
    )
