"""Load runs: plans and thresholds by hand, then real, short locust runs against the demo on
loopback (locust always in a subprocess), each proven to leave no process behind.

Locust runs are few and short (2 s, a few users) because each costs seconds; the
files in pytest_staging/load/locust_side are never imported here, as locust monkey-patches
the process that imports it.
"""

from __future__ import annotations

import ast
import json
import math
import os
import re
import signal
import socket
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import pytest
from inner_run import INNER_RUN_OPTIONS
from prometheus_client.parser import text_string_to_metric_families

from pytest_staging import durations
from pytest_staging.demo.modes import DEMO_PASSWORD, DEMO_USERNAME, DemoOptions
from pytest_staging.demo.server import DemoServer
from pytest_staging.load.locust_side import HEADERS_ENV
from pytest_staging.load.plan import ALL_CORES, LoadPlan, LoadTask, generated_locustfile, seconds
from pytest_staging.load.result import (
    FailureCause,
    LoadResult,
    TaskError,
    cause_of,
    failure_causes,
    task_errors,
)
from pytest_staging.load.runner import LOG_FILE, LoadError, locust_command, run_load
from pytest_staging.load.thresholds import DEFAULT_ERROR_RATE, LoadThresholds, faults

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

Report = dict[str, Any]
SUITES = Path(__file__).resolve().parents[1] / "suites"
ITEMS = LoadTask("/api/items", weight=2)
HEALTH = LoadTask("/health", name="health")


# -- durations, plans, thresholds: no locust ------------------------------------------------


@pytest.mark.parametrize(
    ("duration", "expected"),
    [
        ("500ms", 0.5),
        ("20s", 20.0),
        ("1.5s", 1.5),
        ("5m", 300.0),
        ("1h", 3600.0),
        (" 20s ", 20.0),
        (3, 3.0),
        (0.25, 0.25),
    ],
)
def test_seconds_reads_numbers_and_units(duration: float | str, expected: float) -> None:
    assert seconds(duration) == expected


@pytest.mark.parametrize(
    ("duration", "expected"), [("1h30m", 5400.0), ("2m30s", 150.0), ("1s500ms", 1.5)]
)
def test_seconds_reads_a_duration_of_several_units_as_the_soak_options_do(
    duration: str, expected: float
) -> None:
    """`staging_load.run(duration=...)` and `[load] duration` read durations with `seconds`."""
    assert seconds(duration) == expected
    if "ms" not in duration:
        assert durations.parse(duration) == expected


@pytest.mark.parametrize("duration", ["20", "20 s", "5d", "-5s", "0s", "s", "", "twenty", True])
def test_seconds_rejects_text_it_cannot_read(duration: str | bool) -> None:
    message = (
        f'expected a positive duration such as 20 (seconds), "20s", "5m" or "1h", got {duration!r}'
    )
    with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
        seconds(duration)


@pytest.mark.parametrize("duration", [0, -3, -0.5, float("nan"), float("inf")])
def test_seconds_rejects_numbers_that_are_not_positive_and_finite(duration: float) -> None:
    message = f"a duration must be a positive, finite number, got {duration!r}"
    with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
        seconds(duration)


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"users": 0, "tasks": (ITEMS,)}, "users must be 1 or more, got 0"),
        ({"duration_s": 0, "tasks": (ITEMS,)}, "the duration must be positive, got 0"),
        ({"duration_s": math.nan, "tasks": (ITEMS,)}, "the duration must be positive, got nan"),
        ({}, "a load run needs tasks (manifest [[load.tasks]]) or a locustfile"),
        (
            {"tasks": (ITEMS,), "locustfile": Path("mine.py")},
            "give either tasks or a locustfile, not both",
        ),
        (
            {"tasks": (ITEMS,), "processes": 2, "expect_workers": 2},
            "processes (one machine) and expect_workers (many) exclude each other",
        ),
    ],
)
def test_a_plan_that_cannot_run_is_refused(fields: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
        LoadPlan(**fields)


def test_a_plan_names_itself_and_defaults_its_spawn_rate_to_all_users_at_once() -> None:
    generated = LoadPlan(users=4, duration_s=2, tasks=(ITEMS,))
    own = LoadPlan(users=3, spawn_rate=1.5, duration_s=90, locustfile=Path("dir/mine.py"))

    assert generated.name.endswith(": 4 users for 2s")
    assert generated.rate == 4.0
    assert (own.name, own.rate) == ("mine.py: 3 users for 90s", 1.5)
    assert LoadPlan(tasks=(ITEMS,), label="checkout").name == "checkout"
    assert (ITEMS.label, HEALTH.label) == ("GET /api/items", "health")


def test_the_command_line_bounds_the_run_and_says_how_it_spreads() -> None:
    plan = LoadPlan(users=5, duration_s=2.5, tasks=(ITEMS,), processes=ALL_CORES)
    command = locust_command(plan, Path("/w/staging_locustfile.py"), "http://127.0.0.1:1")
    distributed = locust_command(
        LoadPlan(tasks=(ITEMS,), expect_workers=3, master_bind_port=6000),
        Path("/w/f.py"),
        "http://h",
    )

    assert command[:3] == [sys.executable, "-m", "locust"]
    assert command[command.index("--run-time") + 1] == "3s"  # locust reads whole seconds
    assert command[command.index("--users") + 1] == "5"
    assert command[command.index("--processes") + 1] == "-1"
    # forked workers reach their master on loopback, on a port of this run's own
    assert command[command.index("--master-bind-host") + 1] == "127.0.0.1"
    port = command[command.index("--master-bind-port") + 1]
    assert port == command[command.index("--master-port") + 1] != "5557"
    assert command[command.index("--locustfile") + 1].startswith("/w/staging_locustfile.py,")
    assert command[command.index("--locustfile") + 1].endswith("reporter.py")
    assert "--headless" in command
    assert "--master" not in command
    assert distributed[distributed.index("--expect-workers") + 1] == "3"
    assert distributed[distributed.index("--master-bind-port") + 1] == "6000"


def result_with(**numbers: Any) -> LoadResult:
    fields: dict[str, Any] = {
        "name": "by hand",
        "users": 2,
        "spawn_rate": 2.0,
        "duration_s": 2.0,
        "processes": None,
        "workers": None,
        "elapsed_s": 2.0,
        "requests": 200,
        "failures": 10,
        "rps": 100.0,
        "p50_ms": 10.0,
        "p95_ms": 120.0,
        "p99_ms": 200.0,
        "max_ms": 250.0,
    }
    return LoadResult(**{**fields, **numbers})


def test_every_broken_threshold_names_its_metric_value_and_limit() -> None:
    thresholds = LoadThresholds(p95_ms=100, error_rate=1, min_rps=150, min_requests=50)
    checks = thresholds.checks(result_with())

    assert [(c.metric, c.value, c.limit, c.ok, c.default) for c in checks] == [
        ("min_requests", 200, 50, True, False),
        ("p95_ms", 120.0, 100, False, False),
        ("error_rate", 5.0, 1, False, False),
        ("min_rps", 100.0, 150, False, False),
    ]
    assert [c.message for c in checks if not c.ok] == [
        "p95 120 ms is above the limit p95_ms = 100 ms",
        "failure rate 5% (10 of 200) is above the limit error_rate = 1%",
        "throughput 100.0 req/s is below the limit min_rps = 150 req/s",
    ]
    assert [c.summary for c in checks] == [
        "200 requests >= min_requests 50",
        "p95 120 ms > 100 ms",
        "error rate 5% > 1%",
        "100.0 req/s < 150 req/s",
    ]


def test_thresholds_met_exactly_pass_and_unset_ones_are_not_checked() -> None:
    met = LoadThresholds(p95_ms=120, error_rate=5, min_rps=100, min_requests=200)
    assert all(check.ok for check in met.checks(result_with()))
    assert [c.metric for c in LoadThresholds().checks(result_with(failures=0))] == [
        "min_requests",
        "error_rate",
    ]
    assert LoadThresholds(p95_ms=100).to_dict() == {
        "p95_ms": 100,
        "error_rate": DEFAULT_ERROR_RATE,
        "min_requests": 1,
    }


def test_without_an_error_rate_the_default_limit_applies_and_says_so() -> None:
    """Defect 5 by hand: every request failed and no error_rate was given."""
    all_failed = result_with(
        requests=40, failures=40, causes=(FailureCause("HTTP 503", 40, ("x",)),)
    )
    checks = LoadThresholds().checks(all_failed)
    (error_rate,) = [c for c in checks if c.metric == "error_rate"]

    assert DEFAULT_ERROR_RATE == 0.1
    assert (error_rate.value, error_rate.limit, error_rate.ok, error_rate.default) == (
        100.0,
        0.1,
        False,
        True,
    )
    assert error_rate.summary == "error rate 100% > 0.1% (default)"
    assert error_rate.message == (
        "failure rate 100% (40 of 40) is above the limit error_rate = 0.1% "
        "(the default; set error_rate to allow more); top failures: HTTP 503 (40, x)"
    )
    one_in_a_thousand = result_with(requests=1000, failures=1)
    (within,) = [c for c in LoadThresholds().checks(one_in_a_thousand) if c.metric == "error_rate"]
    assert (within.ok, within.summary) == (True, "error rate 0.1% <= 0.1% (default)")
    just_over = result_with(requests=996, failures=1)  # 0.1004 %: never shown as the limit
    (over,) = [c for c in LoadThresholds().checks(just_over) if c.metric == "error_rate"]
    assert (over.ok, over.summary) == (False, "error rate 0.11% > 0.1% (default)")
    given = LoadThresholds(error_rate=100).checks(all_failed)
    assert all(check.ok and not check.default for check in given)


def test_an_empty_run_never_passes() -> None:
    empty = result_with(requests=0, failures=0, rps=0.0, p95_ms=0.0)
    check, error_rate = LoadThresholds().checks(empty)

    assert not check.ok
    assert error_rate.ok  # no request, none failed: min_requests says what is wrong
    assert check.message == (
        "the run made 0 request(s), fewer than min_requests = 1: an empty or starved run never passes"
    )
    assert empty.failure_rate == 0.0


def test_the_report_entry_carries_totals_limits_checks_and_causes() -> None:
    thresholds = LoadThresholds(p95_ms=100)
    result = result_with(
        endpoints=({"name": "GET /api/items", "requests": 200},),
        causes=(FailureCause("HTTP 503", 10, ("GET /api/items",)),),
    )
    entry = result.to_dict(thresholds, thresholds.checks(result), faults(result))

    assert entry["ok"] is False
    assert (entry["task_errors"], entry["exit_code"]) == ([], 0)
    assert entry["failure_rate"] == 5.0
    assert entry["percentiles"] == {"p50_ms": 10.0, "p95_ms": 120.0, "p99_ms": 200.0, "max_ms": 250}
    assert entry["checks"][1:] == [
        {"metric": "p95_ms", "value": 120.0, "limit": 100, "ok": False, "default": False},
        {"metric": "error_rate", "value": 5.0, "limit": 0.1, "ok": False, "default": True},
    ]
    assert entry["thresholds"] == {"p95_ms": 100, "error_rate": 0.1, "min_requests": 1}
    assert entry["endpoints"] == [{"name": "GET /api/items", "requests": 200}]
    assert entry["failure_causes"] == [
        {"cause": "HTTP 503", "count": 10, "requests": ["GET /api/items"]}
    ]
    assert entry["notes"] == [
        "p95 120 ms > 100 ms",
        "error rate 5% > 0.1% (default)",
        "top failures: HTTP 503 (10, GET /api/items)",
    ]


TRACEBACK = """  File "/venv/locust/user/task.py", line 340, in run
    self.execute_next_task()
  File "/work/lf.py", line 8, in health
    assert r.json()["status"] == "ok", f"not ok: {r.text}"
           ^^^^^^^^^^^^^^^^^^^^^^^^^^^
  File "/venv/lib/python3.11/site-packages/locust/contrib/fasthttp.py", line 9, in json
    return json.loads(self.text)
"""
"""Frames as locust keeps them (`format_tb`): the last one in a library, where the locustfile's
line (lf.py:8) is the one to name."""


def test_task_errors_read_from_locusts_exception_table_are_faults_no_limit_allows() -> None:
    rows = [
        {"count": 3, "message": "", "traceback": TRACEBACK},
        {"count": 9, "message": "not ok: \x1b[2J{'status': 'down'}\n", "traceback": TRACEBACK},
    ]
    errors = task_errors(rows)
    assert errors == (
        TaskError("not ok: \\x1b[2J{'status': 'down'}", 9, "lf.py:8"),  # one line, escaped
        TaskError('assert r.json()["status"] == "ok", f"not ok: {r.text}"', 3, "lf.py:8"),
    )
    result = result_with(failures=0, task_errors=errors, exit_code=1)
    task_check, exit_check = faults(result)
    assert (task_check.ok, task_check.value, task_check.limit) == (False, 12, 0)
    assert task_check.summary == "task errors 12 (not ok: \\x1b[2J{'status': 'down'}, ...)"
    assert exit_check.ok  # exit 1: locust's code for task errors and failed requests
    assert all(check.ok for check in LoadThresholds(error_rate=100).checks(result))
    assert result.to_dict(LoadThresholds(), [], [task_check, exit_check])["ok"] is False


@pytest.mark.parametrize(
    ("failures", "errors", "code", "explained"),
    [(0, (), 0, True), (5, (), 1, True), (0, (), 1, False), (5, (), 2, False), (0, (), -9, False)],
)
def test_only_failures_or_task_errors_explain_locusts_exit_code(
    failures: int, errors: tuple[TaskError, ...], code: int, explained: bool
) -> None:
    result = result_with(failures=failures, task_errors=errors, exit_code=code)
    (check,) = [check for check in faults(result) if check.metric == "exit_code"]
    assert (result.exit_explained, check.ok, check.summary) == (
        explained,
        explained,
        f"locust exit code {code}",
    )


LOCUST_ERRORS = [  # rows of locust's failure table, as the reporter writes them
    {"method": "GET", "name": "health", "error": "LocustBadStatusCode(code=503)", "occurrences": 7},
    {
        "method": "GET",
        "name": "GET /api/items",
        "error": "SSLCertVerificationError(1, '[SSL: CERTIFICATE_VERIFY_FAILED] certificate "
        "verify failed: unable to get local issuer certificate (_ssl.c:1006)')",
        "occurrences": 30,
    },
    {
        "method": "GET",
        "name": "GET /x",
        "error": "CatchResponseError('HTTP 503')",
        "occurrences": 2,
    },
    {
        "method": "POST",
        "name": "create",
        "error": "ConnectionRefusedError(111, 'Connection refused')",
        "occurrences": 4,
    },
    {"method": "GET", "name": "odd", "error": "ValueError('a\nb\x1b[2J')", "occurrences": 1},
]


def test_failure_causes_group_locusts_table_by_cause_most_frequent_first() -> None:
    causes = failure_causes(LOCUST_ERRORS)

    assert [(c.cause, c.count, c.requests) for c in causes] == [
        (
            "SSLCertVerificationError(1, '[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify "
            "failed: unable to get local issuer certificate (_ssl.c:1006)')",
            30,
            ("GET /api/items",),
        ),
        ("HTTP 503", 9, ("health", "GET /x")),
        ("ConnectionRefusedError(111, 'Connection refused')", 4, ("create",)),
        ("ValueError('a b\\x1b[2J')", 1, ("odd",)),
    ]
    result = result_with(failures=44, causes=causes)
    assert result.top_failures() == (
        f"top failures: {causes[0].cause} (30, GET /api/items); HTTP 503 (9, health, GET /x); "
        "ConnectionRefusedError(111, 'Connection refused') (4, create); 1 more cause(s)"
    )
    assert result_with(failures=0).top_failures() == ""


def test_a_cause_is_one_short_printable_line() -> None:
    assert cause_of("RuntimeError('line one\nline two')") == "RuntimeError('line one line two')"
    assert cause_of("Boom('\x1b[2Jfake')") == "Boom('\\x1b[2Jfake')"
    long = cause_of("E('" + "x" * 400 + "')")
    assert len(long) == 160
    assert long.endswith("...")


def plan_in(text: str) -> Any:
    """The PLAN the generated file assigns, read with ast: the file itself imports locust."""
    for node in ast.walk(ast.parse(text)):
        if isinstance(node, ast.AnnAssign) and getattr(node.target, "id", None) == "PLAN":
            assert node.value is not None
            if isinstance(node.value, ast.Call):  # PLAN = json.loads("...")
                return json.loads(ast.literal_eval(node.value.args[0]))
            return ast.literal_eval(node.value)
    raise AssertionError("no PLAN assignment in the generated locustfile")


def test_the_generated_locustfile_compiles_and_holds_only_the_tasks() -> None:
    tasks = (
        ITEMS,
        LoadTask("/api/items", method="POST", name="create", json={"name": "x", "price": 1.5}),
    )
    text = generated_locustfile(tasks, wait_ms=250)

    compile(text, "staging_locustfile.py", "exec")
    assert plan_in(text) == {
        "wait_ms": 250,
        "tasks": [
            {
                "method": "GET",
                "path": "/api/items",
                "weight": 2,
                "name": "GET /api/items",
                "json": None,
            },
            {
                "method": "POST",
                "path": "/api/items",
                "weight": 1,
                "name": "create",
                "json": {"name": "x", "price": 1.5},
            },
        ],
    }
    assert HEADERS_ENV in text  # headers come from the environment at run time
    assert "Authorization" not in text
    assert "Bearer" not in text


# -- real locust runs -----------------------------------------------------------------------


def requests_served(url: str) -> dict[tuple[str, str], int]:
    """The demo's own count of answered requests, by method and route, from /metrics."""
    text = httpx.get(f"{url}/metrics").text
    served: dict[tuple[str, str], int] = {}
    for family in text_string_to_metric_families(text):
        for metric in family.samples:
            if metric.name == "demo_http_requests_total":
                key = (metric.labels["method"], metric.labels["path"])
                served[key] = served.get(key, 0) + int(metric.value)
    return served


def live_processes() -> list[dict[str, Any]]:
    """Every process not yet dead (zombies left out): pid, ppid, pgid and command line."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except (OSError, UnicodeDecodeError):
            continue  # gone meanwhile
        state, ppid, pgid = stat.rpartition(")")[2].split()[:3]
        if state != "Z":
            found.append(
                {"pid": int(entry.name), "ppid": int(ppid), "pgid": int(pgid), "cmdline": cmdline}
            )
    return found


def in_group(pgid: int) -> list[dict[str, Any]]:
    return [process for process in live_processes() if process["pgid"] == pgid]


def test_a_bounded_run_counts_what_the_service_served(tmp_path: Path) -> None:
    """Its own demo, so every request it served is the run's; /api/auth/me answers only
    with the token the run hands to locust by environment, never by file."""
    me = LoadTask("/api/auth/me", name="me")
    plan = LoadPlan(users=3, duration_s=2, tasks=(ITEMS, HEALTH, me))
    points: list[Mapping[str, Any]] = []
    with DemoServer(DemoOptions("healthy")) as demo:
        login = {"username": DEMO_USERNAME, "password": DEMO_PASSWORD}
        token = httpx.post(f"{demo.url}/api/auth/login", json=login).json()["data"]["token"]
        before = requests_served(demo.url)
        result = run_load(
            plan,
            demo.url,
            tmp_path,
            environ={HEADERS_ENV: json.dumps({"Authorization": f"Bearer {token}"})},
            on_progress=lambda point, _: points.append(point),
        )
        after = requests_served(demo.url)

    by_name = {entry["name"]: entry for entry in result.endpoints}
    assert set(by_name) == {"GET /api/items", "health", "me"}
    for name, route in (
        ("GET /api/items", "/api/items"),
        ("health", "/health"),
        ("me", "/api/auth/me"),
    ):
        served = after.get(("GET", route), 0) - before.get(("GET", route), 0)
        assert by_name[name]["requests"] > 0
        assert abs(by_name[name]["requests"] - served) <= plan.users + 2, (name, served)
    assert result.requests == sum(entry["requests"] for entry in result.endpoints)
    assert result.failures == 0  # /api/auth/me got the token on every request
    assert result.p50_ms <= result.p95_ms <= result.p99_ms <= result.max_ms
    assert (result.users, result.duration_s, result.processes) == (3, 2, None)
    assert points, "the progress callback never saw a point"
    assert all(point["users"] <= 3 for point in points)
    assert [p["requests"] for p in points] == sorted(p["requests"] for p in points)
    assert result.history
    assert sorted(path.name for path in tmp_path.iterdir()) == [
        LOG_FILE,
        "progress.json",
        "result.json",
        "staging_locustfile.py",
    ]
    for path in tmp_path.iterdir():
        assert token not in path.read_text(encoding="utf-8")


def locust_children() -> list[dict[str, Any]]:
    me = os.getpid()
    return [p for p in live_processes() if p["ppid"] == me and "-m locust" in p["cmdline"]]


def test_a_killed_locust_is_a_clear_error_and_leaves_nothing_behind(
    demo_url: str, tmp_path: Path
) -> None:
    killed: list[int] = []

    def kill_on_first_point(point: Mapping[str, Any], plan: LoadPlan) -> None:
        if not killed:
            (locust,) = locust_children()
            os.kill(locust["pid"], signal.SIGKILL)
            killed.append(locust["pid"])

    plan = LoadPlan(users=2, duration_s=20, tasks=(ITEMS,))
    with pytest.raises(LoadError) as info:
        run_load(plan, demo_url, tmp_path, on_progress=kill_on_first_point)

    assert killed, "the run never reported progress"
    assert f"locust exited with code {-signal.SIGKILL} before it reported a result" in str(
        info.value
    )
    assert in_group(killed[0]) == []
    assert locust_children() == []


HANGING_LOCUSTFILE = """
import os
import time
from pathlib import Path

from locust import HttpUser, task

Path(__file__).with_name("locust.pid").write_text(str(os.getpid()))
time.sleep(60)  # never gets to run a user


class Never(HttpUser):
    @task
    def nothing(self):
        pass
"""


def test_a_locust_that_hangs_is_stopped_at_the_deadline_with_its_group(
    demo_url: str, tmp_path: Path
) -> None:
    locustfile = tmp_path / "hanging.py"
    locustfile.write_text(HANGING_LOCUSTFILE, encoding="utf-8")
    plan = LoadPlan(users=1, duration_s=2, locustfile=locustfile)

    with pytest.raises(LoadError) as info:
        run_load(plan, demo_url, tmp_path / "run", timeout_s=6)

    assert str(info.value).startswith("locust did not finish within 6s ")
    assert "it was stopped" in str(info.value)
    pid = int((tmp_path / "locust.pid").read_text())
    assert in_group(pid) == []
    assert [p for p in live_processes() if str(locustfile) in p["cmdline"]] == []


def test_a_missing_locustfile_is_a_load_error(demo_url: str, tmp_path: Path) -> None:
    plan = LoadPlan(users=1, duration_s=1, locustfile=tmp_path / "nowhere.py")
    with pytest.raises(LoadError, match=r"^locustfile .*nowhere\.py does not exist$"):
        run_load(plan, demo_url, tmp_path)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


def test_a_master_and_two_workers_on_loopback_complete_a_run(demo_url: str, tmp_path: Path) -> None:
    locustfile = tmp_path / "shared_locustfile.py"
    locustfile.write_text(generated_locustfile((ITEMS,)), encoding="utf-8")
    port = free_port()
    plan = LoadPlan(
        users=4, duration_s=2, locustfile=locustfile, expect_workers=2, master_bind_port=port
    )
    worker_command = [
        *(sys.executable, "-m", "locust", "--locustfile", str(locustfile), "--worker"),
        *("--master-host", "127.0.0.1", "--master-port", str(port), "--loglevel", "WARNING"),
    ]
    workers = []
    try:
        for number in range(2):
            with (tmp_path / f"worker{number}.log").open("wb") as log:
                worker = subprocess.Popen(
                    worker_command,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    stdin=subprocess.DEVNULL,
                    start_new_session=True,
                )
            workers.append(worker)
        result = run_load(plan, demo_url, tmp_path / "master")
        codes = [worker.wait(timeout=20) for worker in workers]  # they quit with the master
    finally:
        for worker in workers:
            if worker.poll() is None:
                os.killpg(worker.pid, signal.SIGKILL)
                worker.wait()

    assert codes == [0, 0], "a worker did not get the master's quit message"
    assert result.workers == 2
    assert result.requests > 0
    assert result.failures == 0
    assert [entry["name"] for entry in result.endpoints] == ["GET /api/items"]


# -- through the staging_load fixture: the gate's view --------------------------------------

IDLE_LOCUSTFILE = """
import time

from locust import User, constant, task


class Idle(User):
    wait_time = constant(0.1)

    @task
    def think(self):
        time.sleep(0.1)  # and never make a request
"""

LOAD_TESTS = """
from pathlib import Path

import pytest

pytestmark = pytest.mark.performance


def test_unreachable_throughput(staging_load):
    staging_load.run(tasks=["/api/items"], users=2, duration="2s", min_rps=100000)


def test_idle_users(staging_load):
    staging_load.run(locustfile=Path(__file__).with_name("idle.py"), users=1, duration="2s")
"""


def test_broken_load_thresholds_and_an_empty_run_fail_the_gate_by_name(
    pytester: pytest.Pytester, read_report: Callable[[Path], Report], demo_url: str
) -> None:
    pytester.makepyfile(test_loads=LOAD_TESTS, idle=IDLE_LOCUSTFILE)
    report_path = pytester.path / "gate.json"
    result = pytester.runpytest(
        *INNER_RUN_OPTIONS, f"--staging-url={demo_url}", f"--staging-report={report_path}"
    )
    report = read_report(report_path)

    assert result.ret == 1
    result.assert_outcomes(failed=2)
    assert report["verdict"] == "NO-GO"
    assert report["categories"]["performance"]["ok"] is False
    busy_name = LoadPlan(users=2, duration_s=2, tasks=(LoadTask("/api/items"),)).name
    idle_name = LoadPlan(users=1, duration_s=2, locustfile=Path("idle.py")).name
    reasons = report["reasons"]
    (throughput,) = [r for r in reasons if r.startswith("performance: ") and "min_rps" in r]
    assert throughput.startswith(f"performance: load {busy_name}: throughput ")
    assert throughput.endswith(" req/s is below the limit min_rps = 100000 req/s")
    # the failed test's own cause names the broken limit in brief, the breach above in full
    (failed,) = [r for r in reasons if r.startswith("FAILED test_loads.py::test_unreachable")]
    assert failed.startswith(
        f"FAILED test_loads.py::test_unreachable_throughput: Failed: load {busy_name}: "
    )
    assert failed.endswith(" req/s < 100000 req/s")
    assert (
        f"performance: load {idle_name}: the run made 0 request(s), fewer than "
        "min_requests = 1: an empty or starved run never passes"
    ) in reasons
    result.stdout.fnmatch_lines(
        [
            "staging load: *s of 2s, 2 users, * requests, * req/s, 0 failures",
            f"load {busy_name}: * req/s < 100000 req/s",
            "*min_rps = 100000 req/s",
        ]
    )

    runs = {run["nodeid"].partition("::")[2]: run for run in report["load"]}
    assert set(runs) == {"test_unreachable_throughput", "test_idle_users"}
    busy, idle = runs["test_unreachable_throughput"], runs["test_idle_users"]
    assert busy["ok"] is False
    assert busy["requests"] > 0
    assert busy["thresholds"] == {"min_rps": 100000, "error_rate": 0.1, "min_requests": 1}
    assert {c["metric"]: c["ok"] for c in busy["checks"]} == {
        "min_requests": True,
        "error_rate": True,
        "min_rps": False,
    }
    assert busy["notes"][0] == "error rate 0% <= 0.1% (default)"
    assert (idle["ok"], idle["requests"]) == (False, 0)
    assert idle["checks"] == [
        {"metric": "min_requests", "value": 0, "limit": 1, "ok": False, "default": False},
        {"metric": "error_rate", "value": 0, "limit": 0.1, "ok": True, "default": True},
    ]
    assert idle["notes"] == ["0 requests < min_requests 1", "error rate 0% <= 0.1% (default)"]


NO_RESULT_TESTS = """
from pathlib import Path

import pytest

pytestmark = pytest.mark.performance


@pytest.mark.parametrize("n", range(10))
def test_fast_enough(n):
    pass


def test_load_without_a_result(staging_load):
    staging_load.run(locustfile=Path("no-such-locustfile.py"), users=1, duration="1s")
"""


def test_a_load_run_without_a_result_is_no_go_even_within_the_pass_rate(
    pytester: pytest.Pytester, read_report: Callable[[Path], Report], demo_url: str
) -> None:
    pytester.makepyfile(test_no_result=NO_RESULT_TESTS)
    report_path = pytester.path / "gate.json"
    result = pytester.runpytest(
        *INNER_RUN_OPTIONS, f"--staging-url={demo_url}", f"--staging-report={report_path}"
    )
    report = read_report(report_path)

    assert result.ret == 1
    result.assert_outcomes(passed=10, failed=1)
    performance = report["categories"]["performance"]
    assert (performance["pass_rate"], performance["threshold"]) == (pytest.approx(90.9091), 90)
    assert performance["ok"] is False
    name = LoadPlan(users=1, duration_s=1, locustfile=Path("no-such-locustfile.py")).name
    reasons = report["reasons"]
    assert (
        f"performance: load {name}: no result: locustfile no-such-locustfile.py does not exist"
    ) in reasons
    assert not [reason for reason in reasons if "pass rate" in reason]  # 90.9 % is within 90


SENSITIVE_MANIFEST = """
[environments.staging]
url = "{url}"
sensitive = true

[load]
users = 2
duration = "2s"
processes = 2
min_requests = 1
[[load.tasks]]
path = "/api/items"
"""


def test_load_on_a_sensitive_environment_is_refused_unless_allowed(
    pytester: pytest.Pytester, read_report: Callable[[Path], Report], demo_url: str
) -> None:
    pytester.makefile(".toml", staging=SENSITIVE_MANIFEST.format(url=demo_url))
    report_path = pytester.path / "gate.json"
    args = (
        *INNER_RUN_OPTIONS,
        str(SUITES / "performance" / "test_load.py"),
        "--staging-manifest=staging.toml",
        f"--staging-report={report_path}",
        "-rs",
    )
    refused = pytester.runpytest(*args)
    refused_report = read_report(report_path)
    allowed = pytester.runpytest(*args, "--staging-allow-sensitive-load")
    allowed_report = read_report(report_path)

    refused.assert_outcomes(skipped=1)
    refused.stdout.fnmatch_lines(
        [
            "*load refused: environment 'staging' is marked sensitive; "
            "pass --staging-allow-sensitive-load to load it anyway"
        ]
    )
    assert refused_report["load"] == []  # locust never started

    assert allowed.ret == 0, allowed.stdout.str()
    allowed.assert_outcomes(passed=1)
    (run,) = allowed_report["load"]
    assert (run["processes"], run["ok"]) == (2, True)
    assert run["requests"] > 0
    assert allowed_report["categories"]["performance"]["ok"] is True
