"""Files that run inside the locust subprocess, never in the pytest process.

Locust monkey-patches threads and sockets with gevent when imported, which
would break httpx and pytest's own threads: nothing in pytest_staging imports
these modules; the load runner hands their paths to `locust -f`.
"""

# The contract between the load runner (pytest's side) and these files (locust's side).
OUTPUT_ENV = "PYTEST_STAGING_LOAD_OUTPUT"
"""Folder where the reporter writes its progress and result files."""
PARENT_ENV = "PYTEST_STAGING_LOAD_PARENT"
"""PID of the process that started locust; locust quits when it is gone."""
HEADERS_ENV = "PYTEST_STAGING_LOAD_HEADERS"
"""JSON object of request headers for the generated users (may hold a token)."""
CA_BUNDLE_ENV = "PYTEST_STAGING_LOAD_CA_BUNDLE"
INSECURE_ENV = "PYTEST_STAGING_LOAD_INSECURE"
PROGRESS_FILE = "progress.json"
RESULT_FILE = "result.json"
