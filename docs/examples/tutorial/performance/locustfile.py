import json
import os

from locust import FastHttpUser, constant, task

HEADERS = json.loads(os.environ.get("PYTEST_STAGING_LOAD_HEADERS") or "{}")


class Browser(FastHttpUser):
    wait_time = constant(0.1)

    @task(3)
    def list_items(self):
        self.client.get("/api/items?per_page=5", name="GET /api/items", headers=HEADERS)

    @task
    def one_item(self):
        self.client.get("/api/items/1", name="GET one item", headers=HEADERS)
