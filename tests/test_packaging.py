"""The wheel ships every module and data file of the package and of the bundled suites.

Built here from the working tree, as `pip install .` builds it, so a subpackage or data folder
that the build would leave out fails this test before any user meets `ModuleNotFoundError`.
`.ci/run` goes further: it installs the wheel in a fresh virtualenv and runs the command and the
demo suites from it.
"""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PIP_WHEEL = (sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps")
SHIPPED_DATA = ("*.py", "*.json", "*.toml", "*.txt", "py.typed")


@pytest.fixture(scope="module")
def wheel_files(tmp_path_factory: pytest.TempPathFactory) -> set[str]:
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [*PIP_WHEEL, "--wheel-dir", str(out), str(ROOT)],
        check=True,
        timeout=300,
    )
    (wheel,) = out.glob("pytest_staging-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        return set(archive.namelist())


def _tracked(folder: Path, installed_as: str) -> set[str]:
    listed = subprocess.run(
        ["git", "ls-files", "--", str(folder)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    return {
        f"{installed_as}/{Path(name).relative_to(folder.relative_to(ROOT)).as_posix()}"
        for name in listed
        if any(Path(name).match(pattern) for pattern in SHIPPED_DATA)
    }


def test_every_module_and_data_file_of_the_package_is_in_the_wheel(wheel_files: set[str]) -> None:
    expected = _tracked(ROOT / "pytest_staging", "pytest_staging")

    assert "pytest_staging/soak/__init__.py" in expected
    assert expected - wheel_files == set()


def test_the_bundled_suites_ship_as_pytest_staging_suites(wheel_files: set[str]) -> None:
    expected = _tracked(ROOT / "suites", "pytest_staging/suites")
    test_folders = {path.parent for path in (ROOT / "suites").rglob("test_*.py")}

    assert "pytest_staging/suites/smoke/test_health.py" in expected
    assert expected - wheel_files == set()
    assert all((folder / "__init__.py").is_file() for folder in test_folders)
