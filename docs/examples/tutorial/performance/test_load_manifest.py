import dataclasses

import pytest


@pytest.mark.performance
def test_the_manifest_load_with_more_users(staging_manifest, staging_load):
    declared = staging_manifest.load
    plan = dataclasses.replace(declared.plan, users=20, label="manifest load, 20 users")
    staging_load.run_plan(plan, declared.thresholds)
