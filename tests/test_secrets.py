"""The API key never appears in any result, error or log line."""

from __future__ import annotations

import io
import logging

import httpx
import pytest

from mcp_server.cli import RedactingFilter
from tests.conftest import KEY, FakePostHog, connect
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
