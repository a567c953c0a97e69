"""The insight actions: activity, my_last_viewed, viewed, cancel and generate_metadata."""

from __future__ import annotations

from starlette.responses import Response

from mcp_server.sandbox import fields
from mcp_server.sandbox.activity import serialize
from mcp_server.sandbox.dates import iso
from mcp_server.sandbox.errors import denied, invalid, parse_error, server_error
from mcp_server.sandbox.insights import find, serialize_insight
from mcp_server.sandbox.pages import absolute_url_with
from mcp_server.sandbox.queries import describe, metadata_query_ok, structure_error
from mcp_server.sandbox.state import Call, empty, reply

MY_LAST_VIEWED_COUNT = 5
MAX_VIEWED_IDS = 2500
AI_NOT_APPROVED = "AI data processing must be approved by your organization"


def _activity_page(call: Call, item_id: str | None) -> Response:
    """PostHog's activity_page_response: numbered pages, newest first, absolute next/previous URLs."""
    try:
        limit = int(call.query.get("limit", "10"))
        page = int(call.query.get("page", "1"))
    except ValueError as exc:
        raise server_error() from exc
    if item_id is not None:
        item_id = str(find(call, item_id)["id"])
    if limit < 0 or page < 1:
        raise server_error()
    entries, total = call.store.activity(call.project_id, "Insight", item_id, limit, (page - 1) * limit)
    users = call.store.users()
    following = absolute_url_with(call.url, page + 1, limit, "page") if total > page * limit else None
    preceding = absolute_url_with(call.url, page - 1, limit, "page") if page > 1 else None
    results = [serialize(entry, users) for entry in entries]
    return reply({"results": results, "next": following, "previous": preceding, "total_count": total})


def insight_activity(call: Call) -> Response:
    """`GET insights/{id}/activity/`: one insight's history."""
    return _activity_page(call, call.params["id"])


def all_activity(call: Call) -> Response:
    """`GET insights/activity/`: every insight's history in the project."""
    return _activity_page(call, None)


def my_last_viewed(call: Call) -> Response:
    """`GET insights/my_last_viewed/`: the key owner's last five viewed insights, basic, most recent first."""
    views = call.store.recently_viewed(call.project_id, call.user_id, MY_LAST_VIEWED_COUNT)
    results = []
    for insight_id, viewed_at in views:
        insight = call.store.insight(insight_id)
        if insight is not None:
            results.append(serialize_insight(call, insight, None, viewed_at))
    return reply(results)


def viewed(call: Call) -> Response:
    """`POST insights/viewed/`: record views of live insights of this project; others are dropped silently."""
    body = fields.body_object(call.body)
    ids = fields.integers(
        fields.required(body, "insight_ids"), "insight_ids", max_length=MAX_VIEWED_IDS, allow_empty=False
    )
    stamp = iso(call.now)
    for insight_id in call.store.live_insight_ids(call.project_id, ids):
        call.store.record_view(call.project_id, insight_id, call.user_id, stamp)
    return empty(201)


def cancel(call: Call) -> Response:
    """`POST insights/cancel/`: stop a running computation; its result then never appears."""
    body = fields.body_object(call.body)
    if "client_query_id" not in body:
        raise invalid("Field is required.", "client_query_id")
    call.store.set_computation_state(call.project_id, str(body["client_query_id"]), "cancelled")
    return empty(201)


def generate_metadata(call: Call) -> Response:
    """`POST insights/generate_metadata/`: a suggested name and description, derived from the query."""
    body = fields.body_object(call.body)
    query = body.get("query")
    if query:
        problem = structure_error(query)
        if problem:
            raise parse_error(problem)
    if not call.sandbox.ai_approved:
        raise denied(AI_NOT_APPROVED)
    if not query:
        raise invalid("Missing 'query' field in request body")
    if not metadata_query_ok(query):
        raise invalid("Invalid query format")
    name, description = describe(query)
    return reply({"name": name, "description": description})
