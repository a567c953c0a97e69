"""The command line: `call`, `tools`, `doctor`, `sandbox serve`, and start-up refusals, as a person meets them."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from mcp_server.cli import main
from tests.sandbox_process import ROOT, URL_LINE, process_printing_url

KEY = "phx_clitestkey_abcdefghijklmnop"


def test_call_prints_the_structured_result(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--sandbox", "call", "elements-values-list", '{"key": "tag_name"}']) == 0
    result = json.loads(capsys.readouterr().out)
    assert {"name": "button"} in result["results"]


def test_call_prints_an_error_result_as_json_and_exits_1(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--sandbox", "call", "insight-get", '{"id": 999999}']) == 1
    assert "was not found" in json.loads(capsys.readouterr().out)["error"]


def test_call_with_an_unknown_tool_names_the_tools_and_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--sandbox", "call", "insight-explode", "{}"]) == 2
    err = capsys.readouterr().err
    assert "Unknown tool 'insight-explode'" in err
    assert "insights-list" in err
    assert "Traceback" not in err


@pytest.mark.parametrize("arguments", ["[1]", '"x"', "{not json"])
def test_call_with_arguments_that_are_not_a_json_object_exits_2(
    arguments: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--sandbox", "call", "insights-list", arguments]) == 2
    assert "posthog-mcp: the arguments" in capsys.readouterr().err


def test_tools_lists_what_a_scoped_sandbox_key_allows(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--sandbox", "--api-key", "phx_sandbox_insight_only_demo_key", "tools"]) == 0
    heading, *rows = capsys.readouterr().out.splitlines()
    assert heading == "toolsets: insights, elements (the default), of insights, elements, elements-legacy"
    names = [line.split()[0] for line in rows]
    assert names == [
        "insights-list",
        "insight-get",
        "insight-create",
        "insight-update",
        "insight-delete",
        "insights-mark-viewed",
        "insight-generate-metadata",
    ]


def test_doctor_without_a_key_says_so_and_exits_1(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for var in ("POSTHOG_PERSONAL_API_KEY", "POSTHOG_API_KEY", "POSTHOG_MCP_SANDBOX"):
        monkeypatch.delenv(var, raising=False)
    assert main(["doctor"]) == 1
    assert "[FAIL] no API key" in capsys.readouterr().out


def test_per_request_keys_do_not_excuse_stdio_from_needing_a_key(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for var in ("POSTHOG_PERSONAL_API_KEY", "POSTHOG_API_KEY", "POSTHOG_MCP_SANDBOX"):
        monkeypatch.delenv(var, raising=False)
    assert main(["--per-request-keys", "tools"]) == 2
    assert "No PostHog API key" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--tools", ",", "tools"], "names no tools"),
        (["--transport", "http", "--auth-token", "short"], "too short to be a secret"),
        (["--transport", "http", "--host", "0.0.0.0"], "POSTHOG_MCP_AUTH_TOKEN"),
    ],
)
def test_start_up_refusals_name_the_fix(argv: list[str], message: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--api-key", KEY, *argv]) == 2
    assert message in capsys.readouterr().err


def test_a_port_in_use_is_a_message_not_a_traceback() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = subprocess.run(
            [sys.executable, "-m", "mcp_server", "--api-key", KEY, "--transport", "http", "--port", str(port)],
            capture_output=True,
            text=True,
            timeout=60,
            cwd=ROOT,
        )
    assert done.returncode == 2
    assert f"cannot listen on 127.0.0.1:{port}" in done.stderr
    assert "Traceback" not in done.stderr


def test_sandbox_serve_takes_the_database_and_port_from_options_given_before_it(tmp_path: object) -> None:
    db = f"{tmp_path}/demo.db"
    command = [sys.executable, "-m", "mcp_server", "--sandbox-db", db, "--port", "0", "sandbox", "serve"]
    with process_printing_url(command, pattern=URL_LINE) as (_, url):
        assert url.startswith("http://127.0.0.1:")
    from pathlib import Path

    assert Path(db).stat().st_size > 0


@pytest.mark.parametrize("command", [["tools"], ["call", "insights-list", "{}"], ["doctor"]])
def test_a_sandbox_db_that_is_not_a_sandbox_database_is_refused_without_a_traceback(
    command: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "notes.db"
    path.write_text("not a database")
    assert main(["--sandbox", "--sandbox-db", str(path), *command]) == 2
    err = capsys.readouterr().err
    assert f"--sandbox-db {path}: file is not a database. Delete it or choose another file." in err
    assert "Traceback" not in err
