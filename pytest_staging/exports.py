"""Names a package exports from its modules, imported on first use.

`pytest_staging` is imported by every pytest run through the entry point, with a target or
without, and the old module paths kept for one release (`pytest_staging.manifest.Manifest`,
`pytest_staging.settings.StagingSettings`) must not make their package import its heavy
modules up front: a package's `__getattr__` imports the module that defines a name only
when the name is first read.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping


def lazy(
    package: str, defined_in: Mapping[str, str]
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """`__getattr__` and `__dir__` for `package`, which exports each name of `defined_in`
    from the module named beside it."""
    namespace = importlib.import_module(package).__dict__

    def __getattr__(name: str) -> Any:
        module = defined_in.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(module), name)
        namespace[name] = value
        return value

    def __dir__() -> list[str]:
        return sorted({*namespace, *defined_in})

    return __getattr__, __dir__
