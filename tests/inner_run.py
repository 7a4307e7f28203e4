"""Options for the pytest runs the plugin's tests start through pytester, and a test module
several of them run.

`-W` silences the warning in-process runs raise because the installed plugin is already
imported; the cache provider stays off so runs leave nothing behind.
"""

INNER_RUN_OPTIONS = ("-p", "no:cacheprovider", "-W", "ignore::pytest.PytestAssertRewriteWarning")

ONE_FAILURE_IN_THREE = """
import pytest

@pytest.mark.smoke
def test_health(staging_client):
    assert staging_client.get("/health").status_code == 200

@pytest.mark.integration
@pytest.mark.parametrize("n", range(3))
def test_sums(n):
    assert n != 2, "two is not allowed"
"""
"""One smoke test that calls the target, and integration at 2 of 3 (66.6 %): a NO-GO that
`.replace("n != 2", "n != 5")` turns into a GO."""
