"""What a long-running bot loads before its first update (bot.runtime)."""

from __future__ import annotations

import gc

from bot.runtime import freeze_heap, thaw_heap, warm_up
from domain import passwords


def test_warm_up_loads_the_tables_the_first_answers_read():
    """The password checks' word lists are loaded at start-up, so they are among what freeze_heap
    sets aside, and nobody's first password pays for loading them."""
    passwords._common_passwords.cache_clear()
    passwords._zxcvbn.cache_clear()
    warm_up()
    assert passwords._common_passwords.cache_info().currsize == 1
    assert passwords._zxcvbn.cache_info().currsize == 1


def test_the_frozen_heap_holds_the_word_lists_and_thaws():
    warm_up()
    words = passwords._common_passwords()
    freeze_heap()
    try:
        assert gc.get_freeze_count() > 0
        assert not any(o is words for o in gc.get_objects())  # set aside from every pass
    finally:
        thaw_heap()
    assert gc.get_freeze_count() == 0
