"""Packages are found, never listed, so a new subpackage cannot be left out of the wheel.

The repository's `suites/` folder ships as `pytest_staging.suites` (pyproject.toml's
package-dir maps it): one copy of the bundled suites' code. Everything else is in
pyproject.toml.
"""

from setuptools import find_namespace_packages, setup

SUITES = "pytest_staging.suites"
NOT_CODE = ["*__pycache__*", "*.egg-info*"]
"""Folders with data only (schemas, templates) are packages too: their files ship."""

setup(
    packages=[
        *find_namespace_packages(include=["pytest_staging", "pytest_staging.*"], exclude=NOT_CODE),
        SUITES,
        *(f"{SUITES}.{name}" for name in find_namespace_packages("suites", exclude=NOT_CODE)),
    ]
)
