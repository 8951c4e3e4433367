"""Letters for the print vendor: the day's letters as CSV, and each letter as a printable PDF page."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from fpdf import FPDF
from sqlalchemy import select

from bot.services import Services
from bot.storage.models import Letter

EASTERN = ZoneInfo("America/New_York")
CSV_FIELDS = ["letter_id", "created_at", "code_expires_at", "recipient", "address_lines", "body"]


@dataclass
class PrintedLetter:
    id: int
    created_at: datetime
    code_expires_at: datetime
    envelope: list[str]
    body: str


async def letters_for_day(services: Services, day: date, *, mark_exported: bool = True) -> list[PrintedLetter]:
    """Letters created on ``day`` (Eastern time), oldest first."""
    start = datetime.combine(day, time(0), EASTERN)
    end = start + timedelta(days=1)
    out: list[PrintedLetter] = []
    async with services.sessions() as session, session.begin():
        rows = (
            await session.scalars(
                select(Letter).where(Letter.created_at >= start, Letter.created_at < end).order_by(Letter.id)
            )
        ).all()
        for row in rows:
            out.append(
                PrintedLetter(
                    row.id,
                    row.created_at,
                    row.code_expires_at,
                    services.vault.decrypt(row.address_enc, context="letter.address"),
                    services.vault.decrypt(row.body_enc, context="letter.body"),
                )
            )
            if mark_exported and row.exported_at is None:
                row.exported_at = services.clock.now()
    return out


def to_csv(letters: list[PrintedLetter]) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=CSV_FIELDS)
    writer.writeheader()
    for letter in letters:
        writer.writerow(
            {
                "letter_id": letter.id,
                "created_at": letter.created_at.isoformat(),
                "code_expires_at": letter.code_expires_at.isoformat(),
                "recipient": letter.envelope[0],
                "address_lines": "\n".join(letter.envelope[1:]),
                "body": letter.body,
            }
        )
    return buffer.getvalue()


def _latin1(text: str) -> str:
    return text.encode("latin-1", "replace").decode("latin-1")


def to_pdf(letters: list[PrintedLetter]) -> bytes:
    """One letter-size page per letter: the address block where a window envelope shows it,
    then the letter."""
    pdf = FPDF(format="letter", unit="pt")
    pdf.set_auto_page_break(auto=True, margin=54)
    for letter in letters:
        pdf.add_page()
        pdf.set_font("Helvetica", "B", 14)
        pdf.cell(0, 20, "Secure Access registration", new_x="LMARGIN", new_y="NEXT")
        pdf.set_font("Helvetica", "", 9)
        pdf.cell(0, 14, f"Letter {letter.id} - {letter.created_at:%B %d, %Y}", new_x="LMARGIN", new_y="NEXT")
        pdf.ln(40)
        pdf.set_font("Helvetica", "", 11)
        for line in letter.envelope:
            pdf.cell(0, 15, _latin1(line), new_x="LMARGIN", new_y="NEXT")
        pdf.ln(40)
        body = letter.body.split("\n\n", 1)[-1] if "\n\n" in letter.body else letter.body
        pdf.multi_cell(0, 15, _latin1(body))
    return bytes(pdf.output())
