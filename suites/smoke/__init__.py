"""Smoke: the deploy is up, healthy, and its declared endpoints and auth answer."""
