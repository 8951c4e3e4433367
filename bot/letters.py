"""Letters for the print vendor: the day's letters as CSV, and each letter as a printable PDF page.

The envelope of a letter abroad ends with the country's name in capitals on a line of its own
("CANADA"), as the postal services ask, never a bare two-letter code ("CA" reads as California);
letters stored before that rule are put right as they are exported. The PDF is set in DejaVu Sans
(bot/data/fonts, with its licence), which prints any name ("Nguyễn", "Øyvind", "Zoë")."""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from fpdf import FPDF
from sqlalchemy import select

from bot.services import Services
from bot.storage.models import Letter
from domain.addresses import country_name
from domain.i18n import _, format_date, using

FONTS = Path(__file__).parent / "data" / "fonts"
FONT = "DejaVuSans"

EASTERN = ZoneInfo("America/New_York")
CSV_FIELDS = ["letter_id", "created_at", "code_expires_at", "recipient", "address_lines", "body"]


@dataclass
class PrintedLetter:
    id: int
    created_at: datetime
    code_expires_at: datetime
    envelope: list[str]
    body: str
    #: the language of the person it goes to (the page is printed in it)
    language: str | None = None


def in_their_languages(letters: list[PrintedLetter]):
    """Each letter in turn, with its person's language spoken while it is printed."""
    for letter in letters:
        with using(letter.language):
            yield letter


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
                    envelope_lines(services.vault.decrypt(row.address_enc, context="letter.address")),
                    _country_named(services.vault.decrypt(row.body_enc, context="letter.body")),
                    row.language,
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


_CODE_LINE = re.compile(r"^[A-Za-z]{2}$")


def _country_line(line: str) -> str:
    """A last line that is a bare two-letter country code, as the country's name in capitals."""
    text = line.strip()
    if _CODE_LINE.match(text) and text.upper() != "US":
        name = country_name(text.upper())
        if name:
            return name.upper()
    return line


def envelope_lines(envelope: list[str]) -> list[str]:
    """The name and address lines as printed: a country code on the last line becomes the
    country's name in capitals (letters stored before that rule)."""
    lines = [str(line) for line in envelope]
    if len(lines) > 2:
        lines[-1] = _country_line(lines[-1])
    return lines


def _country_named(body: str) -> str:
    """The letter's text with the address block at its head put right the same way."""
    head, sep, rest = body.partition("\n\n")
    if not sep:
        return body
    return "\n".join(envelope_lines(head.split("\n"))) + sep + rest


def _pdf() -> FPDF:
    pdf = FPDF(format="letter", unit="pt")
    pdf.add_font(FONT, "", str(FONTS / "DejaVuSans.ttf"))
    pdf.add_font(FONT, "B", str(FONTS / "DejaVuSans-Bold.ttf"))
    return pdf


def to_pdf(letters: list[PrintedLetter]) -> bytes:
    """One letter-size page per letter: the address block where a window envelope shows it,
    then the letter. Each page is printed in its person's language (``Letter.language``)."""
    pdf = _pdf()
    pdf.set_auto_page_break(auto=True, margin=54)
    for letter in in_their_languages(letters):
        pdf.add_page()
        pdf.set_font(FONT, "B", 14)
        pdf.cell(0, 20, _("Secure Access registration"), new_x="LMARGIN", new_y="NEXT")
        pdf.set_font(FONT, "", 9)
        # the date as a Babel pattern ("March 03, 2027")
        made = format_date(letter.created_at, _("MMMM dd, y"))
        pdf.cell(0, 14, _("Letter {number} - {date}").format(number=letter.id, date=made), new_x="LMARGIN", new_y="NEXT")
        pdf.ln(40)
        pdf.set_font(FONT, "", 11)
        for line in envelope_lines(letter.envelope):
            pdf.cell(0, 15, line, new_x="LMARGIN", new_y="NEXT")
        pdf.ln(40)
        body = letter.body.split("\n\n", 1)[-1] if "\n\n" in letter.body else letter.body
        pdf.multi_cell(0, 15, body)
    return bytes(pdf.output())
