"""The README's figures for how much a person reads to register are the transcripts' own."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from sabot_testing.words import read, words

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
TRANSCRIPTS = ROOT / "tests" / "transcripts" / "registration"

#: the runs the README counts: (link name in the README, transcript)
RUNS = [
    ("happy_path", TRANSCRIPTS / "happy_path.convo.yaml"),
    ("happy_path_address_mismatch", TRANSCRIPTS / "happy_path_address_mismatch.convo.yaml"),
]

FIGURE = re.compile(r"\[(?P<name>\w+)\]\([^)]*\)[^*]*?\*\*(?P<words>[\d,]+) words\*\* in (?P<messages>\d+)\s+messages", re.S)


def stated() -> dict[str, tuple[int, int]]:
    """{run: (words, messages)} as the README states them."""
    text = README.read_text(encoding="utf-8")
    return {m["name"]: (int(m["words"].replace(",", "")), int(m["messages"])) for m in FIGURE.finditer(text)}


def test_a_word_is_a_run_of_letters_or_digits():
    assert words("(I deleted your message, so it doesn't stay.)") == 8
    assert words("SSN 401-22-7788, born 06/02/1985 🎉 – jrivera85") == 5
    assert words("• Confirmation code – emailed") == 3


async def test_the_readme_states_the_words_read_on_both_paths():
    figures = stated()
    actual = {}
    for name, path in RUNS:
        reading = await read(path)
        actual[name] = (reading.words, len(reading.messages))
    drift = {name: (figures.get(name), actual[name]) for name, _ in RUNS if figures.get(name) != actual[name]}
    if drift:
        lines = [
            f"{name}: README says {said[0] if said else '?'} words in {said[1] if said else '?'} messages, "
            f"the transcript now reads **{now[0]} words** in {now[1]} messages"
            for name, (said, now) in drift.items()
        ]
        pytest.fail("update README.md (What a registration looks like):\n" + "\n".join(lines))
