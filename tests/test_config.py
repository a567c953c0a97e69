"""Configuration: environment first, flags override, and start-up checks that name the fix."""

from __future__ import annotations

import pytest

from mcp_server.cli import build_parser, main
from mcp_server.config import ConfigError, load

KEY = "phx_configtestkey_abcdefghijklmnop"


def flags(*argv: str) -> dict[str, object]:
    namespace = vars(build_parser().parse_args(list(argv)))
    namespace.pop("command", None)
    return namespace


def test_environment_supplies_settings_and_shorthand_hosts_expand() -> None:
    settings = load({}, {"POSTHOG_PERSONAL_API_KEY": KEY, "POSTHOG_HOST": "eu", "POSTHOG_PROJECT_ID": "12"})
    assert settings.api_key == KEY
    assert settings.posthog_host == "https://eu.posthog.com"
    assert settings.project_id == 12


def test_posthog_api_key_is_accepted_too_and_the_default_host_is_us_cloud() -> None:
    settings = load({}, {"POSTHOG_API_KEY": KEY})
    assert settings.api_key == KEY
    assert settings.posthog_host == "https://us.posthog.com"


def test_a_flag_wins_over_the_environment() -> None:
    settings = load(
        flags("--project-id", "7", "--posthog-host", "https://ph.internal.example/"), {"POSTHOG_PROJECT_ID": "12"}
    )
    assert settings.project_id == 7
    assert settings.posthog_host == "https://ph.internal.example"


def test_options_work_before_or_after_the_subcommand() -> None:
    assert flags("--read-only", "tools")["read_only"] is True
    assert flags("tools", "--read-only")["read_only"] is True
    assert flags("--tools", "insights-list", "call", "insights-list", "{}")["tools"] == "insights-list"


def test_an_empty_variable_counts_as_unset() -> None:
    settings = load(
        {},
        {"POSTHOG_PERSONAL_API_KEY": KEY, "POSTHOG_HOST": "", "POSTHOG_PROJECT_ID": " ", "POSTHOG_MCP_READ_ONLY": ""},
    )
    assert settings.posthog_host == "https://us.posthog.com"
    assert settings.project_id is None
    assert settings.read_only is False


@pytest.mark.parametrize(("word", "value"), [("1", True), ("yes", True), ("TRUE", True), ("0", False), ("no", False)])
def test_booleans_accept_the_usual_words(word: str, value: bool) -> None:
    assert load({}, {"POSTHOG_MCP_READ_ONLY": word}).read_only is value


def test_the_allow_list_is_comma_separated() -> None:
    settings = load({}, {"POSTHOG_MCP_TOOLS": "insights-list, insight-get,"})
    assert settings.tools == frozenset({"insights-list", "insight-get"})


@pytest.mark.parametrize(
    ("environ", "fix"),
    [
        ({"POSTHOG_PERSONAL_API_KEY": "phc_projectkey123"}, "personal API key (phx_...)"),
        ({"POSTHOG_HOST": "us.i.posthog.com"}, "Use `us`"),
        ({"POSTHOG_HOST": "https://eu.i.posthog.com"}, "Use `eu`"),
        ({"POSTHOG_HOST": "ftp://x"}, "http(s) URL"),
        ({"POSTHOG_PROJECT_ID": "my-project"}, "must be a whole number"),
        ({"POSTHOG_PROJECT_ID": "0"}, "positive project number"),
        ({"POSTHOG_PERSONAL_API_KEY": "${user_config.api_key}"}, "unsubstituted placeholder"),
        ({"POSTHOG_MCP_READ_ONLY": "maybe"}, "must be true or false"),
        ({"POSTHOG_MCP_TRANSPORT": "websocket"}, "stdio, sse or http"),
        ({"POSTHOG_MCP_PORT": "70000"}, "between 0 and 65535"),
    ],
)
def test_configuration_mistakes_get_a_message_that_names_the_fix(environ: dict[str, str], fix: str) -> None:
    with pytest.raises(ConfigError) as raised:
        load({}, environ)
    assert fix in str(raised.value)
    assert "phc_projectkey123" not in str(raised.value)


def test_an_unknown_tool_in_the_allow_list_is_refused_at_start_up(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["--api-key", KEY, "--tools", "insights-list,insight-explode", "tools"])
    assert code == 2
    assert "insight-explode" in capsys.readouterr().err


def test_no_key_and_no_sandbox_exits_naming_both_options(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for var in ("POSTHOG_PERSONAL_API_KEY", "POSTHOG_API_KEY", "POSTHOG_MCP_SANDBOX"):
        monkeypatch.delenv(var, raising=False)
    assert main([]) == 2
    err = capsys.readouterr().err
    assert "POSTHOG_PERSONAL_API_KEY" in err
    assert "--sandbox" in err


def test_version_and_help(capsys: pytest.CaptureFixture[str]) -> None:
    from mcp_server import __version__

    with pytest.raises(SystemExit):
        main(["--version"])
    assert capsys.readouterr().out.strip() == f"posthog-mcp {__version__}"
    with pytest.raises(SystemExit):
        main(["--help"])
    out = capsys.readouterr().out
    assert "POSTHOG_PERSONAL_API_KEY" in out
    assert "call TOOL" in out


@pytest.mark.parametrize(
    ("pasted", "kind"),
    [
        ("phx_configtest\u200bkey_abcdefghijklmnop", "an invisible character"),
        ("\ufeffphx_configtestkey_abcdefghijklmnop", "an invisible character"),
        ("phx_configtéstkey_abcdefghijklmnop", "a non-ASCII character"),
        ("phx_configtest\x00key_abcdefghijklmnop", "a control character"),
        ("phx_configtest key_abcdefghijklmnop", "whitespace"),
    ],
)
def test_a_key_with_a_character_no_key_holds_is_refused_without_showing_it(pasted: str, kind: str) -> None:
    with pytest.raises(ConfigError) as raised:
        load({}, {"POSTHOG_PERSONAL_API_KEY": pasted})
    message = str(raised.value)
    assert f"The API key contains {kind}" in message
    assert "copy the key again" in message
    assert "configt" not in message
    assert "abcdef" not in message


@pytest.mark.parametrize("command", [["tools"], ["doctor"], ["call", "insights-list", "{}"]])
def test_every_command_refuses_a_key_with_a_zero_width_space_at_start_up(
    command: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["--api-key", "phx_configtest\u200bkey_abcdefghijklmnop", *command]) == 2
    captured = capsys.readouterr()
    assert "posthog-mcp: The API key contains an invisible character" in captured.err
    assert "Traceback" not in captured.err + captured.out
    assert "configt" not in captured.err + captured.out


def test_an_allow_list_of_huge_or_many_unknown_names_is_refused_briefly() -> None:
    with pytest.raises(ConfigError) as raised:
        load({}, {"POSTHOG_MCP_TOOLS": "insights-lisst," + "y" * 1_000_000 + "," + ",".join(["z"] * 10_000)})
    message = str(raised.value)
    assert "'insights-lisst' (did you mean 'insights-list'?)" in message
    assert "'yyyy" in message
    assert "and 9997 more" in message
    assert len(message) < 2000
