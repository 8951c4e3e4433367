"""The print vendor's letters: a letter abroad ends with the country's name in capitals on a line
of its own, and the PDF, set in the bundled DejaVu Sans, prints any name ("Nguyễn")."""

from __future__ import annotations

import csv
import io
from datetime import datetime, timezone
from zoneinfo import ZoneInfo

import pypdf

from bot.letters import FONTS, PrintedLetter, envelope_lines, letters_for_day, to_csv, to_pdf
from domain.addresses import Address
from tests.journeys import JORDAN, finish_by_mail, to_phone

AN = {
    **JORDAN,
    "first_name": "An",
    "last_name": "Nguyễn",
    "email": "an.nguyen@example.ca",
    "ssn": "409-11-2233",
    "dob": "04/21/1981",
    "filing_status": "Single",
    "abroad": True,
    "line1": "100 King St W",
    "line2": "Apt 1203",
    "city": "Toronto",
    "province": "ON",
    "postal_code": "M5V 2T6",
    "country": "Canada",
    "last8": "99998888",
    "phone": "(202) 555-0177",
    "username": "annguyen81",
}

RECORD = """
taxpayers:
  - ssn: "409-11-2233"
    first_name: An
    last_name: Nguyễn
    date_of_birth: "1981-04-21"
    filing_status: single
    address: {line1: "100 King St W", line2: "Apt 1203", city: Toronto, state: "ON", postal_code: "M5V 2T6", country: CA}
    credit_freeze: false
    financial_accounts:
      - {type: credit_card, number: "4111111199998888", card_network: visa, card_kind: credit}
    phones: []
"""


def pdf_text(data: bytes) -> str:
    return "\n".join(page.extract_text() for page in pypdf.PdfReader(io.BytesIO(data)).pages)


def embedded_fonts(data: bytes) -> set[str]:
    names = set()
    for page in pypdf.PdfReader(io.BytesIO(data)).pages:
        for font in page["/Resources"]["/Font"].values():
            font = font.get_object()
            descendant = font.get("/DescendantFonts")
            descriptor = (descendant[0].get_object() if descendant else font).get("/FontDescriptor")
            if descriptor is not None and "/FontFile2" in descriptor.get_object():
                names.add(str(font["/BaseFont"]))
    return names


async def register_abroad_by_mail(h, user, p=AN):
    await to_phone(h, user, p)
    await user.send(p["phone"])
    return await finish_by_mail(user, p)


async def test_a_letter_to_canada_ends_with_canada_and_prints_nguyen(harness, tmp_path):
    records = tmp_path / "an.yaml"
    records.write_text(RECORD, encoding="utf-8")
    await harness.import_records(records)
    user = await harness.user(7101)
    await register_abroad_by_mail(harness, user)
    assert await harness.engine.where(7101) is not None

    day = harness.clock.now().astimezone(ZoneInfo("America/New_York")).date()
    [letter] = await letters_for_day(harness.services, day)
    assert letter.envelope == ["An Nguyễn", "100 King St W", "Apt 1203", "Toronto ON M5V 2T6", "CANADA"]
    assert letter.body.startswith("An Nguyễn\n100 King St W\nApt 1203\nToronto ON M5V 2T6\nCANADA\n\n")

    [row] = list(csv.DictReader(io.StringIO(to_csv([letter]))))
    assert row["recipient"] == "An Nguyễn"
    assert row["address_lines"].splitlines()[-1] == "CANADA"

    pdf = to_pdf([letter])
    text = pdf_text(pdf)
    assert "An Nguyễn" in text and "Nguy?n" not in text and "?" not in text.replace("?\n", "")
    lines = [line.strip() for line in text.splitlines()]
    assert "CANADA" in lines  # on a line of its own
    assert lines.index("CANADA") == lines.index("Toronto ON M5V 2T6") + 1
    assert any("DejaVuSans" in name for name in embedded_fonts(pdf))


def test_letters_stored_with_a_bare_code_are_put_right():
    assert envelope_lines(["Priya Natarajan", "100 King St W", "Toronto ON M5V 2T6", "CA"])[-1] == "CANADA"
    assert envelope_lines(["Ana Souza", "Rua A 1", "Rio de Janeiro RJ 20000-000", "br"])[-1] == "BRAZIL"
    # a U.S. address is left as it is
    us = ["Jordan Rivera", "1234 Elm St", "Springfield, IL 62704"]
    assert envelope_lines(us) == us
    assert Address("1 Rue de Rivoli", city="Paris", postal_code="75001", country="FR").postal_lines()[-1] == "FRANCE"


def test_any_name_prints_in_the_pdf():
    names = ["Nguyễn Thị Minh Khai", "Øyvind Åsmund Ødegård", "Zoë Šťastná", "Łukasz Żółć", "Δημήτρης Παπαδόπουλος"]
    letter = PrintedLetter(
        1,
        datetime(2026, 3, 2, 15, tzinfo=timezone.utc),
        datetime(2026, 4, 1, 15, tzinfo=timezone.utc),
        [names[0], "1 Phố Huế", "Hà Nội 100000", "VN"],
        "\n\n".join(["head", "Also known as: " + "; ".join(names[1:])]),
    )
    text = pdf_text(to_pdf([letter]))
    for name in names:
        assert name in text, name
    assert "VIET NAM" in text or "VIETNAM" in text


def test_the_font_ships_with_its_licence():
    assert (FONTS / "DejaVuSans.ttf").stat().st_size > 100_000
    assert (FONTS / "DejaVuSans-Bold.ttf").stat().st_size > 100_000
    assert "Bitstream" in (FONTS / "LICENSE").read_text(encoding="utf-8")
