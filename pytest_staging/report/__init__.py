"""The gate's reports: a finished run rendered, saved reports read back and compared.

Each module has one job; data flows down the list:

- `renderable`: what the terminal and Markdown renderers read of a run, finished or saved;
- `finished_run`: the run as the gate decided it (`FinishedRun`), or a NO-GO before that;
- `terminal`: the gate table and verdict at the end of pytest's output (and `gate`'s);
- `markdown`: the same as Markdown, for GitHub's job summary and `--staging-summary-md`;
- `json_report`: the versioned JSON report (`--staging-report`), written atomically;
- `junit`: the verdict and rates as properties of pytest's JUnit XML;
- `charts`, `html_summary`: the verdict block of pytest-html's report, with its charts;
- `saved`: a JSON report read back and checked, and what it says (`SavedReport`);
- `baseline`: an earlier report's p95 per request, and the regressions against it;
- `comparison`: two saved reports side by side (`pytest-staging compare`).

Nothing here imports `run`: the renderers take the run as data.
"""
