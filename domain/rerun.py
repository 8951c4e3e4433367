"""Work kept for an answer whose step runs more than once.

A step that needs slow work (hashing a password) stops, has the work done outside the shared
transaction, and runs again from the start with the result ready (bot.group_commit). What the
step computed before it stopped is computed again then, so a costly pure check on the way (the
password's guess estimate) keeps its result here for the next run of the same answer.

The adapter sets :data:`prepared_work` to one dictionary per answer being applied and drops it
with the answer; outside such a run (None) nothing is kept.
"""

from __future__ import annotations

from contextvars import ContextVar
from typing import Callable, Hashable, TypeVar

T = TypeVar("T")

#: results kept for the answer being applied (its slow work's and its costly checks'); None
#: outside a step run by the adapter
prepared_work: ContextVar[dict | None] = ContextVar("prepared_work", default=None)


def remembered(key: Hashable, compute: Callable[[], T]) -> T:
    """``compute()``, or its result from an earlier run of this answer's step."""
    kept = prepared_work.get()
    if kept is None:
        return compute()
    if key not in kept:
        kept[key] = compute()
    return kept[key]
