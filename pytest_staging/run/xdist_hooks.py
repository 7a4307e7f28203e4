"""xdist's side of a gated run: what goes out to each worker and what comes back.

`XdistHooks` is registered on the controller only, and only when xdist is loaded (its
hook names exist only then), so `-p no:xdist` keeps working. Out: the target's URL
(the demo's port is known only on the controller). Back: each worker's collected tests,
which the controller must see reported, and its count of deselected tests (handed back
by `hand_back_deselected` at the worker's session end, through `workeroutput`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pytest_staging.settings.resolution import DESELECTED_KEY

if TYPE_CHECKING:
    from collections.abc import Sequence

    import pytest
    from xdist.workermanage import WorkerController

    from pytest_staging.run.controller import GateController

XDIST_PLUGIN = "staging-xdist"
WORKER_URL_KEY = "pytest_staging_url"
WORKER_DESELECTED_KEY = "pytest_staging_deselected"


def is_worker(config: pytest.Config) -> bool:
    return hasattr(config, "workerinput")


def worker_url(config: pytest.Config) -> str | None:
    """The target URL the controller sent this worker, if any."""
    workerinput: dict[str, Any] = config.workerinput  # type: ignore[attr-defined]
    url: str | None = workerinput.get(WORKER_URL_KEY)
    return url


def hand_back_deselected(config: pytest.Config) -> None:
    """A worker's deselected count, for the controller (see `XdistHooks.pytest_testnodedown`)."""
    workeroutput: dict[str, Any] = config.workeroutput  # type: ignore[attr-defined]
    workeroutput[WORKER_DESELECTED_KEY] = config.stash.get(DESELECTED_KEY, 0)


class XdistHooks:
    """Registered only when xdist is loaded: the target goes out to every worker, and
    every worker's collected tests come back as results the controller must see."""

    def __init__(self, url: str, controller: GateController) -> None:
        self._url = url
        self._controller = controller

    def pytest_configure_node(self, node: WorkerController) -> None:
        node.workerinput[WORKER_URL_KEY] = self._url

    def pytest_xdist_node_collection_finished(
        self, node: WorkerController, ids: Sequence[str]
    ) -> None:
        self._controller.expect(ids, every_worker=node.config.getvalue("dist") == "each")

    def pytest_testnodedown(self, node: WorkerController, error: object | None) -> None:
        """Every worker collects, and deselects, the same tests: one worker's count is the
        run's (a crashed worker sends none)."""
        output = getattr(node, "workeroutput", None) or {}
        stash = node.config.stash
        stash[DESELECTED_KEY] = max(
            stash.get(DESELECTED_KEY, 0), output.get(WORKER_DESELECTED_KEY, 0)
        )
