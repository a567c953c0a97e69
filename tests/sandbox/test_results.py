"""Derived results: deterministic per query, shaped as PostHog shapes each insight kind, zero for unknown events."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from mcp_server.sandbox.results import compute

NOW = datetime(2025, 3, 14, 15, 30, tzinfo=UTC)


def ev(event: str, math: str = "total") -> dict[str, Any]:
    return {"kind": "EventsNode", "event": event, "math": math}


def viz(kind: str, **source: Any) -> dict[str, Any]:
    return {"kind": "InsightVizNode", "source": {"kind": kind, **source}}


def trends(*series: dict[str, Any], date_from: str = "-7d", **extra: Any) -> dict[str, Any]:
    return viz("TrendsQuery", series=list(series), dateRange={"date_from": date_from}, **extra)


def test_the_same_query_gives_the_same_numbers() -> None:
    query = trends(ev("$pageview"), ev("signed_up"))
    assert compute(query, NOW) == compute(query, NOW)
    assert compute(query, NOW).result != compute(trends(ev("$pageview")), NOW).result


def test_an_event_the_demo_data_does_not_have_counts_zero() -> None:
    """A project that never received an event counts it zero; the sandbox invents nothing for a misspelled name."""
    series = compute(trends(ev("signed_upp")), NOW).result[0]
    assert series["label"] == "signed_upp"
    assert set(series["data"]) == {0.0} and series["count"] == 0


def test_trends_series_follow_the_date_range_and_interval() -> None:
    series = compute(trends(ev("$pageview")), NOW).result[0]
    assert series["labels"][0] == "7-Mar-2025" and series["labels"][-1] == "14-Mar-2025"
    assert series["days"][-1] == "2025-03-14"
    assert len(series["data"]) == 8 and min(series["data"]) > 0
    assert series["count"] == sum(series["data"])


def test_hourly_trends_label_hours() -> None:
    series = compute(trends(ev("uploaded_file"), date_from="-24h", interval="hour"), NOW).result[0]
    assert series["labels"][-1] == "14-Mar 15:00"
    assert series["days"][-1] == "2025-03-14 15:00:00"


def test_a_breakdown_gives_one_series_per_value() -> None:
    result = compute(trends(ev("$pageview"), breakdownFilter={"breakdown": "$browser"}), NOW).result
    assert [series["breakdown_value"] for series in result][:2] == ["Chrome", "Safari"]
    assert result[0]["label"] == "Chrome" and result[0]["count"] > result[1]["count"]


def test_total_value_displays_aggregate_without_labels() -> None:
    series = compute(trends(ev("signed_up"), trendsFilter={"display": "BoldNumber"}), NOW).result[0]
    assert (series["data"], series["count"]) == ([], 0)
    assert series["aggregated_value"] > 0 and "labels" not in series


def test_funnel_steps_narrow_from_step_to_step() -> None:
    steps = compute(viz("FunnelsQuery", series=[ev("$pageview"), ev("signed_up"), ev("uploaded_file")]), NOW).result
    counts = [step["count"] for step in steps]
    assert counts == sorted(counts, reverse=True) and counts[-1] > 0
    assert [step["order"] for step in steps] == [0, 1, 2]
    assert steps[0]["average_conversion_time"] is None and steps[1]["average_conversion_time"] > 0


def test_a_funnel_breakdown_gives_a_list_of_step_lists() -> None:
    query = viz("FunnelsQuery", series=[ev("signed_up"), ev("uploaded_file")], breakdownFilter={"breakdown": "plan"})
    result = compute(query, NOW).result
    assert isinstance(result[0], list) and result[0][0]["breakdown_value"] == ["free"]


@pytest.mark.parametrize("kind", ["RetentionQuery", "PathsQuery", "StickinessQuery", "LifecycleQuery"])
def test_other_insight_kinds_answer_their_recorded_result(kind: str) -> None:
    assert compute(viz(kind), NOW).result == compute(viz(kind, dateRange={"date_from": "-90d"}), NOW).result != []


def test_hogql_columns_follow_the_select_list() -> None:
    sql = "SELECT properties.$browser AS browser, count() AS total FROM events GROUP BY browser"
    computed = compute({"kind": "DataVisualizationNode", "source": {"kind": "HogQLQuery", "query": sql}}, NOW)
    assert computed.columns == ["browser", "total"]
    assert computed.types == [["browser", "String"], ["total", "UInt64"]]


@pytest.mark.parametrize("query", [{"kind": "EventsQuery"}, None])
def test_kinds_without_a_model_give_no_rows(query: Any) -> None:
    assert compute(query, NOW).result in ([], None)


def test_funnel_steps_give_average_and_median_conversion_times_in_seconds_null_on_the_first_step() -> None:
    """posthog/hogql_queries/insights/funnels/base.py, _format_single_funnel: both times, null at step 0."""
    steps = compute(viz("FunnelsQuery", series=[ev("$pageview"), ev("signed_up")]), NOW).result
    assert [(s["average_conversion_time"], s["median_conversion_time"]) for s in steps] == [(None, None), (3600, 2700)]


def test_a_compared_trend_gives_current_series_then_the_previous_periods_of_the_same_length() -> None:
    """posthog/hogql_queries/insights/trends/trends_query_runner.py: setup_series puts every current series first,
    then each again over the previous period; build_series_response marks them compare and compare_label."""
    result = compute(trends(ev("$pageview"), ev("signed_up"), compareFilter={"compare": True}), NOW).result
    assert [(s["label"], s["compare"], s["compare_label"]) for s in result] == [
        ("$pageview", True, "current"),
        ("signed_up", True, "current"),
        ("$pageview", True, "previous"),
        ("signed_up", True, "previous"),
    ]
    current, previous = result[0], result[2]
    assert len(previous["days"]) == len(current["days"]) == 8
    assert previous["days"][-1] == "2025-03-06" and current["days"][0] == "2025-03-07"


def test_a_trend_without_compare_has_no_compare_fields() -> None:
    series = compute(trends(ev("$pageview")), NOW).result[0]
    assert "compare" not in series and "compare_label" not in series


def test_trends_series_carry_posthogs_legacy_filter_and_full_action() -> None:
    """posthog/hogql_queries/insights/trends/trends_query_runner.py, build_series_response: every series repeats
    the range's buckets in action.days and the query as a legacy filter (_query_to_filter)."""
    source = trends(ev("signed_up"), date_from="-3d", interval="day", trendsFilter={"display": "ActionsLineGraph"})
    series = compute(source, NOW).result[0]
    assert series["filter"] == {
        "insight": "TRENDS",
        "date_to": "2025-03-14T15:30:00.000000Z",
        "date_from": "2025-03-11T00:00:00.000000Z",
        "entity_type": "events",
        "interval": "day",
        "display": "ActionsLineGraph",
    }
    assert series["action"] == {
        "days": [f"2025-03-{day}T00:00:00.000000Z" for day in (11, 12, 13, 14)],
        "id": "signed_up",
        "type": "events",
        "order": 0,
        "name": "signed_up",
        "custom_name": None,
        "math": "total",
        "math_property": None,
        "math_hogql": None,
        "math_group_type_index": None,
        "properties": {},
    }


def test_funnel_steps_carry_every_field_posthog_serialises() -> None:
    """posthog/hogql_queries/insights/funnels/base.py, _serialize_step and _format_single_funnel."""
    first, second = compute(viz("FunnelsQuery", series=[ev("signed_up"), ev("uploaded_file")]), NOW).result
    assert set(first) == set(second) == {
        "action_id", "name", "custom_name", "order", "people", "count", "type",
        "average_conversion_time", "median_conversion_time",
    }  # fmt: skip
    assert (first["people"], first["type"], first["custom_name"]) == ([], "events", None)
