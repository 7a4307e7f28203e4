"""Renderers of a finished gate: terminal table and JSON report."""
