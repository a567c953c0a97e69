"""Elements: the resource, click statistics with and without the paginated envelope, and values."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.posthog_json import ELEMENT_SERIALIZER_FIELDS
from tests.sandbox.conftest import BASE, PROJECT, Api

pytestmark = pytest.mark.anyio

STAT_ROWS_LAST_WEEK = 54


async def stats(api: Api, **params: Any) -> Any:
    response = await api().get(PROJECT + "elements/stats/", params=params)
    assert response.status_code == 200, response.text
    return response.json()


async def test_elements_list_is_a_limit_offset_envelope_with_count(api: Api) -> None:
    body = (await api().get(PROJECT + "elements/?limit=5&offset=5")).json()
    assert list(body) == ["count", "next", "previous", "results"]
    assert body["count"] > 200
    assert body["next"] == f"{BASE}{PROJECT}elements/?limit=5&offset=10"
    assert body["previous"] == f"{BASE}{PROJECT}elements/?limit=5"
    assert list(body["results"][0]) == ELEMENT_SERIALIZER_FIELDS


async def element_rows(api: Api, text: str) -> list[dict[str, Any]]:
    """Element rows with their ids, from the sandbox's control API (PostHog's API never gives an id out)."""
    rows: list[dict[str, Any]] = (await api(None).get("/_sandbox/elements", params={"text": text})).json()
    return rows


async def test_a_created_element_answers_201_without_an_id_and_is_stored_ungrouped(api: Api) -> None:
    """posthog/api/element.py: the queryset is scoped through `group__team_id`; an API-created row has no group."""
    created = await api().post(
        PROJECT + "elements/", json={"tag_name": "button", "text": "Try it", "attr_class": ["cta"], "nth_child": "2"}
    )
    assert created.status_code == 201
    assert created.json() == {
        **dict.fromkeys(ELEMENT_SERIALIZER_FIELDS),
        "tag_name": "button",
        "text": "Try it",
        "attr_class": ["cta"],
        "nth_child": 2,
        "attributes": {},
    }
    [row] = await element_rows(api, "Try it")
    assert row["team_id"] is None
    listed = (await api().get(PROJECT + "elements/?limit=1000")).json()["results"]
    assert "Try it" not in [element["text"] for element in listed]
    for method in ("GET", "PATCH", "DELETE"):
        answer = await api().request(method, f"{PROJECT}elements/{row['id']}/", json={"text": "x"})
        assert answer.status_code == 404


async def test_a_legacy_element_is_read_updated_and_deleted_by_its_id(api: Api) -> None:
    [row] = await element_rows(api, "Choose Business")
    read = await api().get(f"{PROJECT}elements/{row['id']}/")
    updated = await api().patch(f"{PROJECT}elements/{row['id']}/", json={"text": "Choose Team"})
    deleted = await api().delete(f"{PROJECT}elements/{row['id']}/")
    after = await api().get(f"{PROJECT}elements/{row['id']}/")
    assert (read.status_code, list(read.json()), read.json()["text"]) == (
        200,
        ELEMENT_SERIALIZER_FIELDS,
        "Choose Business",
    )
    assert (updated.status_code, updated.json()["text"], updated.json()["tag_name"]) == (200, "Choose Team", "button")
    assert (deleted.status_code, deleted.content) == (204, b"")
    assert after.status_code == 404


@pytest.mark.parametrize(
    ("body", "attr", "detail"),
    [
        ({"nth_child": "second"}, "nth_child", "A valid integer is required."),
        ({"attr_class": "cta"}, "attr_class", 'Expected a list of items but got type "str".'),
        ({"text": {"a": 1}}, "text", "Not a valid string."),
    ],
)
async def test_invalid_element_fields_are_400(api: Api, body: dict[str, Any], attr: str, detail: str) -> None:
    response = await api().post(PROJECT + "elements/", json=body)
    assert response.status_code == 400
    assert (response.json()["attr"], response.json()["detail"]) == (attr, detail)


async def test_stats_answer_a_bare_list_unless_asked_to_paginate(api: Api) -> None:
    rows = await stats(api)
    assert isinstance(rows, list) and len(rows) == STAT_ROWS_LAST_WEEK
    assert set(rows[0]) == {"count", "hash", "type", "elements"}


async def test_paginated_stats_have_next_and_previous_but_no_count(api: Api) -> None:
    first = await stats(api, paginate_response="true", limit=10)
    assert list(first) == ["results", "next", "previous"]
    assert len(first["results"]) == 10
    assert first["next"] == f"{BASE}{PROJECT}elements/stats/?paginate_response=true&limit=10&offset=10"
    assert first["previous"] is None
    second = (await api().get(first["next"])).json()
    assert second["previous"] == f"{BASE}{PROJECT}elements/stats/?paginate_response=true&limit=10&offset=10"
    third = (await api().get(second["next"])).json()
    assert third["previous"] == f"{BASE}{PROJECT}elements/stats/?paginate_response=true&limit=10&offset=10"
    hashes = [row["hash"] + row["type"] for page in (first, second, third) for row in page["results"]]
    assert len(set(hashes)) == 30


async def test_following_stats_pages_yields_every_row_once(api: Api) -> None:
    everything = await stats(api)
    seen: list[dict[str, Any]] = []
    url: str | None = f"{PROJECT}elements/stats/?paginate_response=true&limit=7"
    while url:
        page = (await api().get(url)).json()
        seen += page["results"]
        url = page["next"]
    assert seen == everything


async def test_stats_rows_are_sorted_by_count_with_the_clicked_element_first(api: Api) -> None:
    rows = await stats(api)
    counts = [row["count"] for row in rows]
    assert counts == sorted(counts, reverse=True)
    chain = rows[0]["elements"]
    assert [element["order"] for element in chain] == list(range(len(chain)))
    assert chain[-1]["tag_name"] == "body"
    assert all(isinstance(row["hash"], str) and int(row["hash"], 16) >= 0 for row in rows)


@pytest.mark.parametrize(
    ("include", "types"),
    [
        ("$rageclick", {"$rageclick"}),
        ("$rageclick, $dead_click", {"$rageclick", "$dead_click"}),
        ('["$dead_click"]', {"$dead_click"}),
        (["$rageclick", "$dead_click"], {"$rageclick", "$dead_click"}),
    ],
)
async def test_include_takes_commas_json_or_repeats(api: Api, include: str | list[str], types: set[str]) -> None:
    rows = await stats(api, include=include)
    assert rows and {row["type"] for row in rows} == types


@pytest.mark.parametrize(
    ("params", "detail"),
    [
        ({"include": "$pageview"}, "Only $autocapture, $rageclick, and $dead_click are supported."),
        ({"include": "[oops"}, "include must be a valid JSON array when passed as one"),
        ({"include": "[1, 2]"}, "include must be a JSON array of event names"),
        ({"limit": "ten"}, "limit must be an integer"),
        ({"limit": "0"}, "limit must be between 1 and 999999"),
        ({"limit": "1000000"}, "limit must be between 1 and 999999"),
        ({"offset": "x"}, "offset must be an integer"),
        ({"offset": "-1"}, "offset must be zero or greater"),
        ({"sampling_factor": "half"}, "sampling_factor must be a float"),
        ({"sampling_factor": "0"}, "sampling_factor must be greater than 0 and at most 1"),
        ({"max_element_chain_depth": "deep"}, "max_element_chain_depth must be an integer"),
        ({"max_element_chain_depth": "0"}, "max_element_chain_depth must be greater than zero"),
    ],
)
async def test_stats_parameters_are_validated_with_posthog_messages(
    api: Api, params: dict[str, str], detail: str
) -> None:
    response = await api().get(PROJECT + "elements/stats/", params=params)
    assert response.status_code == 400
    assert response.json() == {"type": "validation_error", "code": "invalid_input", "detail": detail, "attr": None}


async def test_max_element_chain_depth_keeps_the_clicked_element_and_nearest_ancestors(api: Api) -> None:
    full = await stats(api)
    short = await stats(api, max_element_chain_depth=2)
    assert all(len(row["elements"]) <= 2 for row in short)
    assert [row["hash"] for row in short] == [row["hash"] for row in full]
    assert short[0]["elements"] == full[0]["elements"][:2]


async def test_data_attributes_trim_each_elements_attributes(api: Api) -> None:
    rows = await stats(api, data_attributes="data-*")
    keys = {key for row in rows for element in row["elements"] for key in element["attributes"]}
    assert keys == {"attr__data-attr"}


async def test_a_longer_date_range_counts_more_clicks(api: Api) -> None:
    week = sum(row["count"] for row in await stats(api))
    month = sum(row["count"] for row in await stats(api, date_from="-30d"))
    today = sum(row["count"] for row in await stats(api, date_from="dStart"))
    assert today < week < month


async def test_current_url_filters_narrow_stats_to_a_page(api: Api) -> None:
    exact = [{"key": "$current_url", "value": "https://hedgebox.example/pricing", "operator": "exact", "type": "event"}]
    rows = await stats(api, properties=json.dumps(exact))
    texts = {row["elements"][0]["text"] for row in rows}
    assert "Choose Pro" in texts and "Upload" not in texts
    contains = [{"key": "$current_url", "value": "/FILES", "operator": "icontains", "type": "event"}]
    assert "Upload" in {row["elements"][0]["text"] for row in await stats(api, properties=json.dumps(contains))}


async def test_filtering_test_accounts_lowers_the_counts(api: Api) -> None:
    everyone = sum(row["count"] for row in await stats(api))
    real_users = sum(row["count"] for row in await stats(api, filter_test_accounts="true"))
    assert real_users < everyone


async def test_values_lists_the_most_clicked_values_of_a_key(api: Api) -> None:
    response = await api().get(PROJECT + "elements/values/?key=text")
    names = [item["name"] for item in response.json()]
    assert response.status_code == 200
    assert names[0] == "Open"
    assert len(names) <= 100 and len(set(names)) == len(names)
    assert all(list(item) == ["name"] for item in response.json())


async def test_values_filters_by_a_case_sensitive_substring(api: Api) -> None:
    upper = [item["name"] for item in (await api().get(PROJECT + "elements/values/?key=text&value=Up")).json()]
    lower = [item["name"] for item in (await api().get(PROJECT + "elements/values/?key=text&value=up")).json()]
    assert "Upload" in upper and "Upload" not in lower


async def test_values_of_tag_name_are_the_clicked_tags(api: Api) -> None:
    tags = [item["name"] for item in (await api().get(PROJECT + "elements/values/?key=tag_name")).json()]
    assert tags[0] == "button" and "body" not in tags


@pytest.mark.parametrize("key", ["attr_class", "", None])
async def test_values_refuses_other_keys(api: Api, key: str | None) -> None:
    params = {} if key is None else {"key": key}
    response = await api().get(PROJECT + "elements/values/", params=params)
    assert response.status_code == 400
    assert response.json()["detail"] == "key must be one of attr_id, href, tag_name, text"


async def test_values_of_selector_is_an_empty_list(api: Api) -> None:
    response = await api().get(PROJECT + "elements/values/?key=selector")
    assert (response.status_code, response.json()) == (200, [])
