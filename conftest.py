"""The repository's own pytest settings: pytester for the plugin's tests."""

pytest_plugins = ["pytester"]
