"""A wheel of the project carries everything it reads at run time, not just the Python."""

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
NOT_SOURCES = (".git", ".venv", "var", "build", "*.egg-info", "__pycache__", ".*_cache")


@pytest.mark.e2e
def test_the_wheel_ships_catalogs_operations_schema_and_the_chat_page(tmp_path: Path) -> None:
    # Build from a copy: setuptools leaves a build/ folder next to the sources it builds.
    source = tmp_path / "src"
    shutil.copytree(ROOT, source, ignore=shutil.ignore_patterns(*NOT_SOURCES))
    out = tmp_path / "dist"
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(out), str(source)],
        check=True,
        capture_output=True,
    )
    (wheel,) = out.glob("*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    shipped = ("kraken", "dialogs", "bot", "voice", "sandbox", "locales")
    data = {".graphql", ".json", ".html", ".js", ".css", ".po"}
    # Every data file the shipped packages read at run time: catalogs, operations, schemas,
    # the chat page, the support console's templates and static files.
    expected = {
        path.relative_to(ROOT).as_posix()
        for package in shipped
        for path in (ROOT / package).rglob("*")
        if path.suffix in data and "__pycache__" not in path.parts
    }
    expected |= {"voice/__init__.py", "bot/console/__init__.py"}
    assert {"kraken/conservative.graphql", "bot/console/templates/base.html"} <= expected
    assert len(expected) > 25
    assert expected <= names, sorted(expected - names)
