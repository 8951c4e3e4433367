"""How much a person reads: the words of every message the bot sends them in a transcript.

A word is a run of letters or digits, joined by an apostrophe, hyphen, dot or slash
("doesn't", "401-22-7788", "06/02/1985" are one word each); emoji and punctuation are not words.
Button labels are not counted: the figure is the messages' text, as the transcript runner sees
each reply. ``sabot_testing.words`` is what the README's figures ("How much there is to read")
are computed with, and ``tests/test_words_read.py`` keeps them current.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from sabot_testing.loader import load_transcript
from sabot_testing.runner import Run, StepFailure
from sabot_testing.runtime import BotRuntime, parse_when

WORD = re.compile(r"[^\W_]+(?:['’./-][^\W_]+)*")


def words(text: str) -> int:
    return len(WORD.findall(text or ""))


@dataclass
class Reading:
    """What the default user of a transcript read, message by message, until ``until``."""

    messages: list[str] = field(default_factory=list)

    @property
    def words(self) -> int:
        return sum(words(m) for m in self.messages)

    @property
    def longest(self) -> int:
        """The longest message, in characters."""
        return max((len(m) for m in self.messages), default=0)


async def read(path: Path | str, *, until: str | None = "home/registered") -> Reading:
    """Run the transcript at ``path`` and collect the texts of the messages its first user
    receives, up to and including the step after which that user's conversation is at
    ``until`` ("flow/state"; None: to the end). Fails like the transcript would."""
    transcript = load_transcript(Path(path))
    fixtures = transcript.fixtures or {}
    runtime = await BotRuntime.create(
        config=fixtures.get("config") or {},
        clock=parse_when(fixtures["clock"]) if fixtures.get("clock") else None,
        demo_records=fixtures.get("demo_records", True) is not False,
    )
    reading = Reading()
    try:
        run = Run(transcript, None, runtime)
        await run.start()
        chat = run.default_chat
        for run.index, step in enumerate(transcript.steps, 1):
            await run.run_step(step)
            reply = run.history[-1][1] if run.history else None
            if reply is None or reply.chat_id != chat:
                continue
            reading.messages.extend(m.text for m in reply.messages if m.text)
            if until is not None and "/".join(await runtime.engine.where(chat) or ()) == until:
                return reading
    except StepFailure as failure:
        raise AssertionError(failure.render()) from None
    finally:
        await runtime.close()
    if until is not None:
        raise AssertionError(f"{path}: the conversation never reached {until}")
    return reading
