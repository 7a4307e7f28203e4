"""The markers pytest-staging registers: the gate's categories, `critical` and `destructive`."""

from __future__ import annotations

CRITICAL = "critical"
DESTRUCTIVE = "destructive"

MARKERS = {
    "smoke": "staging gate category: the deploy is up and its key paths answer.",
    "integration": "staging gate category: the pieces work together (schemas, flows).",
    "performance": "staging gate category: latency and load within budget.",
    "security": "staging gate category: headers, TLS, auth and error hygiene.",
    "monitoring": "staging gate category: metrics and operational signals (cache, series).",
    CRITICAL: "any failure of this test is a NO-GO, whatever the pass rates.",
    DESTRUCTIVE: "changes data on the target (creates, deletes); keep it off sensitive targets.",
}
