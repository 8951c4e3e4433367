"""Prometheus metrics of a running bot (served at ``/metrics`` by the webhook server, bot.health).

Counted at the adapter level, never inside the flows: updates and step latency around
:meth:`bot.engine.Engine.handle`, identity checks around the record store's ``verify_identity``,
security events and lockouts from the audit log (logger ``sabot.audit``), deliveries from the
delivery layer's own counts. Labels carry only fixed categories (an update's kind, an outcome, an
event name); never a chat, a user, an address, a number or any answer.

Each worker process keeps its own counts; with ``--workers N`` every scrape answers for the worker
the connection reached.
"""

from __future__ import annotations

import logging
import re
import time
from typing import Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    PlatformCollector,
    ProcessCollector,
    generate_latest,
)
from prometheus_client.core import CounterMetricFamily

__all__ = ["CONTENT_TYPE_LATEST", "REGISTRY", "instrument", "render"]

REGISTRY = CollectorRegistry()
ProcessCollector(registry=REGISTRY)
PlatformCollector(registry=REGISTRY)

UPDATES = Counter("sabot_updates", "Updates handled by the conversation engine, by kind.", ["kind"], registry=REGISTRY)
STEP_SECONDS = Histogram(
    "sabot_step_seconds", "Time to handle one update: its step, the commit and the replies ready.",
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30), registry=REGISTRY,
)
STEP_ERRORS = Counter("sabot_step_errors", "Updates whose handling raised an error.", registry=REGISTRY)
IDENTITY_CHECKS = Counter("sabot_identity_checks", "Identity checks against the records, by outcome.", ["outcome"], registry=REGISTRY)
SECURITY_EVENTS = Counter("sabot_security_events", "Security events written to the audit log, by event.", ["event"], registry=REGISTRY)
LOCKOUTS = Counter("sabot_lockouts", "Lockouts, by what was locked (from the audit log).", ["what"], registry=REGISTRY)

_LABEL = re.compile(r"^[a-z][a-z0-9_:]{0,47}$")

# the known categories start at zero, so a dashboard sees them before the first one happens
for _outcome in ("matched", "identity_mismatch", "address_mismatch", "error"):
    IDENTITY_CHECKS.labels(outcome=_outcome)
for _what in ("sign_in", "totp", "identity_checks", "financial_checks"):
    LOCKOUTS.labels(what=_what)


def label(value: Any) -> str:
    """A label value only when it is a short lower-case category; anything else is "other"."""
    text = str(value or "")
    return text if _LABEL.match(text) else "other"


class _Deliveries:
    """Deliveries by channel, backend and outcome, from the delivery layer's counts."""

    def collect(self):
        family = CounterMetricFamily("sabot_deliveries", "Emails, texts and letters handed over or refused, by outcome.",
                                     labels=["channel", "backend", "outcome"])
        try:
            from bot.delivery import base
        except ImportError:  # pragma: no cover - an older delivery layer
            yield family
            return
        for key, count in sorted(dict(getattr(base, "OUTCOMES", {})).items()):
            if isinstance(key, tuple) and len(key) == 3:
                family.add_metric([label(part) for part in key], count)
        yield family


REGISTRY.register(_Deliveries())


class _AuditCounter(logging.Handler):
    """Counts the audit log's events, then hands each record on as if nothing stood between."""

    def emit(self, record: logging.LogRecord) -> None:
        args = record.args if isinstance(record.args, tuple) else ()
        event = label(args[0]) if args else "other"
        SECURITY_EVENTS.labels(event=event).inc()
        if event.endswith("_locked"):
            LOCKOUTS.labels(what=event[: -len("_locked")]).inc()

    def __init__(self, level: int) -> None:
        super().__init__()
        #: the audit logger's own level before it was opened to the counter (NOTSET: the parent's)
        self.passed_level = level

    def handle(self, record: logging.LogRecord) -> bool:
        self.emit(record)
        parent = logging.getLogger("sabot")
        threshold = self.passed_level or parent.getEffectiveLevel()
        if record.levelno >= threshold:
            parent.callHandlers(record)  # what propagation would have done
        return True


_audit_counter: _AuditCounter | None = None


def _count_audit_events() -> None:
    """Open the audit logger to the counter; again after anything (a log setup, a test's log
    capture) put back the logger's level or handlers since."""
    global _audit_counter
    audit = logging.getLogger("sabot.audit")
    if _audit_counter is None:
        _audit_counter = _AuditCounter(audit.level)
    if _audit_counter not in audit.handlers:
        audit.addHandler(_audit_counter)
    # every event reaches the counter; the other handlers still see only what their level allows
    audit.setLevel(logging.INFO)
    audit.propagate = False


def _identity_outcome(result: Any) -> str:
    if getattr(result, "matched", False):
        return "matched"
    mismatches = getattr(result, "mismatches", frozenset())
    return "identity_mismatch" if "identity" in mismatches or not mismatches else "address_mismatch"


def instrument(engine: Any) -> None:
    """Count what ``engine`` (a bot.engine.Engine) handles; once per engine."""
    _count_audit_events()
    if getattr(engine, "_sabot_metrics", False):
        return
    engine._sabot_metrics = True
    handle = engine.handle

    async def counted_handle(incoming):
        started = time.perf_counter()
        try:
            return await handle(incoming)
        except Exception:
            STEP_ERRORS.inc()
            raise
        finally:
            UPDATES.labels(kind=label(getattr(incoming, "kind", ""))).inc()
            STEP_SECONDS.observe(time.perf_counter() - started)

    engine.handle = counted_handle
    records = getattr(getattr(engine, "services", None), "records", None)
    verify = getattr(records, "verify_identity", None)
    if verify is not None and not getattr(records, "_sabot_metrics", False):
        async def counted_verify(*args, **kwargs):
            try:
                result = await verify(*args, **kwargs)
            except Exception:
                IDENTITY_CHECKS.labels(outcome="error").inc()
                raise
            IDENTITY_CHECKS.labels(outcome=_identity_outcome(result)).inc()
            return result

        records.verify_identity = counted_verify
        records._sabot_metrics = True


def render() -> bytes:
    """The metrics in Prometheus' text format."""
    return generate_latest(REGISTRY)
