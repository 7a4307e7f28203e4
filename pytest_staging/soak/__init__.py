"""`pytest-staging soak`: run the gate again and again over hours, then judge the trends.

Each module has one job; data flows down the list:

- `pytest_args`: what the repeated pytest arguments say (manifest, TLS) and may not hold;
- `schedule`: when each run is due, which comes next, which were missed;
- `state`: the `--state` folder, its lock and its files, each written whole or not at all;
- `records`: what is kept about each run once it is done;
- `runner`: one run, a pytest child process in its own process group, time-limited;
- `metrics`: the target's Prometheus series read after each run;
- `facts`, `trends`, `decision`: the numbers of each run, Theil-Sen trends and their
  confidence intervals, the verdict;
- `svg`, `summary`: the Markdown and self-contained HTML summary with its charts;
- `loop`: the soak itself, from the first run to the verdict, stoppable and resumable.

Durations (`30s`, `10m`, `2h`, `1h30m`, `1d`) are parsed and shown by the leaf
`pytest_staging.durations`, the one duration grammar of the plugin. Importing this
package imports nothing heavy.
"""
