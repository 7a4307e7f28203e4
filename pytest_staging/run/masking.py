"""Secrets masked at every sink pytest itself writes to, not only at ours.

Our own reports pass every string through the redactor already. This plugin
covers what pytest and its plugins render on their own, from the objects a
test leaves behind:

- each phase and collection report, as it is made (on the controller, and on
  every xdist worker before the report is serialised): the failure (traceback,
  assertion introspection, local and fixture values, exception messages), the
  captured stdout/stderr/log sections, skip and xfail reasons, user properties
  and other plugins' attributes. The terminal, JUnit XML, pytest-html and our
  reports all read these objects;
- log records, before any of pytest's handlers (live logging, `--log-file`,
  the captured-log sections, `caplog`) formats them;
- warnings, before the warnings summary shows them;
- pytest-metadata's table, before pytest-html draws its Environment table and
  after each xdist worker hands its own copy back.

A failure with no secret in it keeps its structured form, so pytest's usual
coloured output is unchanged; one with a secret is rebuilt (the same way xdist
ships it between processes) with the secret masked, or, failing that, replaced
by its masked text. Secrets first seen on the wire (cookies, Authorization
headers) are registered by the session client itself (`http/wire_secrets.py`).
"""

from __future__ import annotations

import contextlib
import copy
import dataclasses
import logging
from typing import TYPE_CHECKING, Any

import pytest
from _pytest.reports import CollectErrorRepr

from pytest_staging.http.auth import configured_secrets
from pytest_staging.redaction import Redactor, redactor

if TYPE_CHECKING:
    import warnings
    from collections.abc import Generator

# configured_secrets lives in http/auth.py, with the credentials it reads; plugin.py imports
# it from here.
__all__ = [
    "MASKING_PLUGIN",
    "RedactingFilter",
    "SecretMasking",
    "configured_secrets",
    "mask_metadata",
    "mask_record",
    "mask_report",
    "redacted",
]

MASKING_PLUGIN = "staging-masking"
_LOGGING_HANDLERS = ("log_cli_handler", "log_file_handler", "caplog_handler", "report_handler")
"""The handlers of pytest's logging plugin (the same names from pytest 8.0 on)."""
_STRUCTURAL_ATTRIBUTES = frozenset(
    {"nodeid", "location", "keywords", "outcome", "when", "longrepr", "node", "result"}
)
"""Report attributes that identify the test or are pytest's own objects: never rewritten."""
_EXCEPTION_FORMATTER = logging.Formatter()


def redacted(value: Any, secrets: Redactor = redactor) -> Any:
    """`value` with secrets masked in every string of its lists, tuples and dicts (the keys of
    a dict are left alone). Returns `value` itself, not a copy, when nothing was masked."""
    if isinstance(value, str):
        return secrets.redact(value)
    if type(value) in (list, tuple):
        items = [redacted(item, secrets) for item in value]
        if all(new is old for new, old in zip(items, value, strict=True)):
            return value
        return type(value)(items)
    if type(value) is dict:
        pairs = {key: redacted(item, secrets) for key, item in value.items()}
        if all(pairs[key] is item for key, item in value.items()):
            return value
        return pairs
    return value


def mask_report(
    report: pytest.TestReport | pytest.CollectReport, secrets: Redactor = redactor
) -> None:
    """Mask, in place, every secret in what pytest and its plugins render from `report`."""
    if not secrets.active:
        return
    report.longrepr = _masked_longrepr(report, secrets)
    for name, value in list(vars(report).items()):
        if name in _STRUCTURAL_ATTRIBUTES:
            continue
        if name == "user_properties":
            masked: Any = [_masked_property(prop, secrets) for prop in value]
        elif name == "context" and dataclasses.is_dataclass(value):
            masked = _masked_subtest_context(value, secrets)
        else:
            masked = redacted(value, secrets)
        if masked is not value:
            setattr(report, name, masked)


def _masked_property(prop: Any, secrets: Redactor) -> Any:
    """A `record_property` pair; JUnit shows `str(value)`, whatever the value is."""
    if not (isinstance(prop, tuple) and len(prop) == 2):
        return redacted(prop, secrets)
    name, value = prop
    if isinstance(value, str | int | float | bool | None) or not secrets.finds(str(value)):
        return redacted(prop, secrets)
    return (redacted(name, secrets), secrets.redact(str(value)))


def _masked_subtest_context(context: Any, secrets: Redactor) -> Any:
    """A subtest's context (its message and parameters, `SUBFAILED[msg] (key=value)`), masked.

    The copy is changed field by field: pytest's `SubtestContext` is frozen, and building a
    new one would pass each parameter (already a `repr`) through `repr` again."""
    msg, kwargs = getattr(context, "msg", None), getattr(context, "kwargs", None)
    masked_msg, masked_kwargs = redacted(msg, secrets), redacted(kwargs, secrets)
    if masked_msg is msg and masked_kwargs is kwargs:
        return context
    masked = copy.copy(context)
    object.__setattr__(masked, "msg", masked_msg)
    object.__setattr__(masked, "kwargs", masked_kwargs)
    return masked


def _masked_longrepr(report: pytest.TestReport | pytest.CollectReport, secrets: Redactor) -> Any:
    longrepr = report.longrepr
    if longrepr is None or isinstance(longrepr, str | tuple | list):
        return redacted(longrepr, secrets)
    try:
        text = report.longreprtext
    except Exception:  # a plugin's own failure representation that cannot render
        text = str(longrepr)
    if not secrets.finds(text):
        return longrepr
    if hasattr(longrepr, "reprtraceback") and hasattr(longrepr, "reprcrash"):
        with contextlib.suppress(Exception):  # any surprise: fall back to the masked text
            rebuilt = _rebuilt_longrepr(report, secrets)
            if not secrets.finds(str(rebuilt)):
                return rebuilt
    if isinstance(longrepr, CollectErrorRepr):
        return CollectErrorRepr(secrets.redact(text))
    return secrets.redact(text)


def _rebuilt_longrepr(report: pytest.TestReport | pytest.CollectReport, secrets: Redactor) -> Any:
    """The failure's structured form with secrets masked, rebuilt through the same
    serialisation xdist uses between processes, so it renders (and colours) as before."""
    data = report._to_json()
    data["longrepr"] = redacted(data["longrepr"], secrets)
    return type(report)._from_json(data).longrepr


class RedactingFilter(logging.Filter):
    """Masks secrets in a log record before any handler formats it.

    It rewrites the record itself (message, exception and stack text) and only when a
    secret is in it, so every handler the record reaches, `caplog`'s included, sees the
    masked form, and a record without a secret is left exactly as it was."""

    def __init__(self, secrets: Redactor = redactor) -> None:
        super().__init__()
        self._secrets = secrets

    def filter(self, record: logging.LogRecord) -> bool:
        if self._secrets.active:
            mask_record(record, self._secrets)
        return True


def mask_record(record: logging.LogRecord, secrets: Redactor = redactor) -> None:
    try:
        message = record.getMessage()
    except Exception:  # a bad format string: logging reports it, with no value shown
        return
    if secrets.finds(message):
        record.msg, record.args = secrets.redact(message), None
    if record.exc_info and not record.exc_text:
        text = _EXCEPTION_FORMATTER.formatException(record.exc_info)
        if secrets.finds(text):
            record.exc_text = secrets.redact(text)
    elif record.exc_text and secrets.finds(record.exc_text):
        record.exc_text = secrets.redact(record.exc_text)
    if record.stack_info and secrets.finds(record.stack_info):
        record.stack_info = secrets.redact(record.stack_info)


def mask_metadata(config: pytest.Config, secrets: Redactor = redactor) -> None:
    """Mask, in place, pytest-metadata's table (pytest-html keeps a reference to it)."""
    metadata_plugin = config.pluginmanager.get_plugin("metadata")
    metadata_key = getattr(metadata_plugin, "metadata_key", None)
    if not secrets.active or not isinstance(metadata_key, pytest.StashKey):
        return
    table = config.stash.get(metadata_key, None)
    if isinstance(table, dict):
        _mask_in_place(table, secrets)


def _mask_in_place(table: dict[Any, Any], secrets: Redactor) -> None:
    for key, value in table.items():
        if isinstance(value, dict):
            _mask_in_place(value, secrets)
        elif isinstance(value, str | list | tuple):
            table[key] = redacted(value, secrets)
        elif value is not None and secrets.finds(str(value)):
            table[key] = secrets.redact(str(value))


class SecretMasking:
    """Registered (on the controller and on every xdist worker) only while a target is set."""

    def __init__(self, config: pytest.Config, secrets: Redactor = redactor) -> None:
        self._config = config
        self._secrets = secrets
        self._filter = RedactingFilter(secrets)
        self._filtered: list[logging.Handler] = []

    @pytest.hookimpl(wrapper=True, tryfirst=True)
    def pytest_runtest_makereport(self) -> Generator[None, pytest.TestReport, pytest.TestReport]:
        report = yield  # outermost wrapper: every other plugin's additions are on it by now
        mask_report(report, self._secrets)
        return report

    @pytest.hookimpl(tryfirst=True)
    def pytest_assertrepr_compare(
        self, config: pytest.Config, op: str, left: Any, right: Any
    ) -> list[str] | None:
        """Explain a comparison from masked copies of its operands. pytest's full diffs (`-vv`,
        or whenever `CI` is set) wrap long strings at their spaces, which cuts a secret into
        pieces that no sink can match afterwards; a copy holds no secret to cut."""
        masked_left, masked_right = redacted(left, self._secrets), redacted(right, self._secrets)
        if masked_left is left and masked_right is right:
            return None
        # This hook again, which gives way to pytest's own on values with nothing to mask; like
        # pytest, take the first explanation of the implementations, tryfirst ones first.
        explanations: list[list[str] | None] = config.hook.pytest_assertrepr_compare(
            config=config, op=op, left=masked_left, right=masked_right
        )
        return next((lines for lines in explanations if lines), None)

    @pytest.hookimpl(wrapper=True, tryfirst=True)
    def pytest_make_collect_report(
        self,
    ) -> Generator[None, pytest.CollectReport, pytest.CollectReport]:
        report = yield
        mask_report(report, self._secrets)
        return report

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        """A report made on an xdist worker, and a subtest's (pytest adds its context and
        captured output after `pytest_runtest_makereport`)."""
        if getattr(report, "node", None) is not None or hasattr(report, "context"):
            mask_report(report, self._secrets)

    @pytest.hookimpl(tryfirst=True)
    def pytest_collectreport(self, report: pytest.CollectReport) -> None:
        if getattr(report, "node", None) is not None:
            mask_report(report, self._secrets)

    @pytest.hookimpl(tryfirst=True)  # a historic hook: no wrapper, first of the others
    def pytest_warning_recorded(self, warning_message: warnings.WarningMessage) -> None:
        message = warning_message.message
        if self._secrets.active and self._secrets.finds(str(message)):
            masked = self._secrets.redact(str(message))
            try:
                warning_message.message = type(message)(masked)
            except Exception:  # a warning class that takes other arguments
                warning_message.message = Warning(masked)

    @pytest.hookimpl(tryfirst=True)
    def pytest_sessionstart(self) -> None:
        logging_plugin = self._config.pluginmanager.get_plugin("logging-plugin")
        for name in _LOGGING_HANDLERS:
            handler = getattr(logging_plugin, name, None)
            if isinstance(handler, logging.Handler):
                handler.addFilter(self._filter)
                self._filtered.append(handler)
        mask_metadata(self._config, self._secrets)

    @pytest.hookimpl(trylast=True, optionalhook=True)
    def pytest_testnodedown(self) -> None:
        """pytest-metadata merges each worker's table into the controller's here."""
        mask_metadata(self._config, self._secrets)

    @pytest.hookimpl(tryfirst=True)
    def pytest_sessionfinish(self) -> None:
        mask_metadata(self._config, self._secrets)  # before pytest-html writes the report

    def pytest_unconfigure(self) -> None:
        for handler in self._filtered:
            handler.removeFilter(self._filter)
        self._filtered.clear()
