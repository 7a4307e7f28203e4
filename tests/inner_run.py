"""Options for the pytest runs the plugin's tests start through pytester.

`-W` silences the warning in-process runs raise because the installed plugin is already
imported; the cache provider stays off so runs leave nothing behind.
"""

INNER_RUN_OPTIONS = ("-p", "no:cacheprovider", "-W", "ignore::pytest.PytestAssertRewriteWarning")
