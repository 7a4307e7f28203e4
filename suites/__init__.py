"""The ready-made staging suites, installed as `pytest_staging.suites` (see `--staging-suites`)."""
