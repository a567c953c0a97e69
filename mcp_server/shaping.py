"""Token-lean results: what each tool keeps of PostHog's answer, and the response budget."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

EMPTY: tuple[Any, ...] = (None, "", [], {})


@dataclass(frozen=True)
class Context:
    """What shaping may need beyond the item: where the insight lives, and the call's arguments."""

    host: str
    project_id: int | None
    arguments: Mapping[str, Any]


Derivation = Callable[[dict[str, Any], Context], None]


@dataclass(frozen=True)
class Shape:
    """Which fields of a PostHog object reach the model, declared rather than coded per tool."""

    keep: tuple[str, ...] | None = None
    drop: frozenset[str] = frozenset()
    users: frozenset[str] = frozenset()
    nested: Mapping[str, Shape] = field(default_factory=dict)
    derive: tuple[Derivation, ...] = ()
    keep_empty: frozenset[str] = frozenset()
    drop_unless: Mapping[str, frozenset[str]] = field(default_factory=dict)

    def apply(self, item: Any, context: Context) -> Any:
        """The shaped copy of one object (anything that is not an object passes through)."""
        if not isinstance(item, dict):
            return item
        shaped = dict(item)
        for derivation in self.derive:
            derivation(shaped, context)
        dropped = set(self.drop)
        for argument, fields in self.drop_unless.items():
            if not context.arguments.get(argument):
                dropped |= fields
        names = [name for name in (self.keep if self.keep is not None else shaped) if name in shaped]
        result: dict[str, Any] = {}
        for name in names:
            if name in dropped:
                continue
            value = shaped[name]
            if name in self.users:
                value = user_summary(value)
            elif name in self.nested:
                sub = self.nested[name]
                value = [sub.apply(v, context) for v in value] if isinstance(value, list) else sub.apply(value, context)
            if name not in self.keep_empty and _empty(value):
                continue
            result[name] = value
        return result


def _empty(value: Any) -> bool:
    return any(value is e or (type(value) is type(e) and value == e) for e in EMPTY)


def user_summary(user: Any) -> Any:
    """A PostHog user object reduced to id, name and email."""
    if not isinstance(user, Mapping):
        return user
    name = " ".join(str(user.get(k) or "").strip() for k in ("first_name", "last_name")).strip()
    summary = {"id": user.get("id"), "name": name, "email": user.get("email")}
    return {k: v for k, v in summary.items() if not _empty(v)} or None


def query_kind(query: Any) -> str | None:
    """The kind of insight a query node computes: the source's kind for wrapper nodes."""
    if not isinstance(query, Mapping):
        return None
    source = query.get("source")
    if isinstance(source, Mapping) and source.get("kind"):
        return str(source["kind"])
    return str(query["kind"]) if query.get("kind") else None


def insight_url(item: dict[str, Any], context: Context) -> None:
    """Add the insight's page in the PostHog web app."""
    if item.get("short_id") and context.project_id is not None:
        item["url"] = f"{context.host}/project/{context.project_id}/insights/{item['short_id']}"


def name_or_derived(item: dict[str, Any], _: Context) -> None:
    """Fall back to PostHog's generated name when the insight has none."""
    if not item.get("name") and item.get("derived_name"):
        item["name"] = item["derived_name"]


def kind_of_query(item: dict[str, Any], _: Context) -> None:
    """Name the query's kind, for lists that leave the query itself out."""
    kind = query_kind(item.get("query"))
    if kind:
        item["kind"] = kind


def results_hint(item: dict[str, Any], context: Context) -> None:
    """Say how to get results when PostHog had none cached."""
    if item.get("result") is None and not item.get("query_status") and item.get("query"):
        item["note"] = "No cached results. Call insight-get again with refresh=blocking to compute them."


def attributes_beyond_fields(item: dict[str, Any], _: Context) -> None:
    """Leave out the HTML attributes that repeat the element's own class, id and href fields."""
    attributes = item.get("attributes")
    if isinstance(attributes, dict):
        repeated = {"attr__class": "attr_class", "attr__id": "attr_id", "attr__href": "href"}
        item["attributes"] = {k: v for k, v in attributes.items() if not (k in repeated and item.get(repeated[k]))}


def ack(item: dict[str, Any], _: Context) -> None:
    """Mark a write PostHog acknowledged."""
    item["ok"] = True


INSIGHT_SUMMARY = Shape(
    keep=(
        "id",
        "short_id",
        "name",
        "description",
        "kind",
        "tags",
        "favorited",
        "saved",
        "dashboards",
        "created_by",
        "created_at",
        "last_modified_at",
        "last_viewed_at",
        "url",
    ),
    users=frozenset({"created_by"}),
    derive=(name_or_derived, kind_of_query, insight_url),
)

# One series, funnel step, cohort or path of an insight's results; rows of SQL results pass through untouched.
RESULT_ITEM = Shape(
    # `filter` and `action` repeat the query, `labels` repeats `days`, and the people fields are links and lists
    # this server cannot follow.
    drop=frozenset(
        {
            "filter",
            "action",
            "labels",
            "people",
            "persons",
            "persons_urls",
            "converted_people_url",
            "dropped_people_url",
        }
    ),
)

INSIGHT_DETAIL = Shape(
    keep=(
        "id",
        "short_id",
        "name",
        "derived_name",
        "description",
        "query",
        "result",
        "hasMore",
        "columns",
        "last_refresh",
        "query_status",
        "resolved_date_range",
        "note",
        "tags",
        "favorited",
        "saved",
        "dashboards",
        "alerts",
        "created_by",
        "created_at",
        "last_modified_by",
        "last_modified_at",
        "url",
    ),
    users=frozenset({"created_by", "last_modified_by"}),
    nested={"result": RESULT_ITEM},
    derive=(results_hint, insight_url),
    keep_empty=frozenset({"result"}),
)

INSIGHT_WRITTEN = Shape(
    keep=(
        "id",
        "short_id",
        "name",
        "description",
        "query",
        "tags",
        "favorited",
        "saved",
        "dashboards",
        "deleted",
        "created_at",
        "last_modified_at",
        "url",
    ),
    derive=(name_or_derived, insight_url),
)

INSIGHT_DELETED = Shape(keep=("ok", "id", "short_id", "name", "deleted"), derive=(ack, name_or_derived))

ACTIVITY = Shape(
    keep=("activity", "created_at", "user", "detail"),
    nested={
        "user": Shape(keep=("first_name", "email")),
        "detail": Shape(
            keep=("name", "short_id", "changes"),
            nested={
                "changes": Shape(
                    keep=("action", "field", "before", "after"),
                    drop_unless={"include_values": frozenset({"before", "after"})},
                    keep_empty=frozenset({"before", "after"}),
                )
            },
        ),
    },
)

GENERATED = Shape(keep=("name", "description"))
ELEMENT = Shape(
    derive=(attributes_beyond_fields,),
    keep=("id", "text", "tag_name", "attr_class", "href", "attr_id", "nth_child", "nth_of_type", "attributes", "order"),
)
STATS_ROW = Shape(keep=("count", "type", "hash", "elements"), nested={"elements": ELEMENT})
VALUE = Shape(keep=("name",))


def size(value: Any) -> int:
    """Characters of compact JSON."""
    return len(dumps(value))


def dumps(value: Any) -> str:
    """Compact JSON, as the model receives it."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False, default=str)


def fit_items(items: list[Any], frame: int, budget: int) -> int:
    """How many leading items fit in the budget beside a frame of `frame` characters (at least one)."""
    used = frame
    for index, item in enumerate(items):
        used += size(item) + (1 if index else 0)
        if used > budget:
            return max(index, 1)
    return len(items)


def fit_object(obj: dict[str, Any], budget: int, hint: str) -> dict[str, Any]:
    """The object with its largest fields shortened until it fits, and a note saying what was cut."""
    if size(obj) <= budget:
        return obj
    result = dict(obj)
    cuts: list[str] = []
    protected = {"id", "short_id", "name", "url", "note", "truncated", "client_query_id", "ok"}
    for _ in range(len(result)):
        over = size(result) + 400 - budget
        if over <= 0:
            break
        candidates = [(size(v), k) for k, v in result.items() if k not in protected]
        if not candidates:
            break
        field_size, name = max(candidates)
        value = result[name]
        room = max(field_size - over, 0)
        if isinstance(value, list) and len(value) > 1:
            kept = fit_items(value, 2, room) if room > 2 else 0
            kept = min(kept, len(value) - 1)
            result[name] = value[:kept]
            cuts.append(f"{name}: first {kept} of {len(value)} items")
        elif isinstance(value, str) and room > 20:
            result[name] = value[: room - 20] + "…"
            cuts.append(f"{name}: first {room - 20} of {len(value)} characters")
        else:
            result[name] = f"[left out: {field_size} characters]"
            cuts.append(f"{name}: left out")
    result["truncated"] = f"Shortened to fit the response budget of {budget} characters ({'; '.join(cuts)}). {hint}"
    return result
