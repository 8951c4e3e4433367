"""Scripted conversations: transcripts (``*.convo.yaml``) run against the real Telegram adapter.

* :mod:`bot.scripting.loader` reads transcripts (line numbers, includes, data rows);
* :mod:`bot.scripting.runner` runs them and checks every reply;
* :mod:`bot.scripting.pytest_plugin` collects them as pytest items;
* :mod:`bot.scripting.coverage` records the states and transitions reached;
* :mod:`bot.scripting.diagrams` draws each flow (Mermaid);
* :mod:`bot.scripting.recorder` turns a live terminal conversation into a transcript;
* :mod:`bot.scripting.extend` lets deployments add fixtures and step kinds.

The format is documented in ``docs/transcripts.md``.
"""

from __future__ import annotations

from bot.scripting.loader import Transcript, TranscriptError, find_transcripts, load_transcript
from bot.scripting.runner import Result, StepFailure, run_case, run_transcript

__all__ = [
    "Result",
    "StepFailure",
    "Transcript",
    "TranscriptError",
    "find_transcripts",
    "load_transcript",
    "run_case",
    "run_transcript",
]
