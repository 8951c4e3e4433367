"""A password answer is hashed once: argon2 is the costliest thing the bot does, and hashing it
again (e.g. by running the step a second time) would double the wait of everyone signing up."""

from __future__ import annotations

import pytest

from tests.conftest import make_harness, test_settings as settings_for
from tests.journeys import JORDAN, to_username


class CountingHasher:
    """Wraps the vault's argon2 hasher and counts the hashes it computes (verifying a password
    against a stored hash computes one too)."""

    def __init__(self, hasher):
        self.hasher = hasher
        self.hashes = 0
        self.verifies = 0

    def hash(self, password):
        self.hashes += 1
        return self.hasher.hash(password)

    def verify(self, stored, password):
        self.verifies += 1
        return self.hasher.verify(stored, password)

    def __getattr__(self, name):
        return getattr(self.hasher, name)


async def counted_at_password(h, chat_id):
    """The vault's hasher counted, and a person registering who is asked for a password."""
    counting = CountingHasher(h.services.vault.passwords)
    h.services.vault.passwords = counting
    user = await h.user(chat_id)
    await to_username(h, user)
    await user.send(JORDAN["username"])
    return counting, user


@pytest.mark.parametrize("group_commit", [True, False])
async def test_a_password_answer_is_hashed_once(tmp_path, group_commit):
    h = await make_harness(settings_for(tmp_path, database={"group_commit": group_commit}))
    try:
        counting, user = await counted_at_password(h, 8601)
        assert (counting.hashes, counting.verifies) == (0, 0)
        await user.send(JORDAN["password"])
        assert await h.engine.where(8601) == ("registration", "site_phrase")
        assert (counting.hashes, counting.verifies) == (1, 0)
        # the site phrase is compared with the password: one verification, no new hash
        await user.send(JORDAN["phrase"])
        assert (counting.hashes, counting.verifies) == (1, 1)
    finally:
        await h.close()


async def test_the_replay_of_a_password_step_reuses_its_hash(tmp_path, monkeypatch):
    """With group commit, the step choosing a password leaves its group while the password is
    hashed and runs again with the hash in hand: the second run hashes nothing."""
    from flows import registration

    h = await make_harness(settings_for(tmp_path))
    try:
        counting, user = await counted_at_password(h, 8602)
        runs = []
        step = registration.flow.steps["password"]
        original = step.check

        async def counted(ctx, answer):
            runs.append(counting.hashes)
            return await original(ctx, answer)

        monkeypatch.setattr(step, "check", counted)
        await user.send(JORDAN["password"])
        assert runs == [0, 1]  # the run that found the hash done hashed nothing more
        assert counting.hashes == 1
        assert await h.engine.where(8602) == ("registration", "site_phrase")
    finally:
        await h.close()


@pytest.mark.parametrize("group_commit", [True, False])
async def test_the_guess_estimate_of_a_password_answer_is_made_once(tmp_path, monkeypatch, group_commit):
    """The guess estimate (zxcvbn, milliseconds of CPU) is kept for the answer while its step runs
    again after hashing; the next answer gets an estimate of its own."""
    from domain import passwords

    estimates = []
    original = passwords._estimate

    def counted(value, user_inputs, enough):
        estimates.append(value)
        return original(value, user_inputs, enough)

    monkeypatch.setattr(passwords, "_estimate", counted)
    h = await make_harness(settings_for(tmp_path, database={"group_commit": group_commit}))
    try:
        counting, user = await counted_at_password(h, 8603)
        await user.send("zxcvbnmasdfgh")  # a keyboard row: refused after one estimate
        assert await h.engine.where(8603) == ("registration", "password")
        assert estimates == ["zxcvbnmasdfgh"]
        await user.send(JORDAN["password"])
        assert await h.engine.where(8603) == ("registration", "site_phrase")
        assert estimates == ["zxcvbnmasdfgh", JORDAN["password"]]
        assert counting.hashes == 1
    finally:
        await h.close()
