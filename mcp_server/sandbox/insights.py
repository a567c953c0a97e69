"""The insight resource: serializers, list filters and ordering, retrieve, create, update, delete."""

from __future__ import annotations

import json
import random
import string
from typing import Any

from starlette.responses import Response

from mcp_server.sandbox import fields
from mcp_server.sandbox.accounts import user_basic
from mcp_server.sandbox.activity import changes, dashboards_change, log_insight
from mcp_server.sandbox.dates import iso, parse_date
from mcp_server.sandbox.errors import invalid, not_found, parse_error, server_error
from mcp_server.sandbox.pages import limit_offset, offset_envelope
from mcp_server.sandbox.queries import QueryRejected, for_mcp, insight_type, structure_error
from mcp_server.sandbox.refresh import Outcome, cache_times, outcome, requested_mode, settle
from mcp_server.sandbox.state import Call, empty, reply

MAX_SEARCH_LENGTH = 200
MAX_NAME_LENGTH = 400
TRUE_STRINGS = {"y", "yes", "t", "true", "on", "1"}
# Insight.MATERIAL_INSIGHT_FIELDS (products/product_analytics/backend/models/insight.py): they bump last_modified_at.
MATERIAL_FIELDS = {"name", "description", "filters"}
# Ordering accepted by `order`; other field names fail in PostHog's ORM, which answers 500.
ORDERABLE = set(
    "id short_id name derived_name description created_at last_modified_at updated_at last_viewed_at favorited saved "  # noqa: SIM905
    "order".split()
)
DATE_FILTERS = {
    f"{prefix}_{end}": column
    for prefix, column in (
        ("date", "last_modified_at"),
        ("created_date", "created_at"),
        ("last_viewed_date", "last_viewed_at"),
    )
    for end in ("from", "to")
}
RESTRICTION_EVERYONE_CAN_EDIT = 21
PRIVILEGE_CAN_EDIT = 37


def str_to_bool(value: str | None) -> bool:
    """PostHog's str_to_bool."""
    return str(value).lower() in TRUE_STRINGS


def find(call: Call, raw_id: str, *, include_deleted: bool = False) -> dict[str, Any]:
    """An insight of the call's project by numeric id (tried first for digits) or short_id; 404 otherwise."""
    by_id = call.store.insight(int(raw_id)) if raw_id.isdigit() else None
    for insight in (by_id, call.store.insight_by_short_id(call.project_id, raw_id)):
        if insight and insight["team_id"] == call.project_id and (include_deleted or not insight["deleted"]):
            return insight
    raise not_found()


def new_short_id() -> str:
    """A random 8-character short_id starting with a letter, so it never reads as a numeric id."""
    return random.choice(string.ascii_letters) + "".join(random.choices(string.ascii_letters + string.digits, k=7))


BASIC_FIELDS = (  # noqa: SIM905 - field order as PostHog's serializer declares it
    "id short_id name derived_name filters query dashboards dashboard_tiles description last_refresh "
    "refreshing saved tags updated_at created_by created_at last_modified_at favorited user_access_level "
    "last_viewed_at"
).split()
FULL_FIELDS = (  # noqa: SIM905 - field order as PostHog's serializer declares it
    "id short_id name derived_name filters query order deleted dashboards dashboard_tiles last_refresh "
    "cache_target_age next_allowed_client_refresh result hasMore columns created_at created_by "
    "description updated_at tags favorited saved last_modified_at last_modified_by is_sample "
    "effective_restriction_level effective_privilege_level user_access_level timezone is_cached "
    "query_status hogql types resolved_date_range alerts last_viewed_at"
).split()


def serialize_insight(
    call: Call,
    insight: dict[str, Any],
    result: Outcome | None,
    last_viewed_at: str | None,
    match: str | None = None,
) -> dict[str, Any]:
    """InsightSerializer, or InsightBasicSerializer when `result` is None (basic answers carry no result)."""
    users = call.store.users()
    tiles = call.store.tiles(insight["id"])
    stored = call.store.result(insight["id"])
    outcome_ = result or Outcome(last_refresh=stored["last_refresh"] if stored else None)
    payload = outcome_.payload or {}
    target_age, next_allowed = cache_times(insight["query"], outcome_.last_refresh)
    values = {
        **insight,
        "filters": {} if insight["query"] else insight["filters"],
        "order": None,
        "dashboards": [tile["dashboard_id"] for tile in tiles],
        "dashboard_tiles": tiles,
        "last_refresh": outcome_.last_refresh,
        "refreshing": False,
        "cache_target_age": target_age,
        "next_allowed_client_refresh": next_allowed,
        "result": payload.get("result"),
        "hasMore": payload.get("has_more") if outcome_.payload else None,
        "columns": payload.get("columns"),
        "created_by": user_basic(users.get(insight["created_by"])),
        "last_modified_by": user_basic(users.get(insight["last_modified_by"])),
        "effective_restriction_level": RESTRICTION_EVERYONE_CAN_EDIT,
        "effective_privilege_level": PRIVILEGE_CAN_EDIT,
        "user_access_level": "editor",
        "timezone": outcome_.timezone,
        "is_cached": outcome_.is_cached,
        "query_status": outcome_.query_status,
        "hogql": payload.get("hogql"),
        "types": payload.get("types"),
        "resolved_date_range": payload.get("resolved_date_range"),
        "alerts": [],
        "last_viewed_at": last_viewed_at,
    }
    data = {name: values[name] for name in (BASIC_FIELDS if result is None else FULL_FIELDS)}
    if match is not None:
        data["search_match_type"] = match
    if result is not None:
        data["filters_hash"] = f"cache_{result.cache_key}" if result.cache_key else None
    return data


def _json_param(call: Call, name: str) -> list[Any]:
    """A JSON-list query parameter; PostHog's bare json.loads fails with 500 on anything else."""
    raw = call.query[name]
    if not raw:
        return []
    try:
        value = json.loads(raw)
    except ValueError as exc:
        raise server_error() from exc
    return value if isinstance(value, list) else [value]


def _moment(call: Call, name: str) -> str:
    """A date parameter as an ISO string; unreadable values mean now, as relative_date_parse does."""
    try:
        return iso(parse_date(call.query[name], call.now))
    except ValueError:
        return iso(call.now)


def search_match(insight: dict[str, Any], term: str) -> str | None:
    """'exact' when the term is in the name, derived name, description or a tag; 'similar' when every word is."""
    haystacks = [str(insight[f] or "").lower() for f in ("name", "derived_name", "description")]
    haystacks += [str(tag).lower() for tag in insight["tags"]]
    needle = term.lower().strip()
    if any(needle in hay for hay in haystacks):
        return "exact"
    words = needle.split()
    if words and all(any(word in hay for hay in haystacks) for word in words):
        return "similar"
    return None


def _filtered(call: Call, items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """PostHog's _filter_request, one query parameter at a time."""
    params = call.query
    for key in params:
        if key == "saved":
            if str_to_bool(params["saved"]):
                items = [i for i in items if i["saved"] or call.store.tiles(i["id"])]
            else:
                items = [i for i in items if not i["saved"]]
        elif key == "favorited":
            items = [i for i in items if i["favorited"]]
        elif key == "user":
            items = [i for i in items if i["created_by"] == call.user_id]
        elif key == "short_id":
            items = [i for i in items if i["short_id"] == params["short_id"]]
        elif key in DATE_FILTERS:
            column, moment, after = DATE_FILTERS[key], _moment(call, key), key.endswith("from")
            items = [
                i for i in items if i[column] is not None and (i[column] > moment if after else i[column] < moment)
            ]
        elif key == "insight":
            items = [i for i in items if insight_type(i["query"]) == params["insight"]]
        elif key == "search" and len(params["search"]) > MAX_SEARCH_LENGTH:
            raise invalid(f"Search query must be {MAX_SEARCH_LENGTH} characters or fewer.", "search")
        elif key == "dashboards":
            for dashboard_id in _json_param(call, "dashboards"):
                items = [i for i in items if dashboard_id in [t["dashboard_id"] for t in call.store.tiles(i["id"])]]
        elif key == "tags":
            wanted_tags = set(_json_param(call, "tags"))
            if wanted_tags:
                items = [i for i in items if wanted_tags & set(i["tags"])]
        elif key == "created_by":
            creators = set(_json_param(call, "created_by"))
            if creators:
                items = [i for i in items if i["created_by"] in creators]
    return items


def _sort_value(value: Any) -> Any:
    return value.casefold() if isinstance(value, str) else value


def ordered(items: list[dict[str, Any]], order: str) -> list[dict[str, Any]]:
    """Order like Postgres: nulls sort last ascending and first descending, except -last_viewed_at (nulls last)."""
    field = order.removeprefix("-")
    descending = order.startswith("-")
    if field not in ORDERABLE:
        raise server_error()
    column = "id" if field == "order" else field
    present = [i for i in items if i.get(column) is not None]
    missing = [i for i in items if i.get(column) is None]
    present.sort(key=lambda i: (_sort_value(i[column]), i["id"]), reverse=descending)
    if descending and field != "last_viewed_at":
        return missing + present
    return present + missing


def list_insights(call: Call) -> Response:
    """`GET insights/`: filters, search, ordering and the LimitOffset envelope."""
    settle(call.store, call.now)
    items = _filtered(call, call.store.insights(call.project_id))
    term = call.query.get("search")
    matches: dict[int, str] = {}
    if term is not None:
        for item in items:
            match = search_match(item, term)
            if match is not None:
                matches[item["id"]] = match
        items = [i for i in items if i["id"] in matches]
    order = call.query.get("order")
    if order:
        items = ordered(items, order)
    elif term is not None:
        items = ordered(items, "name")
        items.sort(key=lambda i: matches[i["id"]] != "exact")
    else:
        # PostHog's default is its `order` field, which is mostly null: no useful order at all.
        items = ordered(items, "order")
    limit, offset = limit_offset(call.query)
    envelope = offset_envelope(call.url, items, limit, offset)
    basic = str_to_bool(call.query.get("basic"))
    mode, requested = requested_mode(call.query)
    envelope["results"] = [
        serialize_insight(
            call,
            item,
            None if basic else outcome(call, item, mode, requested),
            item["last_viewed_at"],
            matches.get(item["id"]),
        )
        for item in envelope["results"]
    ]
    return reply(envelope)


def retrieve_insight(call: Call) -> Response:
    """`GET insights/{id}/`: by id or short_id, serving the result per `refresh`."""
    settle(call.store, call.now)
    insight = find(call, call.params["id"])
    if str_to_bool(call.query.get("basic")):
        return reply(serialize_insight(call, insight, None, None))
    mode, requested = requested_mode(call.query)
    result = outcome(call, insight, mode, requested)
    return reply(serialize_insight(call, insight, result, None))


def _check_query_structure(body: dict[str, Any]) -> None:
    query = body.get("query")
    if query:
        problem = structure_error(query)
        if problem:
            raise parse_error(problem)


def _clean(call: Call, body: dict[str, Any]) -> dict[str, Any]:
    """The writable fields of a body, validated with DRF's messages."""
    clean: dict[str, Any] = {}
    for name in ("name", "derived_name", "description"):
        if name in body:
            clean[name] = fields.text(body[name], name, max_length=MAX_NAME_LENGTH)
    if "query" in body:
        clean["query"] = body["query"] or None
    if "filters" in body:
        if body["filters"] is not None and not isinstance(body["filters"], dict):
            raise invalid("Value must be valid JSON.", "filters")
        clean["filters"] = body["filters"] or {}
    if "tags" in body:
        tags = fields.texts(body["tags"], "tags") or []
        clean["tags"] = sorted({tag.strip() for tag in tags if tag.strip()})
    for name in ("favorited", "saved", "deleted"):
        if name in body:
            clean[name] = fields.boolean(body[name], name)
    if "dashboards" in body:
        dashboards = call.store.dashboards()
        ids = fields.primary_keys(body["dashboards"], "dashboards", set(dashboards))
        if any(dashboards[i]["team_id"] != call.project_id for i in ids):
            raise invalid("Dashboard not found")
        clean["dashboards"] = list(dict.fromkeys(ids))
    return clean


def _mcp_query(call: Call, clean: dict[str, Any], *, creating: bool) -> None:
    """The X-PostHog-Client: mcp rules: query required on create, bare nodes wrapped, invalid ones refused."""
    if call.client != "mcp":
        return
    query = clean.get("query")
    if creating and not query:
        raise invalid("This field is required.", "query")
    if query:
        try:
            clean["query"] = for_mcp(query)
        except QueryRejected as exc:
            raise invalid(f"This query can't be saved: {exc.details}", "query") from exc


def create_insight(call: Call) -> Response:
    """`POST insights/`: 201 with the new insight; records a view and a `created` activity entry."""
    body = fields.body_object(call.body)
    _check_query_structure(body)
    clean = _clean(call, body)
    _mcp_query(call, clean, creating=True)
    stamp = iso(call.now)
    dashboards = clean.pop("dashboards", [])
    record = {"team_id": call.project_id, "short_id": new_short_id(), **clean}
    record |= {"created_at": stamp, "created_by": call.user_id, "updated_at": stamp}
    insight_id = call.store.insert("insights", record | {"last_modified_at": stamp, "last_modified_by": call.user_id})
    if dashboards and not clean.get("deleted"):
        call.store.set_dashboards(insight_id, dashboards)
    call.store.record_view(call.project_id, insight_id, call.user_id, stamp)
    insight = call.store.insight(insight_id)
    assert insight is not None
    log_insight(call.store, insight, "created", call.user_id, stamp, client=call.client)
    mode, requested = requested_mode(call.query)
    return reply(serialize_insight(call, insight, outcome(call, insight, mode, requested), None), 201)


def update_insight(call: Call) -> Response:
    """`PATCH`/`PUT insights/{id}/`: partial update; `deleted` soft-deletes and restores."""
    body = fields.body_object(call.body)
    patching = call.request.method == "PATCH"
    insight = find(call, call.params["id"], include_deleted=patching and body.get("deleted") is False)
    _check_query_structure(body)
    clean = _clean(call, body)
    if patching:
        _mcp_query(call, clean, creating=False)
    before_dashboards = [tile["dashboard_id"] for tile in call.store.tiles(insight["id"])]
    dashboards = clean.pop("dashboards", None)
    clean.setdefault("saved", True)
    now = iso(call.now)
    columns: dict[str, Any] = {**clean, "updated_at": now, "is_sample": 0}
    if clean.keys() & MATERIAL_FIELDS:
        columns.update(last_modified_at=now, last_modified_by=call.user_id)
    call.store.update("insights", insight["id"], columns)
    if clean.get("deleted"):
        call.store.delete_tiles(insight["id"])
    elif dashboards is not None:
        call.store.set_dashboards(insight["id"], dashboards)
    after = call.store.insight(insight["id"])
    assert after is not None
    after_dashboards = [tile["dashboard_id"] for tile in call.store.tiles(insight["id"])]
    found = changes(insight, after)
    if dashboards is not None and not clean.get("deleted"):
        found += dashboards_change(before_dashboards, after_dashboards, call.store.dashboards())
    activity = "updated"
    if not insight["deleted"] and after["deleted"]:
        activity = "deleted"
    elif insight["deleted"] and not after["deleted"]:
        activity = "restored"
    log_insight(call.store, after, activity, call.user_id, now, found, call.client)
    if after["deleted"]:
        return reply(serialize_insight(call, after, Outcome(), None))
    mode, requested = requested_mode(call.query)
    return reply(serialize_insight(call, after, outcome(call, after, mode, requested), None))


def destroy_insight(call: Call) -> Response:
    """`DELETE insights/{id}/`: PostHog forbids hard deletes with a bodiless 405."""
    return empty(405)
