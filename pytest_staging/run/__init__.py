"""A gated pytest run: from the options to the exit code, on the controller and the workers.

Each module has one job; data flows down the list:

- `bundled_suites`: `--staging-suites` adds the suites shipped in the package to the run;
- `suite_cases`: the suites' tests parametrized from the manifest, one per declared thing;
- `destructive`: tests that change data withheld where that is not allowed (the guard);
- `verdict_guard`: a NO-GO on disk from the first moment, and no exit 0 without a verdict;
- `masking`: every secret the run knows masked in what pytest and its plugins render;
- `report_data`: each test phase's categories, requests and evidence put on its report;
- `test_records`: those reports (with or without xdist) folded into one record per test;
- `xdist_hooks`: the target sent to each worker, its tests and deselected count sent back;
- `header`: the target, thresholds and selection in pytest's header, before any test;
- `controller`: readiness once, every report counted, the verdict and its reports;
- `html_hooks`: the verdict and each test's requests in pytest-html's report.

Nothing here is imported by a run without a target except `bundled_suites` and
`xdist_hooks` (both light): `plugin` imports the rest once a target is set.
"""
