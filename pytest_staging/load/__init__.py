"""Load runs with locust: what a run does, running it in a subprocess, and judging it.

Each module has one job; data flows down the list:

- `plan`: `LoadTask` and `LoadPlan`, what a run does (users, spawn rate, a hard duration,
  processes or workers; the manifest's tasks or the user's locustfile), the duration
  grammar it reads (`pytest_staging.durations`), and the generated locustfile's text;
- `runner`: locust headless in its own process group, bounded by a deadline, its progress
  shown, every file it left masked, the reporter's result read back;
- `locust_side/`: the files that run inside locust's process (the generated users, TLS
  trust, the reporter that writes progress and result); never imported by the plugin;
- `result`: `LoadResult`, locust's own numbers, failure causes and task errors, and the
  `Check` record a judgement of them makes;
- `thresholds`: `LoadThresholds`, what a run must reach, the checks of a result against
  them and the faults no limit allows (a task that raised, an unexplained locust exit).

Locust itself is never imported in the pytest process (gevent's monkey-patching would
break httpx and pytest's threads); importing this package imports nothing.
"""
