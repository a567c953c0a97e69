"""The README, manifest.json and CI agree with the catalog and the configuration they describe."""

from __future__ import annotations

import json
import re
from pathlib import Path

from mcp_server import __version__, pages, shaping
from mcp_server.catalog import DEFAULT_TOOLSETS, TOOLS, TOOLSETS, TOOLSETS_SETTING, Tool
from mcp_server.config import OPTIONS

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text()
MANIFEST = json.loads((ROOT / "manifest.json").read_text())


def test_the_readme_tool_table_matches_the_catalog_and_says_each_tools_set_and_why() -> None:
    table = README.split("<!-- tools-table")[1].split("<!-- end tools-table -->")[0]
    rows = [line for line in table.splitlines() if line.startswith("| `")]

    def scope(tool: Tool) -> str:
        own = f"`{tool.scope}`" if tool.scope else "legacy key"
        if tool.fallback is not None:
            return f"{own}, or `{tool.fallback.scope}`"
        return own if tool.scope else "legacy key only"

    expected = [
        f"| `{t.name}` | {t.title} | {scope(t)} | "
        f"{'yes' if t.read_only else 'no'} | `{t.toolset}` ({TOOLSETS[t.toolset]}) |"
        for t in TOOLS
    ]
    assert rows == expected


def test_the_readme_names_every_toolset_and_the_default() -> None:
    section = README.split("## Configuration")[1].split("## Connect a host")[0]
    for name in [*TOOLSETS, "all"]:
        assert f"`{name}`" in section
    assert f"default `{','.join(DEFAULT_TOOLSETS)}`" in section


def test_the_readme_documents_every_option_and_its_environment_variables() -> None:
    section = README.split("## Configuration")[1].split("## Connect a host")[0]
    for option in OPTIONS:
        assert f"`{option.flag}" in section, option.flag
        for variable in option.env:
            assert f"`{variable}`" in section, variable


def test_the_quick_start_opens_with_the_two_self_sufficient_commands_and_ci_runs_the_second() -> None:
    quick_start = README.split("## Quick start")[1]
    block = re.search(r"```sh\n(.*?)```", quick_start, re.S)
    assert block is not None
    lines = block.group(1).strip().splitlines()
    assert lines == ["pip install uv && uv run posthog-mcp --sandbox", "pip install uv && uv run pytest"]
    ci = (ROOT / ".ci" / "run").read_text().splitlines()
    assert lines[1] in ci


def test_the_quick_starts_alternative_for_externally_managed_pythons_runs_the_same_two_commands() -> None:
    blocks = re.findall(r"```sh\n(.*?)```", README.split("## Quick start")[1], re.S)
    usual, alternative = (block.strip().splitlines() for block in blocks[:2])
    venv = "python3 -m venv .uv && .uv/bin/pip install uv && .uv/bin/"
    assert alternative == [line.replace("pip install uv && ", venv) for line in usual]


def test_the_manifest_lists_the_catalogs_tools_and_the_package_version() -> None:
    assert MANIFEST["version"] == __version__
    assert MANIFEST["tools"] == [{"name": t.name, "description": t.description} for t in TOOLS]


def test_the_bundle_settings_offer_the_toolsets_and_pass_them_on() -> None:
    assert MANIFEST["user_config"]["toolsets"] == TOOLSETS_SETTING
    assert MANIFEST["server"]["mcp_config"]["env"]["POSTHOG_MCP_TOOLSETS"] == "${user_config.toolsets}"


def test_the_manifest_passes_settings_as_the_documented_environment_variables() -> None:
    env = MANIFEST["server"]["mcp_config"]["env"]
    documented = {variable for option in OPTIONS for variable in option.env}
    for variable, value in env.items():
        assert variable == "PYTHONPATH" or variable in documented
        if variable != "PYTHONPATH":
            name = re.fullmatch(r"\$\{user_config\.(\w+)\}", value)
            assert name is not None
            assert name.group(1) in MANIFEST["user_config"]
    for key, spec in MANIFEST["user_config"].items():
        assert spec["title"]
        assert spec["description"]
        if not spec.get("required"):
            assert "default" in spec, f"optional {key} needs a default, or hosts pass the placeholder through"
    assert MANIFEST["user_config"]["api_key"]["sensitive"] is True


def test_the_readme_states_the_depth_limit_and_its_marker() -> None:
    assert f"nested more than {shaping.MAX_DEPTH} levels deep" in README
    assert f"`{shaping.TOO_DEEP}`" in README


def test_the_readme_states_the_largest_arguments_a_cursor_carries() -> None:
    assert f"too large to carry (over {pages.MAX_CARRIED}" in README


def test_the_architecture_map_names_every_module() -> None:
    text = (ROOT / "ARCHITECTURE.md").read_text()
    modules = sorted(path.name for path in (ROOT / "mcp_server").glob("*.py") if not path.name.startswith("__"))
    assert [name for name in modules if f"`{name}`" not in text and f" {name} " not in text] == []


def test_the_readme_quotes_the_committed_benchmark_summary() -> None:
    marker = "<!-- benchmark-summary: written by scripts/benchmark -->"
    results = (ROOT / "docs" / "benchmarks.md").read_text()
    quoted = README.split(marker)[1].split("<!-- end benchmark-summary -->")[0]
    assert quoted == results.split(marker)[1].split("<!-- end benchmark-summary -->")[0]
    assert "| figure | target | measured |" in quoted
