"""Computed results: deterministic per query and shaped as PostHog shapes each insight kind."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from mcp_server.sandbox.results import compute
from mcp_server.sandbox.seed import event as ev
from mcp_server.sandbox.seed import funnel, lifecycle, paths, retention, sql, stickiness, trends

NOW = datetime(2025, 3, 14, 15, 30, tzinfo=UTC)


def test_the_same_query_gives_the_same_numbers() -> None:
    query = trends(ev("$pageview"), ev("signed_up"))
    assert compute(query, NOW) == compute(query, NOW)
    assert compute(query, NOW).result != compute(trends(ev("$pageview")), NOW).result


def test_trends_series_follow_the_date_range_and_interval() -> None:
    series = compute(trends(ev("$pageview"), date_from="-7d"), NOW).result[0]
    assert series["labels"][0] == "7-Mar-2025" and series["labels"][-1] == "14-Mar-2025"
    assert series["days"][-1] == "2025-03-14"
    assert len(series["data"]) == 8
    assert series["count"] == sum(series["data"])
    assert series["action"]["id"] == "$pageview" and series["label"] == "$pageview"


def test_hourly_trends_label_hours() -> None:
    series = compute(trends(ev("uploaded_file"), date_from="-24h", interval="hour"), NOW).result[0]
    assert series["labels"][-1] == "14-Mar 15:00"
    assert series["days"][-1] == "2025-03-14 15:00:00"


def test_a_breakdown_gives_one_series_per_value() -> None:
    result = compute(trends(ev("$pageview"), breakdown="$browser"), NOW).result
    assert [series["breakdown_value"] for series in result][:2] == ["Chrome", "Safari"]
    assert result[0]["label"] == "Chrome"


def test_a_formula_replaces_the_series() -> None:
    result = compute(trends(ev("signed_up"), ev("$pageview"), formula="A/B*100"), NOW).result
    assert len(result) == 1
    assert result[0]["label"] == "Formula (A/B*100)" and result[0]["action"] is None
    assert 0 < max(result[0]["data"]) < 100


def test_total_value_displays_aggregate_without_labels() -> None:
    series = compute(trends(ev("signed_up"), display="BoldNumber"), NOW).result[0]
    assert (series["data"], series["count"]) == ([], 0)
    assert series["aggregated_value"] > 0 and "labels" not in series


def test_cumulative_displays_count_the_last_value() -> None:
    series = compute(trends(ev("signed_up"), display="ActionsLineGraphCumulative"), NOW).result[0]
    assert series["count"] == series["data"][-1] == max(series["data"])


def test_compare_gives_current_and_previous_series() -> None:
    result = compute(trends(ev("$pageview"), date_from="-7d", compare=True), NOW).result
    assert [series["compare_label"] for series in result] == ["current", "previous"]


def test_funnel_steps_narrow_from_step_to_step() -> None:
    steps = compute(funnel(ev("signed_up"), ev("uploaded_file"), ev("shared_file_link")), NOW).result
    counts = [step["count"] for step in steps]
    assert counts == sorted(counts, reverse=True)
    assert [step["order"] for step in steps] == [0, 1, 2]
    assert steps[0]["average_conversion_time"] is None and steps[1]["average_conversion_time"] > 0


def test_a_funnel_breakdown_gives_a_list_of_step_lists() -> None:
    result = compute(funnel(ev("signed_up"), ev("uploaded_file"), breakdown="plan"), NOW).result
    assert isinstance(result[0], list) and result[0][0]["breakdown_value"] == ["free"]


def test_retention_cohorts_shrink_by_one_value_each() -> None:
    cohorts = compute(retention("signed_up", "uploaded_file", intervals=5), NOW).result
    assert [len(cohort["values"]) for cohort in cohorts] == [5, 4, 3, 2, 1]
    assert cohorts[0]["label"] == "Week 0" and cohorts[0]["values"][1]["label"] == "Week 1"


def test_paths_are_links_between_numbered_steps() -> None:
    links = compute(paths("/"), NOW).result
    assert links[0]["source"] == "1_/" and links[0]["target"].startswith("2_")
    assert all(set(link) == {"source", "target", "value", "average_conversion_time"} for link in links)


def test_stickiness_counts_users_per_number_of_days() -> None:
    series = compute(stickiness("uploaded_file", date_from="-7d"), NOW).result[0]
    assert series["labels"][:2] == ["1 day", "2 days"]
    assert series["days"][:2] == [1, 2]


def test_lifecycle_has_the_four_statuses_with_dormant_negative() -> None:
    result = compute(lifecycle("$pageview"), NOW).result
    assert [series["status"] for series in result] == ["new", "returning", "resurrecting", "dormant"]
    assert all(value <= 0 for value in result[-1]["data"])


def test_hogql_columns_follow_the_select_list() -> None:
    computed = compute(
        sql("SELECT properties.$browser AS browser, count() AS total FROM events GROUP BY browser ORDER BY total DESC"),
        NOW,
    )
    assert computed.columns == ["browser", "total"]
    assert computed.types == [["browser", "String"], ["total", "UInt64"]]
    totals = [row[1] for row in computed.result]
    assert totals == sorted(totals, reverse=True) and len(totals) == 5


@pytest.mark.parametrize("query", [{"kind": "EventsQuery"}, None])
def test_kinds_without_a_model_give_no_rows(query: Any) -> None:
    assert compute(query, NOW).result in ([], None)
