"""Scripted conversations: transcripts (``*.convo.yaml``) run against the real Telegram adapter.

* :mod:`sabot_testing.loader` reads transcripts (line numbers, includes, data rows);
* :mod:`sabot_testing.runner` runs them and checks every reply;
* :mod:`sabot_testing.pytest_plugin` collects them as pytest items;
* :mod:`sabot_testing.coverage` records the states and transitions reached;
* :mod:`sabot_testing.diagrams` draws each flow (Mermaid);
* :mod:`sabot_testing.recorder` turns a live terminal conversation into a transcript;
* :mod:`sabot_testing.extend` lets deployments add fixtures and step kinds.

The format is documented in ``docs/transcripts.md``.
"""

from __future__ import annotations

from sabot_testing.loader import Transcript, TranscriptError, find_transcripts, load_transcript
from sabot_testing.runner import Result, StepFailure, run_case, run_transcript

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
