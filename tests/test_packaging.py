"""Install paths, proved by running them: the wheel in a fresh environment, the bundle as a desktop host starts it,
and a clear message (not a traceback) on a Python that is too old."""

from __future__ import annotations

import ast
import importlib.metadata
import importlib.util
import json
import os
import shutil
import subprocess
import sys
import tomllib
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pytest
from mcp import Client
from mcp.client.stdio import StdioServerParameters
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name

from mcp_server import __version__
from mcp_server.catalog import TOOLS
from tests.sandbox_process import sandbox_over_http

ROOT = Path(__file__).resolve().parent.parent
BASE_PYTHON = Path(sys.base_prefix) / "bin" / "python3"
# The uv running the tests (`uv run` sets UV), which need not be on PATH (the quick start's .uv/bin/uv).
UV = os.environ.get("UV", "uv")
TempFactory = pytest.TempPathFactory


def test_an_older_python_gets_a_message_not_a_traceback() -> None:
    code = "import sys; sys.version_info = (3, 9, 18, 'final', 0); import mcp_server"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert done.returncode == 1
    assert "posthog-mcp needs Python 3.11 or newer, but was started with Python 3.9" in done.stderr
    assert "Traceback" not in done.stderr


def imported_distributions(paths: list[Path]) -> dict[str, set[str]]:
    """Each third-party module the files import at top level -> the distributions that provide it."""
    provides = importlib.metadata.packages_distributions()
    found: dict[str, set[str]] = {}
    for path in paths:
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else []
            if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            for module in (name.split(".")[0] for name in names):
                if module not in sys.stdlib_module_names and module not in ("mcp_server", "tests", "benchmarks"):
                    found[module] = {canonicalize_name(d) for d in provides.get(module, [])}
    return found


def python_scripts() -> list[Path]:
    return [path for path in (ROOT / "scripts").iterdir() if path.is_file() and "python" in path.open().readline()]


@pytest.mark.parametrize("where", ["package and scripts", "tests"])
def test_every_module_imported_directly_is_a_declared_dependency(where: str) -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    requirements = project["project"]["dependencies"]
    paths = [*(ROOT / "mcp_server").rglob("*.py"), *(ROOT / "benchmarks").rglob("*.py"), *python_scripts()]
    if where == "tests":
        requirements = requirements + project["dependency-groups"]["dev"]
        paths = list((ROOT / "tests").rglob("*.py"))
    declared = {canonicalize_name(Requirement(line).name) for line in requirements}
    imported = imported_distributions(paths)
    assert {module: sorted(dists) for module, dists in imported.items() if not dists & declared} == {}


def test_sniffio_is_installed_so_httpcore_does_not_search_for_it_on_every_request() -> None:
    # httpcore imports sniffio for each request it sends; a missing module is searched for anew every time.
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert "sniffio" in {canonicalize_name(Requirement(line).name) for line in project["project"]["dependencies"]}
    assert importlib.util.find_spec("sniffio") is not None


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    subprocess.run([UV, "build", "--quiet", "--out-dir", str(out)], cwd=ROOT, check=True, timeout=300)
    (built,) = out.glob("posthog_mcp-*.whl")
    assert (out / f"posthog_mcp-{__version__}.tar.gz").exists()
    return built


def test_the_wheel_has_complete_metadata_and_is_typed(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        metadata = archive.read(f"posthog_mcp-{__version__}.dist-info/METADATA").decode()
    assert "mcp_server/py.typed" in names
    assert "mcp_server/sandbox/__init__.py" in names
    assert {f"mcp_server/sandbox/data/{name}.json" for name in ("demo", "clicks", "events")} <= set(names)
    assert not any(name.startswith("tests/") for name in names)
    for field in (
        "License-Expression: MIT",
        "Requires-Python: >=3.11",
        "Classifier: ",
        "Project-URL: ",
        "Description-Content-Type: text/markdown",
        "Requires-Dist: mcp<3,>=2.3",
    ):
        assert field in metadata, field
    assert "## Quick start" in metadata


def test_the_wheel_installs_and_runs_in_a_fresh_environment(wheel: Path, tmp_path: Path) -> None:
    venv = tmp_path / "venv"
    subprocess.run([UV, "venv", "--quiet", "--python", str(BASE_PYTHON), str(venv)], check=True, timeout=120)
    python = venv / "bin" / "python"
    subprocess.run([UV, "pip", "install", "--quiet", "--python", str(python), str(wheel)], check=True, timeout=300)
    command = venv / "bin" / "posthog-mcp"
    version = subprocess.run([command, "--version"], capture_output=True, text=True, check=True, timeout=60)
    assert version.stdout.strip() == f"posthog-mcp {__version__}"
    tools = subprocess.run(
        [command, "--sandbox", "--toolsets", "all", "tools"], capture_output=True, text=True, check=True, timeout=120
    )
    heading, *rows = tools.stdout.strip().splitlines()
    assert heading.startswith("toolsets: insights, elements, elements-legacy")
    assert len(rows) == len(TOOLS)
    assert rows[0].split()[0] == "insights-list"


NO_NPM = "the bundle test needs npm (for the pinned mcpb CLI): install Node.js and npm"


def npm_or_skip() -> None:
    """Skip without npm on a developer's machine; in CI (CI set), where npm is installed, fail instead."""
    if shutil.which("npm") is not None:
        return
    if os.environ.get("CI", "").lower() not in ("", "0", "false"):
        pytest.fail(f"{NO_NPM}; CI must run it, so it may not be skipped there")
    pytest.skip(NO_NPM)


def build_leftovers() -> set[str]:
    """What a bundle build could leave in the checkout."""
    return {str(path.relative_to(ROOT)) for pattern in ("dist/*", ".mcpb-build") for path in ROOT.glob(pattern)}


@dataclass(frozen=True)
class Built:
    bundle: Path
    left_in_checkout: set[str]


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Built:
    npm_or_skip()
    out = tmp_path_factory.mktemp("bundle")
    before = build_leftovers()
    done = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "build-bundle"), "--out-dir", str(out)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return Built(Path(done.stdout.strip().splitlines()[-1]), build_leftovers() - before)


@pytest.fixture(scope="module")
def bundle(built: Built) -> Path:
    return built.bundle


def test_without_npm_the_bundle_test_skips_with_the_reason_but_fails_in_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(Path(sys.executable).parent))
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match="needs npm"):
        npm_or_skip()
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="CI must run it"):
        npm_or_skip()


def test_building_the_bundle_leaves_nothing_in_the_checkout(built: Built, tmp_path_factory: TempFactory) -> None:
    assert built.left_in_checkout == set()
    assert built.bundle.is_relative_to(tmp_path_factory.getbasetemp())


def test_the_bundle_declares_exactly_the_python_its_launcher_accepts(bundle: Path, tmp_path: Path) -> None:
    with zipfile.ZipFile(bundle) as archive:
        archive.extractall(tmp_path)
    declared = SpecifierSet(json.loads((tmp_path / "manifest.json").read_text())["compatibility"]["runtimes"]["python"])
    launcher = tmp_path / "server" / "main.py"
    major, minor = sys.version_info[:2]
    for other in (minor - 1, minor, minor + 1):
        fake = f"import sys; sys.version_info = ({major}, {other}, 0, 'final', 0); sys.argv = ['main', '--version']"
        code = f"{fake}; import runpy; runpy.run_path({str(launcher)!r}, run_name='__main__')"
        started = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
        accepted = started.returncode == 0
        assert accepted == (f"{major}.{other}.0" in declared), (other, started.stdout + started.stderr)
    assert f"{major}.{minor}.0" in declared


def substitute(value: str, dirname: Path, user_config: dict[str, str]) -> str:
    """What a desktop host does to mcp_config: ${__dirname} and ${user_config.X}."""
    value = value.replace("${__dirname}", str(dirname))
    for key, setting in user_config.items():
        value = value.replace("${user_config." + key + "}", setting)
    return value


@pytest.mark.anyio
async def test_the_bundle_starts_from_its_unpacked_folder_like_a_desktop_host_starts_it(
    bundle: Path, tmp_path: Path
) -> None:
    unpacked = tmp_path / "posthog-mcp"
    with zipfile.ZipFile(bundle) as archive:
        archive.extractall(unpacked)
    manifest = json.loads((unpacked / "manifest.json").read_text())
    assert manifest["version"] == __version__
    assert not (unpacked / "tests").exists()
    assert not list(unpacked.rglob("__pycache__"))
    config = manifest["server"]["mcp_config"]
    with sandbox_over_http() as sandbox:
        # A host fills every setting the user leaves alone with its default.
        settings = manifest["user_config"].items()
        defaults = {key: json.dumps(spec["default"]).strip('"') for key, spec in settings if "default" in spec}
        user_config = {
            **defaults,
            "api_key": sandbox.keys["read_only"],
            "host": sandbox.url,
            "project_id": str(sandbox.project_id),
            "read_only": "false",
        }
        env = {name: substitute(value, unpacked, user_config) for name, value in config["env"].items()}
        command = shutil.which(config["command"]) if config["command"] != "python3" else str(BASE_PYTHON)
        assert command is not None
        params = StdioServerParameters(
            command=command,
            args=[substitute(arg, unpacked, user_config) for arg in config["args"]],
            env={"PATH": os.environ["PATH"], "HOME": str(tmp_path), **env},
            cwd=str(tmp_path),
        )
        async with Client(params, mode="legacy") as client:
            tools = {tool.name for tool in (await client.list_tools()).tools}
            listed = await client.call_tool("insights-list", {"limit": 2})
    assert "insights-list" in tools
    assert "insight-create" not in tools
    assert "elements-list" not in tools
    assert not listed.is_error
    assert len(listed.structured_content["results"]) == 2  # type: ignore[index]
