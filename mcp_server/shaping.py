"""Token-lean results: what each tool keeps of PostHog's answer, and the response budget."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from mcp_server import errors, summaries

# Empty values cost tokens and say nothing: None, and an empty string, list or object (never 0 or false).
EMPTY_TYPES = (str, list, dict)


@dataclass(frozen=True)
class Context:
    """What shaping may need beyond the item: where the insight lives, and the call's arguments."""

    host: str
    project_id: int | None
    arguments: Mapping[str, Any]
    now: datetime = field(default_factory=lambda: datetime.now(UTC))


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
    defaults: Mapping[str, Any] = field(default_factory=dict)
    """Field -> its usual value, left out when the field holds it (the tool's description says which)."""
    days: frozenset[str] = frozenset()
    """Timestamps given as their day, YYYY-MM-DD (UTC)."""
    user_ids: frozenset[str] = frozenset()
    """User fields given as the user's id; a page names each of its users once, in `users`."""
    url_template: Callable[[Context], str | None] | None = None
    """For list items: their page in PostHog, given once per page as a template rather than as a url on each."""

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
            elif name in self.user_ids:
                value = _user_id(value)
            elif name in self.days and isinstance(value, str) and DAY.match(value):
                value = value[:10]
            elif name in self.nested:
                sub = self.nested[name]
                value = [sub.apply(v, context) for v in value] if isinstance(value, list) else sub.apply(value, context)
            if name not in self.keep_empty and _empty(value):
                continue
            if name in self.defaults and _same(value, self.defaults[name]):
                continue
            result[name] = value
        return result

    def shared(self, items: Sequence[Any], context: Context) -> dict[str, Any]:
        """What a page gives once for these items (PostHog's): the url template, and the users they name."""
        shared: dict[str, Any] = {}
        if not items:
            return shared
        if self.url_template is not None and (template := self.url_template(context)):
            shared["url_template"] = template
        users: dict[str, str] = {}
        for item in items:
            for name in self.user_ids:
                user = item.get(name) if isinstance(item, Mapping) else None
                user_id = _user_id(user)
                if isinstance(user, Mapping) and isinstance(user_id, int) and (label := _user_label(user)):
                    users[str(user_id)] = label
        if users:
            shared["users"] = users
        return shared


def _empty(value: Any) -> bool:
    # Exact types, so that 0 and false (whose type is neither) stay; it runs for every field of every item.
    return value is None or (type(value) in EMPTY_TYPES and not value)


def _same(value: Any, usual: Any) -> bool:
    return value is usual or (type(value) is type(usual) and value == usual)


# An ISO 8601 timestamp's date part.
DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def _user_name(user: Mapping[str, Any]) -> str:
    return " ".join(str(user.get(k) or "").strip() for k in ("first_name", "last_name")).strip()


def _user_label(user: Mapping[str, Any]) -> str:
    return _user_name(user) or str(user.get("email") or "")


def _user_id(user: Any) -> Any:
    """A user's id when it has one, else its summary."""
    if isinstance(user, Mapping):
        user_id = user.get("id")
        if isinstance(user_id, int) and not isinstance(user_id, bool):
            return user_id
    return user_summary(user)


def user_summary(user: Any) -> Any:
    """A PostHog user object reduced to id, name and email."""
    if not isinstance(user, Mapping):
        return user
    summary = {"id": user.get("id"), "name": _user_name(user), "email": user.get("email")}
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
    if item.get("short_id") and (template := insight_url_template(context)):
        item["url"] = template.replace("{short_id}", item["short_id"])


def insight_url_template(context: Context) -> str | None:
    """The page of any insight in the PostHog web app, `{short_id}` standing for the insight's."""
    if context.project_id is None:
        return None
    return f"{context.host}/project/{context.project_id}/insights/{{short_id}}"


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


def running_query(item: dict[str, Any], _: Context) -> None:
    """Name a computation still running by the id PostHog knows it by, which insight-query-cancel takes."""
    status = item.get("query_status")
    if isinstance(status, dict) and status.get("id") and not status.get("complete"):
        item["client_query_id"] = status["id"]


def finished_computation(item: dict[str, Any], _: Context) -> None:
    """Bring a finished computation's results up from its query_status, where PostHog's status read puts them."""
    status = item.get("query_status")
    if isinstance(status, dict) and status.get("complete") and not status.get("error"):
        results = status.get("results")
        item.update(results if isinstance(results, dict) else {})
        item["query_status"] = None


def still_computing(item: dict[str, Any], _: Context) -> None:
    """Say how to get the results of a computation that outlives the call."""
    status = item.get("query_status")
    if isinstance(status, dict) and status.get("id") and not status.get("complete"):
        item["note"] = "Still computing: call query-get with this client_query_id for the results."


def default_row_limit(item: dict[str, Any], _: Context) -> None:
    """Say when PostHog capped SQL results at its default row limit (it does so for a query without LIMIT)."""
    limit = item.get("limit")
    if "columns" in item and isinstance(limit, int) and not isinstance(limit, bool):
        most = summaries.MAX_SQL_ROWS
        more = f" More rows exist: add LIMIT (at most {most}) to get them." if item.get("hasMore") else ""
        item["note"] = f"The SQL has no LIMIT, so PostHog returned at most its default of {limit} rows.{more}"


def results_key(item: Mapping[str, Any]) -> str:
    """Where a reply keeps its results: `result` on an insight, `results` on a query's answer."""
    return "result" if "result" in item and "results" not in item else "results"


def answer(item: dict[str, Any], context: Context) -> None:
    """What results say about themselves: whole numbers as integers, trends summaries, funnel conversions, a stale
    note, and whether they are complete (what cut them, the limit, the query that ran and its page in PostHog)."""
    key = results_key(item)
    if item.get(key) is None:
        return
    ran = item.get("query") if key == "result" else context.arguments.get("query")
    results = item[key] = summaries.whole(item[key])
    step = summaries.interval(ran) or (summaries.SQL_INTERVAL if "columns" in item else None)
    computed = summaries.moment(item.get("last_refresh"))
    summaries.describe(results, ran, step, computed or context.now, summaries.zone(item.get("timezone")))
    item["stale"] = summaries.stale_note(step, computed, context.now, results)
    cut_by, limit = summaries.cuts(item, results, ran)
    rows = len(results) if isinstance(results, list) else None
    item |= {"complete": not cut_by, "cut_by": cut_by, "rows": rows, "limit": limit}
    # `complete` and `cut_by` say what PostHog's hasMore did.
    item.pop("hasMore", None)
    if key == "results" and ran is not None:
        item["query"] = ran
        item["url"] = summaries.new_insight_url(context.host, context.project_id, ran)
        item.pop("hogql", None)


def share_days(result: dict[str, Any]) -> dict[str, Any]:
    """Series over the same days give them once, as `days` right after the results; those days then say the
    range the numbers cover, in place of PostHog's `resolved_date_range`.

    Applied once the response budget has cut each series' data and days alike, so it only makes a result smaller.
    """
    key = results_key(result)
    results = result.get(key)
    if not isinstance(results, list) or not results:
        return result
    days = [series.get("days") if isinstance(series, dict) else None for series in results]
    if not isinstance(days[0], list) or any(other != days[0] for other in days):
        return result
    shared: dict[str, Any] = {}
    for name, value in result.items():
        if name == key:
            shared[name] = [{k: v for k, v in series.items() if k != "days"} for series in results]
            shared["days"] = days[0]
        elif name != "resolved_date_range":
            shared[name] = value
    return shared


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
    ),
    defaults={"favorited": False, "saved": True},
    days=frozenset({"created_at", "last_modified_at", "last_viewed_at"}),
    user_ids=frozenset({"created_by"}),
    derive=(name_or_derived, kind_of_query),
    url_template=insight_url_template,
)

# One series, funnel step, cohort or path of an insight's results; rows of SQL results pass through untouched.
RESULT_ITEM = Shape(
    # `filter`, `action` and a funnel step's `type` repeat the query, `labels` repeats `days`, and the people
    # fields are links and lists this server cannot follow.
    drop=frozenset(
        {
            "filter",
            "action",
            "type",
            "labels",
            "people",
            "persons",
            "persons_urls",
            "converted_people_url",
            "dropped_people_url",
        }
    ),
)

# What results say about themselves (summaries.py), first in every result that holds data.
COMPLETENESS = ("complete", "cut_by", "rows", "limit", "last_refresh", "stale")

INSIGHT_DETAIL = Shape(
    keep=(
        "id",
        "short_id",
        "name",
        "derived_name",
        "description",
        *COMPLETENESS,
        "query",
        "result",
        "hasMore",
        "columns",
        "query_status",
        "client_query_id",
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
    nested={
        "result": RESULT_ITEM,
        "query_status": Shape(keep=("id", "complete", "error", "error_message", "start_time", "end_time")),
    },
    derive=(results_hint, running_query, insight_url, answer),
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

QUERY_RESULT = Shape(
    keep=(
        *COMPLETENESS,
        "results",
        "columns",
        "hasMore",
        "note",
        "resolved_date_range",
        "query_status",
        "client_query_id",
        "query",
        "hogql",
        "url",
    ),
    nested={"results": RESULT_ITEM, "query_status": INSIGHT_DETAIL.nested["query_status"]},
    derive=(finished_computation, running_query, still_computing, default_row_limit, answer),
    keep_empty=frozenset({"results"}),
)

CANCELLED = Shape(keep=("ok", "message"), derive=(ack,))
EVENT_DEFINITION = Shape(keep=("name", "description", "last_seen_at", "tags", "verified"))
PROPERTY_DEFINITION = Shape(keep=("name", "property_type", "description", "tags", "verified"))
DASHBOARD = Shape(keep=("id", "name", "description", "pinned", "tags"))
GENERATED = Shape(keep=("name", "description"))
ELEMENT = Shape(
    derive=(attributes_beyond_fields,),
    keep=("id", "text", "tag_name", "attr_class", "href", "attr_id", "nth_child", "nth_of_type", "attributes", "order"),
)
STATS_ROW = Shape(keep=("count", "type", "hash", "elements"), nested={"elements": ELEMENT})
VALUE = Shape(keep=("name",))


# No PostHog object comes near this depth; the SDK cannot serialise results much deeper (about 250 levels).
MAX_DEPTH = 64
TOO_DEEP = f"[nested more than {MAX_DEPTH} levels deep: left out]"


def clip_depth(value: Any, levels: int = MAX_DEPTH) -> Any:
    """The value with every object or list nested more than `levels` deep replaced by TOO_DEEP."""
    if isinstance(value, dict):
        return {k: clip_depth(v, levels - 1) for k, v in value.items()} if levels else TOO_DEEP
    if isinstance(value, list):
        return [clip_depth(v, levels - 1) for v in value] if levels else TOO_DEEP
    return value


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


PROTECTED = frozenset(
    {"id", "short_id", "name", "url", "note", "truncated", "client_query_id", "ok"}
    | {"complete", "cut_by", "rows", "limit", "last_refresh", "stale"}
)
# The note names at most this many dropped fields, each cut to NOTE_NAME characters, so that it stays small.
NOTE_NAMES = 5
NOTE_NAME = 40
NOTE_CUT = 120
# Deep enough for a series' `data` inside an insight's `result`; deeper fields are dropped rather than shortened.
SHORTEN_LEVELS = 6


def fit_object(obj: dict[str, Any], budget: int, hint: str) -> dict[str, Any]:
    """The object within `budget` characters, with a `truncated` note saying what was cut and how to get it.

    Each field is measured once. The largest field that can make room alone is shortened keeping its type (lists
    keep their leading items, strings their start, and lists of the same length within one object are cut alike,
    so a series' `data` and `days` stay aligned); larger ones are dropped whole, largest first. Protected fields
    (ids, name, url, notes) go last, only when they alone exceed the budget.
    """
    if size(obj) <= budget:
        return obj
    result = {name: value for name, value in obj.items() if name != "truncated"}
    # What each field adds to the compact JSON, '"name":value,': the braces and the note are counted below.
    cost = {name: size({name: value}) - 1 for name, value in result.items()}
    used = 1 + sum(cost.values())
    shortened: list[str] = []
    dropped: list[str] = []

    def excess() -> int:
        return used + size({"truncated": _note(budget, shortened, dropped, hint)}) - 1 - budget

    for name in sorted(result, key=lambda n: (n in PROTECTED, -cost[n])):
        over = excess()
        if over <= 0:
            break
        value_size = cost[name] - size(name) - 2
        # Room for the value, keeping some for the few words the note will add about it.
        room = value_size - over - NOTE_CUT - 3
        if room > 0:
            # Always cut from the original, so that the note counts what PostHog sent.
            value, how = _shorten(obj[name], room)
            saved = value_size - size(value)
            used -= saved
            shortened.append(_clip(name + how, NOTE_CUT))
            if excess() <= 0:
                result[name] = value
                break
            used += saved
            shortened.pop()
        del result[name]
        used -= cost[name]
        dropped.append(name)
    note = _note(budget, shortened, dropped, hint)
    result["truncated"] = note if excess() <= 0 else _note(budget, [], [], "")
    return result


def _clip(text: str, length: int) -> str:
    return text if len(text) <= length else text[: length - 1] + "…"


def _note(budget: int, shortened: list[str], dropped: list[str], hint: str) -> str:
    named = [_clip(name, NOTE_NAME) for name in dropped[:NOTE_NAMES]]
    return errors.shortened(budget, shortened, named, len(dropped) - len(named), hint)


def _longest_prefix(length: int, fits: Callable[[int], bool]) -> int:
    """The largest k < length for which fits(k), by bisection (0 when nothing fits)."""
    low, high = 0, length - 1
    while low < high:
        middle = (low + high + 1) // 2
        if fits(middle):
            low = middle
        else:
            high = middle - 1
    return low


def _shorten(value: Any, room: int, levels: int = SHORTEN_LEVELS) -> tuple[Any, str]:
    """A value of the same type within about `room` characters, and a few words on what was cut.

    It looks at most `levels` levels down: each level measures the whole value again.
    """
    if isinstance(value, list) and value:
        kept = _longest_prefix(len(value), lambda k: size(value[:k]) <= room)
        if kept == 0 and levels and isinstance(value[0], dict | list | str):
            # Not even the first item fits whole: keep the start of it rather than nothing.
            inner, how = _shorten(value[0], max(room - 2, 0), levels - 1)
            rest = f" (first 1 of {len(value)} items)" if len(value) > 1 else ""
            return [inner], f"[0]{how}{rest}"
        return value[:kept], f": first {kept} of {len(value)} items"
    if isinstance(value, dict) and value and levels:
        sizes = {key: size(v) for key, v in value.items()}
        name = max(sizes, key=sizes.__getitem__)
        inner = value[name]
        if isinstance(inner, list) and len(inner) > 1:
            length = len(inner)

            def cut(k: int) -> dict[str, Any]:
                return {key: v[:k] if isinstance(v, list) and len(v) == length else v for key, v in value.items()}

            kept = _longest_prefix(length, lambda k: size(cut(k)) <= room)
            aligned = [key for key, v in value.items() if isinstance(v, list) and len(v) == length and key != name]
            beside = f" (and {', '.join(aligned)} alike)" if aligned else ""
            return cut(kept), f".{name}: first {kept} of {length} items{beside}"
        # Everything but the value itself, '{"key":,...}', from the sizes already measured.
        around = 1 + sum(size(key) + sizes[key] + 2 for key in value) - sizes[name]
        shortened, how = _shorten(inner, max(room - around, 0), levels - 1)
        return {**value, name: shortened}, f".{name}{how}"
    if isinstance(value, str):
        keep = _longest_prefix(len(value), lambda k: size(value[:k] + "…") <= room)
        return value[:keep] + "…", f": first {keep} of {len(value)} characters"
    return value, ": could not be shortened"
