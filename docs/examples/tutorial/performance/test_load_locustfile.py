from pathlib import Path

import pytest

LOCUSTFILE = Path(__file__).with_name("locustfile.py")


@pytest.mark.performance
def test_browsing_holds_under_load(staging_load):
    staging_load.run(locustfile=LOCUSTFILE, users=5, duration="3s", p95_ms=200)
