"""Flow.fire reads a trigger's only, unconditional transition straight from the machine's table;
that answer must always be the one the machine gives when it is triggered."""

from __future__ import annotations

import pytest

from flows.router import FLOWS


@pytest.mark.parametrize("name", sorted(FLOWS))
def test_direct_destinations_agree_with_the_machine(name):
    flow = FLOWS[name]
    machine = flow.machine
    for trigger, event in machine.events.items():
        for source in event.transitions:
            direct = flow._direct_dest(source, trigger)
            if direct is None:
                continue
            machine.set_state(source, model=flow._cursor)
            assert flow._cursor.trigger(trigger, None)
            assert flow._cursor.state == direct, (source, trigger)


def test_most_moves_are_read_straight_from_the_table():
    direct = sum(
        flow._direct_dest(source, trigger) is not None
        for flow in FLOWS.values()
        for trigger, event in flow.machine.events.items()
        for source in event.transitions
    )
    assert direct > 50


def test_conditional_transitions_are_left_to_the_machine():
    flow = FLOWS["registration"]
    conditional = [
        (source, trigger)
        for trigger, event in flow.machine.events.items()
        for source, candidates in event.transitions.items()
        if len(candidates) > 1 or any(t.conditions for t in candidates)
    ]
    assert conditional, "the registration has transitions that depend on the answers"
    for source, trigger in conditional:
        assert flow._direct_dest(source, trigger) is None
