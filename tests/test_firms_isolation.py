"""Firms are isolated: an admin never sees or affects another firm's hires, whatever they type or
click, forged callback data included."""

from __future__ import annotations

from tests.firm_journeys import SAM, admin_notices, firm_with_admin, hire_data, invite, joined, read_csv, team_text
from tests.journeys import to_phone

A, B = 5001, 5002


async def two_firms(h):
    firm_a, alice = await firm_with_admin(h, "Acme Tax", A)
    firm_b, bob = await firm_with_admin(h, "Bayside Accounting", B)
    token = await invite(alice, "Sam Okafor")
    sam = await h.user(6003)
    await sam.command("start", token)
    await invite(bob, "Priya Natarajan")
    return firm_a, firm_b, alice, bob, sam


def reminders(user) -> list[str]:
    return [m.text for m in user.history if m.text.startswith("A reminder from")]


async def test_each_admin_sees_only_their_own_firm(harness):
    _a, _b, alice, bob, sam = await two_firms(harness)
    text_a, text_b = await team_text(alice), await team_text(bob)
    assert "Sam Okafor" in text_a and "Priya" not in text_a
    assert "Priya Natarajan" in text_b and "Sam" not in text_b
    assert "Acme" not in text_b

    # what a name typed reaches
    replies = await bob.command("remind", "Sam")
    assert "Nobody on your team matching" in joined(replies)
    replies = await bob.command("export")
    rows = read_csv(harness, next(m for m in replies if m.document))
    assert [r["name"] for r in rows] == ["Priya Natarajan"]

    # notices about Sam go to Acme's admin only
    await to_phone(harness, sam, SAM)  # credit freeze
    notices = await harness.engine.tick()
    assert admin_notices(notices, B) == []
    assert len(admin_notices(notices, A)) == 1

    # an admin can't take over another firm's admin
    await bob.command("admins")
    await bob.press("➕ Add an admin")
    replies = await bob.send(str(A))
    assert "admin of only one firm" in joined(replies)
    assert "Acme" not in joined(replies)


async def test_forged_buttons_naming_another_firms_hire_do_nothing(harness):
    _a, _b, alice, bob, sam = await two_firms(harness)
    sams_button = await hire_data(alice, "Sam Okafor")  # e.g. "team:h1"
    hire_id = sams_button.split(":h", 1)[1]

    # on Bayside's roster, a button carrying Acme's hire id
    await bob.command("team")
    replies = await bob.press_data(sams_button)
    text = joined(replies)
    assert "Sam" not in text and "Okafor" not in text
    assert "ignored it" in text or "isn't on your team" in text
    assert "Bayside Accounting: your team" in bob.last_text  # still on the roster

    # the reminder picker, with Sam's id
    await bob.command("remind")
    replies = await bob.press_data(f"remind_pick:h{hire_id}")
    assert "Sam" not in joined(replies)
    assert reminders(sam) == []

    # the invitations list, with Sam's id
    await bob.command("invites")
    replies = await bob.press_data(f"invites:h{hire_id}")
    assert "Sam" not in joined(replies)

    # actions on a hire card Bob never opened, sent from his own roster or card
    await bob.command("team")
    for data in ("hire:remind", "hire:revoke", "hire:remove", "hire:resend", "confirm:yes"):
        replies = await bob.press_data(data)
        assert "Sam" not in joined(replies)
    await bob.press_data(await hire_data(bob, "Priya Natarajan"))
    for data in (f"team:h{hire_id}", "hire:remind", f"hire:h{hire_id}"):
        replies = await bob.press_data(data)
        assert "Sam" not in joined(replies)
    assert reminders(sam) == []

    # removing Acme's admin from Bayside's admin page
    await bob.command("admins")
    replies = await bob.press_data(f"admins:rm{A}")
    assert "ignored" in joined(replies)
    assert "Sam Okafor" in await team_text(alice)  # Alice is still Acme's admin, Sam still there

    # a hire (not an admin) forging admin buttons gets nowhere either
    replies = await sam.press_data(sams_button)
    assert "Sam Okafor:" not in joined(replies)
    replies = await sam.command("team")
    assert "you aren't one" in joined(replies)

    # nothing changed for Acme
    await alice.press_data(await hire_data(alice, "Sam Okafor"))
    assert "Revoke invite" not in alice.last_buttons and "🔔 Send a reminder" in alice.last_buttons
    assert reminders(sam) == []


async def test_store_never_returns_another_firms_hire(harness):
    firm_a, firm_b, alice, _bob, _sam = await two_firms(harness)
    hire_id = int((await hire_data(alice, "Sam Okafor")).split(":h", 1)[1])
    async with harness.services.sessions() as session:
        store = harness.services.firms(session)
        assert await store.hire(firm_b.id, hire_id) is None
        assert (await store.hire(firm_a.id, hire_id)) is not None
        assert [store.name(h) for h in await store.hires(firm_b.id)] == ["Priya Natarajan"]


async def test_a_removed_hire_is_refused_politely_from_a_stale_button(harness):
    _a, _b, alice, _bob, _sam = await two_firms(harness)
    await invite(alice, "Lee Chen")
    stale = await hire_data(alice, "Lee Chen")
    roster_message = next(m for m in reversed(alice.history) if m.buttons).message_id
    await alice.press_data(stale)
    await alice.press("Revoke invite")
    await alice.press("Yes")
    await alice.press("Remove from the list")
    await alice.press("Yes")
    # the old roster message still carries Lee's button; the roster is current again
    replies = await alice.press_data(stale, message_id=roster_message)
    assert "Lee" not in alice.last_text
    assert "ignored" in joined(replies) or "isn't on your team" in joined(replies)
