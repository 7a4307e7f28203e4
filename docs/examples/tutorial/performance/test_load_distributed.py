import dataclasses

import pytest


@pytest.mark.performance
def test_load_from_two_workers(staging_manifest, staging_load):
    declared = staging_manifest.load
    plan = dataclasses.replace(
        declared.plan, expect_workers=2, master_bind_host="0.0.0.0", master_bind_port=5557
    )
    staging_load.run_plan(plan, declared.thresholds)
