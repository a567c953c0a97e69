"""Autocapture elements: the element resource, click statistics per chain, and element values."""

from __future__ import annotations

import fnmatch
import json
import re
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from starlette.responses import Response

from mcp_server.sandbox import fields
from mcp_server.sandbox.dates import parse_date, start_of_day
from mcp_server.sandbox.errors import invalid, not_found
from mcp_server.sandbox.pages import absolute_url_with, limit_offset, offset_envelope
from mcp_server.sandbox.results import WEEKDAY_SHAPE
from mcp_server.sandbox.seed import CHAINS
from mcp_server.sandbox.state import Call, empty, reply

EVENTS = ("$autocapture", "$rageclick", "$dead_click")
STATS_DEFAULT_LIMIT = 50_000
MAX_STATS_LIMIT = 1_000_000
VALUE_KEYS = ("attr_id", "href", "tag_name", "text")
MAX_VALUES = 100
MAX_DATA_ATTRIBUTES = 50
TEXT_FIELDS = ("text", "tag_name", "href", "attr_id")
INT_FIELDS = ("nth_child", "nth_of_type", "order")
SERIALIZED = ("text", "tag_name", "attr_class", "href", "attr_id", "nth_child", "nth_of_type", "attributes", "order")
SITE = "https://hedgebox.example"
CLICK_DAYS = 30
TEST_ACCOUNT_SHARE = 0.04
STATS_HEADERS = {"Cache-Control": "public, max-age=30", "Vary": "Accept, Accept-Encoding, Query-String"}


def serialize(element: dict[str, Any]) -> dict[str, Any]:
    """ElementSerializer (posthog/api/element.py): no `id`, in list, retrieve and create answers alike."""
    return {name: element[name] for name in SERIALIZED}


def _find(call: Call) -> dict[str, Any]:
    raw = call.params["id"]
    element = call.store.element(call.project_id, int(raw)) if raw.isdigit() else None
    if element is None:
        raise not_found()
    return element


def _clean(body: dict[str, Any]) -> dict[str, Any]:
    clean: dict[str, Any] = {}
    clean |= {name: fields.text(body[name], name, max_length=10_000) for name in TEXT_FIELDS if name in body}
    clean |= {name: fields.integer(body[name], name) for name in INT_FIELDS if name in body}
    if "attr_class" in body:
        clean["attr_class"] = fields.texts(body["attr_class"], "attr_class", allow_null=True)
    if "attributes" in body:
        if not isinstance(body["attributes"], dict):
            raise invalid("Value must be valid JSON.", "attributes")
        clean["attributes"] = body["attributes"]
    return clean


def list_elements(call: Call) -> Response:
    """`GET elements/`: the LimitOffset envelope over the project's elements."""
    limit, offset = limit_offset(call.query)
    page, total = call.store.elements(call.project_id, limit, offset)
    envelope = offset_envelope(call.url, [None] * total, limit, offset)
    envelope["results"] = [serialize(element) for element in page]
    return reply(envelope)


def retrieve_element(call: Call) -> Response:
    """`GET elements/{id}/`."""
    return reply(serialize(_find(call)))


def create_element(call: Call) -> Response:
    """`POST elements/`: 201, but the row gets no group, so the project's list and detail routes never see it."""
    clean = _clean(fields.body_object(call.body))
    call.store.add_element(None, clean)
    return reply(serialize({**dict.fromkeys(SERIALIZED), "attributes": {}, **clean}), 201)


def update_element(call: Call) -> Response:
    """`PATCH`/`PUT elements/{id}/`."""
    element = _find(call)
    call.store.update("elements", element["id"], _clean(fields.body_object(call.body)))
    updated = call.store.element(call.project_id, element["id"])
    assert updated is not None
    return reply(serialize(updated))


def delete_element(call: Call) -> Response:
    """`DELETE elements/{id}/`: a real delete, 204."""
    call.store.delete_element(_find(call)["id"])
    return empty(204)


def _included_events(call: Call) -> tuple[str, ...]:
    """`include`: repeated, a JSON array, or comma-separated; empty means all three."""
    wanted: set[str] = set()
    for raw in call.query.getlist("include"):
        if raw.startswith("["):
            try:
                parsed = json.loads(raw)
            except ValueError as exc:
                raise invalid("include must be a valid JSON array when passed as one") from exc
            if not isinstance(parsed, list) or not all(isinstance(item, str) for item in parsed):
                raise invalid("include must be a JSON array of event names")
            wanted.update(parsed)
        else:
            wanted.update(part.strip() for part in raw.split(",") if part.strip())
    if not wanted:
        return EVENTS
    if not wanted <= set(EVENTS):
        raise invalid("Only $autocapture, $rageclick, and $dead_click are supported.")
    return tuple(event for event in EVENTS if event in wanted)


NUMBER_RULES = {
    "limit": f"between 1 and {MAX_STATS_LIMIT - 1}",
    "offset": "zero or greater",
    "sampling_factor": "greater than 0 and at most 1",
    "max_element_chain_depth": "greater than zero",
}


def _number(call: Call, name: str, default: float, kind: type[Any], valid: Callable[[Any], bool]) -> Any:
    """A numeric stats parameter, refused with PostHog's message when unreadable or out of range."""
    try:
        value = kind(call.query.get(name, str(default)))
    except ValueError as exc:
        raise invalid(f"{name} must be {'an integer' if kind is int else 'a float'}") from exc
    if not valid(value):
        raise invalid(f"{name} must be {NUMBER_RULES[name]}")
    return value


def _property_filters(call: Call) -> list[dict[str, Any]]:
    raw = call.query.get("properties")
    if not raw:
        return []
    try:
        parsed = json.loads(raw)
    except ValueError as exc:
        raise invalid("Properties are unparsable!") from exc
    if isinstance(parsed, dict):
        parsed = parsed.get("values") or []
    if not isinstance(parsed, list):
        raise invalid("Properties are unparsable!")
    flat: list[dict[str, Any]] = []
    for item in parsed:
        if isinstance(item, dict) and isinstance(item.get("values"), list):
            flat += [value for value in item["values"] if isinstance(value, dict)]
        elif isinstance(item, dict):
            flat.append(item)
    return flat


def _property_value(key: str, url: str) -> str | None:
    if key == "$current_url":
        return url
    if key == "$pathname":
        return "/" + url.split("://", 1)[-1].partition("/")[2].split("?")[0]
    if key == "$host":
        return url.split("://", 1)[-1].partition("/")[0]
    return None


def _matches(prop: dict[str, Any], url: str) -> bool:
    """One event property filter on the only properties the sandbox keeps: $current_url and its parts."""
    actual = _property_value(str(prop.get("key")), url)
    operator = str(prop.get("operator") or "exact")
    negated = operator in ("is_not", "not_icontains", "not_regex", "is_not_set")
    if actual is None or operator in ("is_set", "is_not_set"):
        return (actual is None) == negated
    expected = prop.get("value")
    options = [str(v) for v in expected] if isinstance(expected, list) else [str(expected)]
    tests: dict[str, Callable[[str], Any]] = {
        "exact": lambda option: actual == option,
        "icontains": lambda option: option.lower() in actual.lower(),
        "regex": lambda option: re.search(option, actual),
    }
    test = tests.get(operator.removeprefix("not_").replace("is_not", "exact"))
    return test is None or any(test(option) for option in options) != negated


def _attribute_filter(raw: str) -> list[str]:
    patterns = [part.strip() for part in raw.split(",") if part.strip()]
    return patterns[:MAX_DATA_ATTRIBUTES]


def _shaped(elements: list[dict[str, Any]], patterns: list[str], depth: int | None) -> list[dict[str, Any]]:
    chain = elements[:depth] if depth else elements
    if not patterns:
        return [dict(element) for element in chain]
    shaped = []
    for element in chain:
        kept = {
            key: value
            for key, value in element["attributes"].items()
            if any(fnmatch.fnmatchcase(key.removeprefix("attr__"), pattern) for pattern in patterns)
        }
        shaped.append({**element, "attributes": kept})
    return shaped


def clicks(
    call: Call, events: tuple[str, ...], newest: int, oldest: int, include_test: bool
) -> list[tuple[int, str, str, int]]:
    """(chain index, event, page URL, count) per day in range, from each chain's clicks per day in data/clicks.json.

    A weekday shape and a slight decline with age make ranges differ; 4% of clicks come from test accounts.
    """
    if call.project_id != 1 or call.store.meta("demo") != "1":
        return []
    rows = []
    for index, chain in enumerate(CHAINS):
        for event in events:
            for days_ago in range(newest, min(oldest, CLICK_DAYS - 1) + 1):
                weekday = (call.now - timedelta(days=days_ago)).weekday()
                level = chain["per_day"].get(event, 0) * WEEKDAY_SHAPE[weekday] * (1 - 0.004 * days_ago)
                count = round(level / len(chain["pages"]))
                kept = count if include_test else count - round(count * TEST_ACCOUNT_SHARE)
                rows += [(index, event, SITE + page, kept) for page in chain["pages"] if kept]
    return rows


def stats(call: Call) -> Response:
    """`GET elements/stats/`: clicks per (element chain, event type), most first.

    A bare list, unless `paginate_response=true` asks for the `{results, next, previous}` envelope.
    """
    try:
        date_from = parse_date(call.query.get("date_from", "-7d"), call.now)
        date_to = parse_date(call.query["date_to"], call.now) if call.query.get("date_to") else call.now
    except ValueError as exc:
        raise invalid("Invalid date range") from exc
    date_from = start_of_day(date_from)
    limit = _number(call, "limit", STATS_DEFAULT_LIMIT, int, lambda n: 0 < n < MAX_STATS_LIMIT)
    offset = _number(call, "offset", 0, int, lambda n: n >= 0)
    _number(call, "sampling_factor", 1, float, lambda n: 0 < n <= 1)
    events = _included_events(call)
    patterns = _attribute_filter(call.query.get("data_attributes", ""))
    depth = (
        _number(call, "max_element_chain_depth", 0, int, lambda n: n >= 1)
        if "max_element_chain_depth" in call.query
        else None
    )
    properties = _property_filters(call)
    today = start_of_day(call.now)
    newest = max(0, (today - start_of_day(date_to)) // timedelta(days=1))
    oldest = (today - date_from) // timedelta(days=1)
    include_test = call.query.get("filter_test_accounts") != "true"
    totals: dict[tuple[int, str], int] = {}
    for chain_id, event, url, count in clicks(call, events, newest, oldest, include_test):
        if all(_matches(prop, url) for prop in properties):
            totals[(chain_id, event)] = totals.get((chain_id, event), 0) + count
    ranked = sorted(totals.items(), key=lambda item: (-item[1], CHAINS[item[0][0]]["hash"], item[0][1]))
    page = ranked[offset : offset + limit]
    rows = [
        {
            "count": count,
            "hash": CHAINS[chain_id]["hash"],
            "type": event,
            "elements": _shaped(CHAINS[chain_id]["elements"], patterns, depth),
        }
        for (chain_id, event), count in page
    ]
    if call.query.get("paginate_response") != "true":
        return reply(rows, headers=STATS_HEADERS)
    following = absolute_url_with(call.url, offset + limit, None) if len(ranked) > offset + limit else None
    preceding = absolute_url_with(call.url, offset - limit, None) if offset - limit >= 0 else None
    return reply({"results": rows, "next": following, "previous": preceding}, headers=STATS_HEADERS)


def values(call: Call) -> Response:
    """`GET elements/values/`: the most clicked values of one element property, `[{"name": ...}]`."""
    key = call.query.get("key")
    if key == "selector":
        return reply([])
    if key not in VALUE_KEYS:
        raise invalid(f"key must be one of {', '.join(VALUE_KEYS)}")
    wanted = call.query.get("value")
    counts: dict[str, int] = {}
    for chain_id, _, _, count in clicks(call, ("$autocapture",), 0, CLICK_DAYS, True):
        elements = CHAINS[chain_id]["elements"]
        candidates = elements[:1] if key == "tag_name" else elements
        present = [str(e[key]) for e in candidates if e.get(key)]
        if not present or (wanted and not any(wanted in value for value in present)):
            continue
        counts[present[0]] = counts.get(present[0], 0) + count
    ranked = sorted(counts.items(), key=lambda item: (-item[1], item[0]))[:MAX_VALUES]
    return reply([{"name": name} for name, _ in ranked])
