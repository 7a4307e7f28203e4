"""Per-test cost of the manifest's endpoint checks vs. hand-written tests doing the same checks.

Both sides send the same requests to the same demo and run the same three checks per
endpoint: the status, the envelope (built-in envelope schema), and status + envelope + the
page schema on `data`. Ours: the bundled suites driven by a generated manifest. Theirs: a
parametrized test file with a session `httpx.Client` and compiled `jsonschema` validators,
run with `-p no:staging`. Each side runs at two sizes; the slope (wall(N2) - wall(N1)) /
(tests(N2) - tests(N1)) is the per-test cost, so start-up and collection of fixed parts cancel.

Goal: ours <= 1.10 x hand-written per-test cost.
"""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

if __package__ in {None, ""}:
    sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import (
    CHECKS_PER_ENDPOINT,
    ENDPOINT_TESTS,
    demo,
    endpoint_cases,
    interleaved,
    median,
    print_table,
    pytest_cmd,
    verdict,
    workspace,
    write_endpoint_manifest,
)

SIZES = (50, 400)
ROUNDS = 5
GOAL = 1.10
HAND_WRITTEN = '''\
"""The same three checks per endpoint as the bundled suites, written by hand."""

import json
from pathlib import Path

import httpx
import pytest
from jsonschema.validators import validator_for

HERE = Path(__file__).parent
CASES = json.loads((HERE / "cases_{size}.json").read_text())
PARAMS = [pytest.param(path, id=name, marks=pytest.mark.smoke) for name, path in CASES]


def _compiled(name):
    schema = json.loads((HERE / name).read_text())
    cls = validator_for(schema)
    return cls(schema, format_checker=cls.FORMAT_CHECKER)


ENVELOPE = _compiled("envelope.json")
PAGE = _compiled("item-page.json")


@pytest.fixture(scope="session")
def client():
    with httpx.Client(base_url="{url}", timeout=10) as session_client:
        yield session_client


@pytest.mark.parametrize("path", PARAMS)
def test_status(client, path):
    assert client.get(path).status_code == 200


@pytest.mark.parametrize("path", PARAMS)
def test_envelope(client, path):
    ENVELOPE.validate(client.get(path).json())


@pytest.mark.integration
@pytest.mark.parametrize("path", PARAMS)
def test_schema(client, path):
    response = client.get(path)
    assert response.status_code == 200
    body = response.json()
    ENVELOPE.validate(body)
    PAGE.validate(body["data"])
'''


def write_hand_written(folder: Path, size: int, url: str) -> Path:
    (folder / f"cases_{size}.json").write_text(json.dumps(endpoint_cases(size)))
    test_file = folder / f"test_hand_{size}.py"
    test_file.write_text(HAND_WRITTEN.replace("{size}", str(size)).replace("{url}", url))
    return test_file


def copy_envelope_schema(folder: Path) -> None:
    import pytest_staging

    shutil.copy(Path(pytest_staging.__file__).parent / "schemas" / "envelope.json", folder)


def variants(folder: Path, url: str) -> dict[str, list[str]]:
    """Both sides at both sizes; `-q` and `-p no:cacheprovider` alike for all."""
    common = ("-q", "-p", "no:cacheprovider")
    runs = {}
    for size in SIZES:
        manifest = write_endpoint_manifest(folder, size)
        hand = write_hand_written(folder, size, url)
        runs[f"ours N={size}"] = pytest_cmd(
            *common, "--staging-suites", "--staging-url", url,
            "--staging-manifest", str(manifest), "-k", ENDPOINT_TESTS,
        )  # fmt: skip
        runs[f"hand N={size}"] = pytest_cmd(*common, "-p", "no:staging", str(hand))
    return runs


def slope_ms(walls: dict[str, list[float]], side: str) -> float:
    small, large = SIZES
    rise = median(walls[f"{side} N={large}"]) - median(walls[f"{side} N={small}"])
    return 1000 * rise / ((large - small) * CHECKS_PER_ENDPOINT)


def main() -> None:
    with workspace("per-test") as folder, demo("healthy") as url:
        copy_envelope_schema(folder)
        walls = interleaved(variants(folder, url), folder, ROUNDS)
    rows = [
        [name, len(times), median(times), min(times), max(times)] for name, times in walls.items()
    ]
    print_table(["variant", "runs", "median s", "min s", "max s"], rows)
    ours, hand = slope_ms(walls, "ours"), slope_ms(walls, "hand")
    print(f"per-test cost (slope): ours {ours:.3f} ms, hand-written {hand:.3f} ms")
    verdict("ratio ours/hand", ours / hand, f"<= {GOAL:.2f}", ours / hand <= GOAL)


if __name__ == "__main__":
    main()
