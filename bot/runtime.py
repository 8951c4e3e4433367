"""What a long-running bot does once it has started, before the first update arrives."""

from __future__ import annotations

import gc


def warm_up() -> None:
    """Load now what the first answers would otherwise load on the way: the world's list of
    states and provinces that address checks read (~130 ms, paid by someone's review step), and
    the password checks' word lists (~0.3 s, and about 200,000 entries the collector would walk
    in every full pass if they came after freeze_heap)."""
    from domain import addresses, passwords

    addresses.load_tables()
    passwords.load_tables()


def freeze_heap() -> None:
    """Keep what start-up built (libraries, mappers, the flows) out of the garbage collector's
    full passes: they would otherwise walk these ~150,000 long-lived objects every time, pausing
    every chat for 80-200 ms; frozen, a full pass takes 20-70 ms."""
    gc.collect()
    gc.freeze()


def thaw_heap() -> None:
    """Undo freeze_heap (for a process that starts several bots in turn, like the benchmark)."""
    gc.unfreeze()
    gc.collect()


def settle_after_start() -> None:
    warm_up()
    freeze_heap()
