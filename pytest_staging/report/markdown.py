"""The verdict as Markdown: GitHub's job summary (`GITHUB_STEP_SUMMARY`) and `--staging-summary-md`.

Same content as the end of the terminal output, verdict first: the banner
(with the word GO or NO-GO, so it reads without colour), the reasons, the
notes (a partial run, skipped checks), the gate table and the error rate,
tolerated and flaky tests, the slowest requests and the load runs. Every
piece of free text is escaped for Markdown and masked for secrets; the file
is appended to (GitHub) or replaced (the option).
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import TYPE_CHECKING

from pytest_staging import files
from pytest_staging.gate import percent_or_dash
from pytest_staging.redaction import shown
from pytest_staging.report import terminal

if TYPE_CHECKING:
    from collections.abc import Mapping

    from pytest_staging.report.renderable import Counts, Renderable

GITHUB_SUMMARY_ENV = "GITHUB_STEP_SUMMARY"
_SPECIAL = re.compile(r"([\\`*_{}\[\]<>#+|~])")
_COLUMNS = ("category", "passed", "failed", "errors", "skipped", "rate", "threshold", "result")


def text(value: str) -> str:
    """Free text (reasons, node ids, URLs) as literal Markdown on one line, secrets masked."""
    return _SPECIAL.sub(r"\\\1", shown(value))


def _row(cells: list[str]) -> str:
    return "| " + " | ".join(cells) + " |"


def _category_cells(result: Counts, status: str) -> list[str]:
    counts = (result.passed, result.failed, result.errors, result.skipped + result.xfailed)
    rates = (percent_or_dash(result.pass_rate, result.threshold), percent_or_dash(result.threshold))
    return [text(result.name), *(str(count) for count in counts), *rates, status]


def _gate_table(run: Renderable) -> list[str]:
    verdict = run.verdict
    lines = [_row(list(_COLUMNS)), "|---|" + "---:|" * 6 + "---|"]
    lines += [_row(_category_cells(result, result.status)) for result in verdict.categories]
    total = _category_cells(verdict.totals, f"**{verdict.label}**")
    lines.append(_row([f"**{total[0]}**", *total[1:]]))
    return lines


def _listed(title: str, nodeids: tuple[str, ...]) -> list[str]:
    if not nodeids:
        return []
    return ["", f"**{title} ({len(nodeids)})**", "", *(f"- {text(nodeid)}" for nodeid in nodeids)]


def _slowest(run: Renderable) -> list[str]:
    ranked = terminal.slowest(run)
    if not ranked:
        return []
    total = len(run.latency)
    lines = ["", f"**Slowest requests by p95** ({total} request name(s) in all)", ""]
    lines += [_row(["request", "p50 ms", "p95 ms", "count"]), "|---|---:|---:|---:|"]
    lines += [
        _row([text(name), f"{stats['p50_ms']:.1f}", f"{stats['p95_ms']:.1f}", str(stats["count"])])
        for name, stats in ranked
    ]
    return lines


def _load(run: Renderable) -> list[str]:
    if not run.load:
        return []
    return ["", "**Load runs**", "", *(f"- {text(line)}" for line in terminal.load_lines(run))]


def summary(run: Renderable) -> str:
    """The whole summary, verdict first, ending with a newline."""
    verdict = run.verdict
    mark = "✅" if verdict.go else "❌"
    target = text(run.target_url or "no target")
    lines = [
        f"## {mark} Staging gate: {verdict.label}",
        "",
        f"Target: {target} (environment {text(run.environment)}), exit code {run.exit_code}",
    ]
    if verdict.reasons:
        lines += ["", "**Reasons**", "", *(f"- {text(reason)}" for reason in verdict.reasons)]
    if verdict.notes:
        lines += ["", "**Notes**", "", *(f"- {text(note)}" for note in verdict.notes)]
    if run.insecure:
        lines += ["", "**Warning:** TLS certificates were NOT verified (--staging-insecure)"]
    lines += ["", *_gate_table(run)]
    error_rate = terminal.error_rate_lines(run)
    if error_rate:
        lines += ["", *(text(line) for line in error_rate)]
    lines += _listed("Failures within tolerance", verdict.tolerated)
    lines += _listed("Flaky, passed after a retry or a rerun", verdict.flaky)
    withheld = terminal.withheld_lines(run)
    if withheld:
        lines += ["", *(f"- {text(line)}" for line in withheld)]
    lines += _slowest(run) + _load(run)
    return "\n".join(lines) + "\n"


def publish(
    run: Renderable, path: Path | None, environ: Mapping[str, str] = os.environ
) -> list[str]:
    """Write the summary to `path` (replaced) and append it to GitHub's job summary when
    `GITHUB_STEP_SUMMARY` is set; returns a message for each file that could not be written."""
    text = summary(run)
    targets = [(path, "w", "--staging-summary-md")] if path is not None else []
    github = environ.get(GITHUB_SUMMARY_ENV, "").strip()
    if github:
        targets.append((Path(github), "a", GITHUB_SUMMARY_ENV))
    problems = []
    for target, mode, origin in targets:
        try:
            if mode == "w":  # replaced like the JSON report (a device or FIFO written through)
                files.write_text(target, text)
            else:
                target.parent.mkdir(parents=True, exist_ok=True)
                with target.open(mode, encoding="utf-8") as stream:
                    stream.write(text)
        except OSError as exc:
            problems.append(f"staging: could not write {origin} {target}: {exc.strerror or exc}")
    return problems
