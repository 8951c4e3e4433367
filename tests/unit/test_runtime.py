"""What the bot does once started: load the address tables, freeze start-up's objects."""

from __future__ import annotations

import gc

from bot.runtime import settle_after_start, thaw_heap
from domain.addresses import _subdivisions


def test_settling_loads_the_address_tables_and_freezes_the_heap():
    _subdivisions.cache_clear()
    try:
        settle_after_start()
        assert _subdivisions.cache_info().currsize == 1  # the US table, before any user needs it
        assert gc.get_freeze_count() > 1000
    finally:
        thaw_heap()
    assert gc.get_freeze_count() == 0
