"""The API key never appears in any result, error or log line."""

from __future__ import annotations

import io
import json
import logging
from urllib.parse import quote, quote_plus

import httpx
import pytest

from mcp_server.cli import RedactingFilter
from mcp_server.errors import redact
from tests.conftest import KEY, FakePostHog, connect, error_text
from tests.posthog_json import insight, offset_page

pytestmark = pytest.mark.anyio


def echo_key(request: httpx.Request) -> httpx.Response:
    # A misbehaving proxy that echoes the credentials back in its error body.
    return httpx.Response(400, json={"detail": f"bad header {request.headers['authorization']}", "attr": "x"})


async def test_the_key_never_reaches_a_result_an_error_or_the_log(monkeypatch: pytest.MonkeyPatch) -> None:
    from mcp_server import backend

    log_output = io.StringIO()
    handler = logging.StreamHandler(log_output)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    handler.addFilter(RedactingFilter([KEY]))
    root = logging.getLogger()
    root.addHandler(handler)
    monkeypatch.setattr(root, "level", logging.DEBUG)
    original_read_page = backend.pages.read_page

    def leaky_read_page(style, tool, reply, limit, position):  # type: ignore[no-untyped-def]
        if tool == "elements-stats-retrieve":
            raise RuntimeError(f"bug while holding {KEY}")
        return original_read_page(style, tool, reply, limit, position)

    monkeypatch.setattr(backend.pages, "read_page", leaky_read_page)
    fake = FakePostHog()
    fake.on("GET", "insights/", offset_page([insight(1, basic=True)], 0, 20))
    fake.on("GET", "insights/1/", echo_key)
    fake.on("POST", "insights/", httpx.Response(500, text=f"trace: token={KEY}"))
    fake.on("GET", "elements/", httpx.ConnectError(f"cannot connect with {KEY}"))
    fake.on("GET", "elements/stats/", offset_page([], 0, 50, with_count=False))
    texts = []
    try:
        async with connect(fake) as client:
            for tool, arguments in [
                ("insights-list", {}),
                ("insight-get", {"id": 1}),
                ("insight-create", {"query": {"kind": "TrendsQuery", "series": []}}),
                ("elements-list", {}),
                ("elements-stats-retrieve", {}),
                ("insight-get", {"id": "not valid"}),
            ]:
                result = await client.call_tool(tool, arguments)
                texts.append(result.content[0].text)
    finally:
        root.removeHandler(handler)
    logged = log_output.getvalue()
    assert "Traceback" in logged
    assert "[redacted]" in logged
    assert KEY not in logged
    assert any("[redacted]" in text for text in texts)
    for text in texts:
        assert KEY not in text
        assert KEY[4:20] not in text


def test_the_log_filter_redacts_the_key_from_formatted_messages() -> None:
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "calling with %s", (KEY,), None)
    RedactingFilter([KEY]).filter(record)
    assert record.getMessage() == "calling with [redacted]"


def test_settings_never_show_the_key_in_their_repr() -> None:
    from tests.conftest import settings

    assert KEY not in repr(settings())


# A key with characters that every encoding changes, so each echo below differs from the key itself.
SPECIAL_KEY = 'phx_Sp3c+al/Key=With"Quote\\And&Amp0123456789'
ECHOES = {
    "url-encoded": quote(SPECIAL_KEY, safe=""),
    "url-encoded, lower-case hex": quote(SPECIAL_KEY, safe="").replace("%2B", "%2b").replace("%3D", "%3d"),
    "url-encoded, slash kept": quote(SPECIAL_KEY),
    "form-encoded": quote_plus(SPECIAL_KEY),
    "json-escaped": json.dumps(SPECIAL_KEY)[1:-1],
    "a partial run": SPECIAL_KEY[12:26],
    "a partial run, url-encoded": quote(SPECIAL_KEY[20:], safe=""),
}


@pytest.mark.parametrize("echo", list(ECHOES))
async def test_an_encoded_or_partial_echo_of_the_key_never_reaches_the_result_or_the_log(
    echo: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="mcp_server")
    fake = FakePostHog().on("GET", "insights/", httpx.Response(400, json={"detail": f"bad key [{ECHOES[echo]}]"}))
    async with connect(fake, api_key=SPECIAL_KEY) as client:
        text = error_text(await client.call_tool("insights-list", {}))
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert "bad key [[redacted]]" in text
    assert "insights-list failed: PostHog rejected the request: bad key [[redacted]]" in logged
    for part in (SPECIAL_KEY[4:16], SPECIAL_KEY[-12:], "Quote", "Amp012"):
        assert part not in text
        assert part not in logged


@pytest.mark.parametrize("echo", list(ECHOES))
def test_the_log_filter_redacts_encoded_and_partial_echoes(echo: str) -> None:
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "upstream said %s.", (ECHOES[echo],), None)
    RedactingFilter([SPECIAL_KEY]).filter(record)
    assert record.getMessage() == "upstream said [redacted]."


def test_text_that_merely_shares_a_few_characters_with_the_key_is_kept() -> None:
    text = "phx_ keys start with phx_; 0123456789 is a common run; With Quote"
    assert redact(text, [SPECIAL_KEY]) == text


@pytest.mark.parametrize("echo", [KEY, quote(KEY, safe=""), KEY[4:20]])
async def test_an_echo_of_the_key_in_a_successful_result_is_redacted(echo: str) -> None:
    fake = FakePostHog().on("GET", "insights/7/", {**insight(7), "description": f"token was {echo}"})
    async with connect(fake) as client:
        result = await client.call_tool("insight-get", {"id": 7})
    text = result.content[0].text
    assert not result.is_error
    assert KEY[4:16] not in text and KEY[4:16] not in json.dumps(result.structured_content)
    assert json.loads(text)["description"] == "token was [redacted]"
    assert json.loads(text) == result.structured_content
