"""`sabot bench`: how fast the durable bot is, next to plain python-telegram-bot.

N synthetic people, loaded into the record store beforehand, each complete the full first-time
registration (email code, identity, credit card, texted activation code, username, password, site
phrase and image) through the real Telegram adapter (:func:`bot.telegram_adapter.build_application`)
whose Bot API is the offline :class:`sabot_testing.telegram.FakeBotAPI`: every update is a real
``telegram.Update`` built with ``Update.de_json`` and handed to ``application.process_update``, and
every reply is really serialised to JSON by the fake Bot API and parsed back by PTB.

Updates of different users are interleaved with at most ``window`` of them in flight; each user
sends its next update only after the reply to the previous one (a worker takes the next user
waiting, sends one update, and puts the user back at the end of the line). The latency of an
update runs from building its ``Update`` to ``process_update`` returning, i.e. after its replies
went out, which with sabot is after its answer was committed.

The baseline (:mod:`sabot_bench.baseline`) is fed by the same driver, with the same fake Bot API,
window and number of updates per user. Codes reach the driver through a capturing delivery backend
(the last code per destination, in memory) that replaces ``services.delivery``, so the figures
are the engine's and the database's, not an outbox's.
"""

from __future__ import annotations

import asyncio
import copy
import cProfile
import gc
import json
import math
import os
import platform
import pstats
import re
import secrets
import shutil
import sqlite3
import tempfile
import time
import tracemalloc
from array import array
from collections import defaultdict, deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import phonenumbers
from stdnum.us import ssn as stdnum_ssn
from telegram import Update

from sabot_bench.baseline import BASELINE_DONE, StepShape, build_baseline_application, open_conversations
from bot.runtime import freeze_heap, settle_after_start, thaw_heap
from sabot_testing.telegram import FAKE_TOKEN, FakeBotAPI

#: what sabot's last reply of a completed registration says
DONE_MARKER = "You're registered"
#: the cheapest argon2id the library accepts, for the throughput runs
MINIMAL_ARGON2 = {"argon2_time_cost": 1, "argon2_memory_kib": 8, "argon2_parallelism": 1}
#: where chat ids and synthetic SSNs/phones of stored-beforehand accounts start (far from the users')
PREFILL_CHAT_BASE = 900_000_000
PREFILL_SSN_START = 100 * 99 * 9999  # area 101 onwards; the users' SSNs start at area 001
DEFAULT_POSTGRES_ADMIN_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"


class BenchError(Exception):
    pass


# ---------------------------------------------------------------------------------------------
# Synthetic people and their journey
# ---------------------------------------------------------------------------------------------

FIRST_NAMES = (
    "Avery", "Blake", "Carmen", "Delia", "Elena", "Felix", "Gwen", "Hector", "Iris", "Jonah", "Kira",
    "Lucas", "Mara", "Nolan", "Olive", "Pavel", "Rosa", "Silas", "Tessa", "Victor", "Wanda", "Yusuf",
)
LAST_NAMES = (
    "Abbott", "Baxter", "Cortez", "Dawson", "Ellison", "Fischer", "Garrison", "Holloway", "Ingram",
    "Jensen", "Kowalski", "Lindqvist", "Moreau", "Nakamura", "Oyelaran", "Petrov", "Quintero",
    "Rasmussen", "Sandoval", "Thornton", "Underwood", "Valdez", "Whitaker", "Yamamoto",
)
STREETS = ("Elm Street", "Oak Avenue", "Maple Drive", "Cedar Lane", "Birch Road", "Walnut Street", "Pine Court")
PLACES = (("Springfield", "IL", "62704"), ("Columbus", "OH", "43215"), ("Denver", "CO", "80202"),
          ("Austin", "TX", "78701"), ("Portland", "OR", "97205"), ("Madison", "WI", "53703"))
PASSWORDS = ("copper kettle mountain drum", "violet harbor seven lanterns", "quiet orchard paper moon")
PHRASES = ("blue heron at dawn", "red canoe on the lake", "green lantern in fog")
FILING = ("single", "married_filing_jointly", "head_of_household", "married_filing_separately")

_AREAS = [a for a in range(1, 900) if a != 666]


def _ssn_candidate(i: int) -> str:
    area = _AREAS[i // (99 * 9999)]
    group = (i // 9999) % 99 + 1
    serial = i % 9999 + 1
    return f"{area:03d}{group:02d}{serial:04d}"


def _valid_ssns(start: int):
    i = start
    while True:
        number = _ssn_candidate(i)
        i += 1
        if stdnum_ssn.is_valid(number):
            yield number


def _valid_phones(area_code: str = "202"):
    """Valid U.S. numbers that can take texts ("+1202200xxxx", "+1202201xxxx"...)."""
    i = 0
    while True:
        national = f"{area_code}{200 + i // 10000:03d}{i % 10000:04d}"
        i += 1
        number = phonenumbers.parse("+1" + national, None)
        if phonenumbers.is_valid_number(number) and phonenumbers.number_type(number) in (
            phonenumbers.PhoneNumberType.MOBILE, phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE
        ):
            yield national


@dataclass
class Person:
    index: int
    ssn: str
    first_name: str
    last_name: str
    dob: date
    filing_status: str
    line1: str
    line2: str
    city: str
    state: str
    zip: str
    last8: str
    phone: str  # national, 10 digits
    email: str
    username: str
    password: str
    phrase: str

    @property
    def e164(self) -> str:
        return "+1" + self.phone

    @property
    def address(self) -> dict:
        return {"line1": self.line1, "line2": self.line2, "city": self.city, "state": self.state,
                "postal_code": self.zip, "country": "US"}

    def record(self) -> dict:
        """The person as bot.records.read_records_file returns them (for import_people)."""
        return {
            "ssn": self.ssn,
            "first_name": self.first_name,
            "last_name": self.last_name,
            "date_of_birth": self.dob.isoformat(),
            "filing_status": self.filing_status,
            "address": self.address,
            "credit_freeze": False,
            "accounts": [{"kind": "credit_card", "last8": self.last8, "card_network": "visa", "card_kind": "credit"}],
            "phones": [{"e164": self.e164, "text_enabled": True}],
            "e_services": None,
        }


def make_people(count: int, *, ssn_start: int = 0, phone_area: str = "202", check: bool = True) -> list[Person]:
    """``count`` distinct synthetic people with valid SSNs and valid, distinct U.S. mobile numbers."""
    from domain import validators as v

    ssns = _valid_ssns(ssn_start)
    phones = _valid_phones(phone_area) if check else (f"{phone_area}{200 + i // 10000:03d}{i % 10000:04d}" for i in range(10**7))
    people = []
    for i in range(count):
        first = FIRST_NAMES[i % len(FIRST_NAMES)]
        last = LAST_NAMES[(i // len(FIRST_NAMES)) % len(LAST_NAMES)]
        city, state, zip_ = PLACES[i % len(PLACES)]
        username = f"bench{ssn_start + i:07d}"
        password = PASSWORDS[i % len(PASSWORDS)]
        if check:
            for password in PASSWORDS[i % len(PASSWORDS):] + PASSWORDS:
                try:
                    v.password(password, username=username, personal_words=[first, last])
                    break
                except v.Invalid:
                    continue
            else:  # pragma: no cover - the lists above are chosen so this doesn't happen
                raise BenchError(f"no bench password fits {first} {last}")
        people.append(
            Person(
                index=i,
                ssn=next(ssns),
                first_name=first,
                last_name=last,
                dob=date(1950, 1, 1) + timedelta(days=(i * 37) % 18000),
                filing_status=FILING[i % len(FILING)],
                line1=f"{100 + i % 9800} {STREETS[i % len(STREETS)]}",
                line2=f"Apartment {i % 90 + 1}B",
                city=city,
                state=state,
                zip=zip_,
                last8=f"{(i * 7919 + 12_345_678) % 100_000_000:08d}",
                phone=next(phones),
                email=f"{first}.{last}.{ssn_start + i}@example.com".lower(),
                username=username,
                password=password,
                phrase=PHRASES[i % len(PHRASES)],
            )
        )
    return people


def registration_journey(p: Person) -> list[tuple[str, str]]:
    """Every update of a first-time registration by text (as tests/journeys.py ``register``).

    Kinds: ``command``, ``text``, ``press`` (a button label) and ``code`` (``"channel:destination"``:
    the last code delivered there is typed)."""
    from flows.registration import FILING_STATUS_LABELS, SITE_IMAGES

    images = list(SITE_IMAGES.values())
    return [
        ("command", "start"),
        ("press", "Begin registration"),
        ("text", p.first_name),
        ("text", p.last_name),
        ("text", p.email),
        ("code", f"email:{p.email}"),
        ("text", f"{p.ssn[:3]}-{p.ssn[3:5]}-{p.ssn[5:]}"),
        ("text", p.dob.strftime("%m/%d/%Y")),
        ("press", FILING_STATUS_LABELS[p.filing_status]),
        ("press", "A U.S. address"),
        ("text", p.line1),
        ("text", p.line2),
        ("text", p.city),
        ("text", p.state),
        ("text", p.zip),
        ("press", "Everything matches – check it"),
        ("press", "Credit card"),
        ("press", "Visa"),
        ("press", "Personal credit card"),
        ("text", f"{p.last8[:4]} {p.last8[4:]}"),
        ("text", f"({p.phone[:3]}) {p.phone[3:6]}-{p.phone[6:]}"),
        ("code", f"sms:{p.e164}"),
        ("text", p.username),
        ("text", p.password),
        ("text", p.phrase),
        ("press", images[p.index % len(images)]),
    ]


#: what each update of registration_journey answers, for the per-step table
STEP_NAMES = (
    "/start", "Begin registration", "first name", "last name", "email", "emailed code", "SSN", "date of birth",
    "filing status", "a U.S. address", "address line 1", "address line 2", "city", "state", "ZIP code",
    "review: check it", "credit card", "Visa", "personal credit card", "last 8 digits", "mobile phone",
    "texted code", "username", "password", "site phrase", "site image",
)


def password_step(journey: list[tuple[str, str]], p: Person) -> int:
    return next(i for i, (kind, value) in enumerate(journey) if kind == "text" and value == p.password)


# ---------------------------------------------------------------------------------------------
# The offline Bot API, the capturing delivery backend, the driver
# ---------------------------------------------------------------------------------------------


class BenchBotAPI(FakeBotAPI):
    """:class:`FakeBotAPI` (requests really parsed, responses really serialised) that keeps only
    what a long run needs: a short call log, the last few bot messages per chat, and an inbox per
    chat the driver empties after each update. ``forget(chat)`` drops a finished chat."""

    KEEP_MESSAGES = 4

    def __init__(self) -> None:
        super().__init__()
        self.calls = deque(maxlen=32)  # type: ignore[assignment] - bounded on purpose
        self.inbox: dict[int, list[dict]] = defaultdict(list)
        self.call_count = 0
        self.calls_by_method: dict[str, int] = defaultdict(int)

    async def do_request(self, url, method, request_data=None, *args, **kwargs):
        self.call_count += 1
        self.calls_by_method[url.rsplit("/", 1)[-1]] += 1
        return await super().do_request(url, method, request_data, *args, **kwargs)

    def _new_bot_message(self, params, **content):
        message = super()._new_bot_message(params, **content)
        chat_id = message["chat"]["id"]
        self.inbox[chat_id].append(message)
        kept = self.messages[chat_id]
        while len(kept) > self.KEEP_MESSAGES:
            del kept[next(iter(kept))]
        return message

    def forget(self, chat_id: int) -> None:
        for table in (self.messages, self.user_messages, self.deleted, self.chats, self._next_message_id, self.inbox):
            table.pop(chat_id, None)


CODE = re.compile(r"\b(\d{6})\b")


class CapturingDelivery:
    """A delivery backend keeping only the last code sent to each destination, in memory."""

    def __init__(self) -> None:
        self.codes: dict[tuple[str, str], str] = {}
        self.sent = 0

    async def send(self, session, message) -> None:
        self.sent += 1
        found = CODE.search(message.body)
        if found:
            self.codes[(message.channel, message.to)] = found.group(1)

    def code_for(self, channel: str, to: str) -> str:
        try:
            return self.codes.pop((channel, to))
        except KeyError:
            raise BenchError(f"no {channel} code was delivered to {to}") from None


def take_replies(user, replies: list[dict]) -> list[str]:
    """A step's replies as the user reads them: their texts (kept as ``user.last_texts``), the
    keyboard to press next; the user moves on to their next step."""
    texts = [reply.get("text") or reply.get("caption") or "" for reply in replies]
    for reply in replies:
        if (reply.get("reply_markup") or {}).get("inline_keyboard"):
            user.keyboard = reply
    user.last_texts = texts
    user.pos += 1
    return texts


class BenchUser:
    __slots__ = ("chat_id", "chat", "user", "steps", "pos", "keyboard", "last_texts", "error", "registered", "stop")

    def __init__(self, chat_id: int, steps: list[tuple[str, str]], stop: int | None = None):
        self.chat_id = chat_id
        name = f"u{chat_id}"
        self.chat = {"id": chat_id, "type": "private", "first_name": "Bench", "username": name}
        self.user = {"id": chat_id, "is_bot": False, "first_name": "Bench", "language_code": "en", "username": name}
        self.steps = steps
        self.pos = 0
        #: the journey stops before this step (default: its end)
        self.stop = len(steps) if stop is None else stop
        self.keyboard: dict | None = None
        self.last_texts: list[str] = []
        self.error: str | None = None
        self.registered = False

    @property
    def done(self) -> bool:
        return self.pos >= self.stop


class Driver:
    """Plays users against one application: builds each update as Telegram would send it, awaits
    ``process_update`` and reads the replies the fake Bot API received."""

    def __init__(self, application, api: BenchBotAPI, *, codes: CapturingDelivery | None, done_marker: str):
        self.application = application
        self.api = api
        self.codes = codes
        self.done_marker = done_marker
        self.handler_errors: list[BaseException] = []
        #: when set, every latency is also recorded under the index of the update in its journey
        self.by_step: dict[int, list[float]] | None = None
        application.add_error_handler(self._record_error)

    async def _record_error(self, update, context) -> None:
        if context.error is not None:
            self.handler_errors.append(context.error)

    def _payload(self, user: BenchUser, kind: str, value: str) -> dict:
        api = self.api
        if kind == "press":
            message = user.keyboard
            data = None
            for row in (message or {}).get("reply_markup", {}).get("inline_keyboard", []):
                for button in row:
                    if button.get("text") == value:
                        data = button.get("callback_data")
            if data is None:
                offered = [b.get("text") for row in (message or {}).get("reply_markup", {}).get("inline_keyboard", []) for b in row]
                raise BenchError(f"no button {value!r}; buttons offered: {offered}")
            return {
                "callback_query": {
                    "id": api.next_callback_id(),
                    "from": dict(user.user),
                    "chat_instance": f"ci-{user.chat_id}",
                    "data": data,
                    "message": copy.deepcopy(message),
                }
            }
        if kind == "code":
            channel, to = value.split(":", 1)
            text = self.codes.code_for(channel, to) if self.codes is not None else "123456"
        elif kind == "command":
            text = "/" + value
        else:
            text = value
        message = {
            "message_id": api.new_user_message_id(user.chat_id),
            "date": int(time.time()),
            "chat": dict(user.chat),
            "from": dict(user.user),
            "text": text,
        }
        if kind == "command":
            message["entities"] = [{"type": "bot_command", "offset": 0, "length": len(text)}]
        return {"message": message}

    async def step(self, user: BenchUser) -> tuple[float, float]:
        """Send the user's next update; (start, latency) in seconds."""
        kind, value = user.steps[user.pos]
        payload = self._payload(user, kind, value)
        app = self.application
        start = time.perf_counter()
        update = Update.de_json({"update_id": self.api.next_update_id(), **payload}, app.bot)
        await app.process_update(update)
        latency = time.perf_counter() - start
        if self.by_step is not None:
            self.by_step.setdefault(user.pos, []).append(latency)
        texts = take_replies(user, self.api.inbox.pop(user.chat_id, []))
        if user.pos >= len(user.steps) and any(self.done_marker in t for t in texts):
            user.registered = True
        return start, latency


@dataclass
class Drive:
    seconds: float
    starts: array
    latencies: array
    users: list[BenchUser]
    #: CPU time of this process (every thread: the bot, the driver, the fake Bot API) during the run
    cpu_seconds: float = 0.0

    @property
    def errors(self) -> list[str]:
        return [u.error for u in self.users if u.error]


async def drive(driver: Driver, users: list[BenchUser], window: int, *, forget: bool = True,
                rate: float | None = None) -> Drive:
    """Run every user to its stop with at most ``window`` updates in flight: back to back (closed
    loop), or with ``rate`` one update offered every 1/rate seconds (open loop, see _drive_paced)."""
    cpu_began = time.process_time()
    if rate:
        run = await _drive_paced(driver, users, window, rate, forget=forget)
    else:
        run = await _drive_closed(driver, users, window, forget=forget)
    run.cpu_seconds = time.process_time() - cpu_began
    return run


async def _drive_closed(driver: Driver, users: list[BenchUser], window: int, *, forget: bool) -> Drive:
    queue = deque(u for u in users if not u.done)
    starts, latencies = array("d"), array("d")

    async def worker() -> None:
        while queue:
            user = queue.popleft()
            try:
                start, latency = await driver.step(user)
            except Exception as exc:  # noqa: BLE001 - reported, the other users go on
                _failed(user, exc)
                continue
            starts.append(start)
            latencies.append(latency)
            if not user.done:
                queue.append(user)
            elif forget:
                driver.api.forget(user.chat_id)

    began = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(max(1, min(window, len(queue))))))
    return Drive(time.perf_counter() - began, starts, latencies, users)


def _failed(user: BenchUser, exc: BaseException) -> None:
    kind, value = user.steps[user.pos]
    user.error = (f"chat {user.chat_id}, update {user.pos + 1} ({kind} {value!r}): "
                  f"{type(exc).__name__}: {exc}; last replies: {[t[:80] for t in user.last_texts]}")


async def _drive_paced(driver: Driver, users: list[BenchUser], window: int, rate: float, *, forget: bool) -> Drive:
    """Open loop: an update is due every 1/rate seconds (from the user waiting longest), with at
    most ``window`` in flight. Time an update waited for a free slot (the bot falling behind)
    counts in its latency; the driver's own timer jitter doesn't."""
    ready = deque(u for u in users if not u.done)
    in_flight: set[asyncio.Task] = set()
    slots = asyncio.Semaphore(window)
    starts, latencies = array("d"), array("d")

    async def one(user: BenchUser, waited: float) -> None:
        try:
            start, latency = await driver.step(user)
        except Exception as exc:  # noqa: BLE001 - reported, the other users go on
            _failed(user, exc)
            return
        finally:
            slots.release()
        starts.append(start)
        latencies.append(latency + waited)
        if not user.done:
            ready.append(user)
        elif forget:
            driver.api.forget(user.chat_id)

    began = due = time.perf_counter()
    interval = 1.0 / rate
    while ready or in_flight:
        if not ready:
            await asyncio.wait(set(in_flight), return_when=asyncio.FIRST_COMPLETED)
            continue
        delay = due - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        wait_began = time.perf_counter()
        await slots.acquire()
        task = asyncio.create_task(one(ready.popleft(), time.perf_counter() - wait_began))
        in_flight.add(task)
        task.add_done_callback(in_flight.discard)
        due += interval
    return Drive(time.perf_counter() - began, starts, latencies, users)


def percentile(sorted_values, q: float) -> float:
    if not sorted_values:
        return float("nan")
    return sorted_values[min(len(sorted_values) - 1, max(0, math.ceil(q * len(sorted_values)) - 1))]


# ---------------------------------------------------------------------------------------------
# Memory
# ---------------------------------------------------------------------------------------------


def _proc_status_kib(field_name: str) -> int | None:
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith(field_name + ":"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def reset_peak_rss() -> bool:
    """Reset the kernel's high-water mark of this process's RSS (Linux: clear_refs 5)."""
    try:
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")
        return True
    except OSError:
        return False


def peak_rss_mb() -> float:
    kib = _proc_status_kib("VmHWM")
    if kib is None:  # pragma: no cover - not Linux
        import resource

        kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return kib / 1024


def rss_mb() -> float:
    kib = _proc_status_kib("VmRSS")
    return (kib or 0) / 1024


# ---------------------------------------------------------------------------------------------
# Databases: one fresh database per run
# ---------------------------------------------------------------------------------------------


def _pg_dsn(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


class Database:
    def __init__(self, kind: str, workdir: Path, admin_url: str, tag: str):
        self.kind = kind
        self.workdir = workdir
        self.admin_url = admin_url
        self.tag = tag
        self.url = ""
        self._name = ""

    @property
    def path(self) -> Path:
        return self.workdir / f"{self.tag}.db"

    async def create(self) -> str:
        if self.kind == "sqlite":
            for suffix in ("", "-wal", "-shm"):
                Path(f"{self.path}{suffix}").unlink(missing_ok=True)
            self.url = f"sqlite+aiosqlite:///{self.path}"
            return self.url
        import asyncpg
        from sqlalchemy.engine import make_url

        self._name = f"sabot_bench_{os.getpid()}_{secrets.token_hex(3)}"
        conn = await asyncpg.connect(_pg_dsn(self.admin_url), timeout=5)
        try:
            await conn.execute(f'CREATE DATABASE "{self._name}"')
        finally:
            await conn.close()
        self.url = make_url(self.admin_url).set(database=self._name).render_as_string(hide_password=False)
        return self.url

    async def size(self, services) -> int:
        if self.kind == "sqlite":
            return sum(Path(f"{self.path}{s}").stat().st_size for s in ("", "-wal") if Path(f"{self.path}{s}").exists())
        from sqlalchemy import text

        async with services.engine.connect() as conn:
            return int(await conn.scalar(text("SELECT pg_database_size(current_database())")))

    async def drop(self) -> None:
        if self.kind == "sqlite":
            for suffix in ("", "-wal", "-shm"):
                Path(f"{self.path}{suffix}").unlink(missing_ok=True)
            return
        if not self._name:
            return
        import asyncpg

        conn = await asyncpg.connect(_pg_dsn(self.admin_url), timeout=5)
        try:
            await conn.execute(f'DROP DATABASE IF EXISTS "{self._name}" WITH (FORCE)')
        finally:
            await conn.close()


async def postgres_reachable(admin_url: str) -> str | None:
    """None when the server answers, else why not."""
    import asyncpg

    try:
        conn = await asyncpg.connect(_pg_dsn(admin_url), timeout=5)
    except (OSError, asyncpg.PostgresError, asyncio.TimeoutError) as exc:
        return f"{type(exc).__name__}: {exc}"
    await conn.close()
    return None


def bench_settings(url: str, data_dir: Path, argon2: dict):
    from bot.config import load_settings

    return load_settings(
        data_dir=str(data_dir),
        database={"url": url, "echo": False},
        security={"key_file": str(data_dir / "keys.json"), "data_key": "", "data_key_id": "", "hmac_key": "", **argon2},
        delivery={"backend": "outbox"},
        records={"backend": "local", "demo_on_empty": False},
        # thousands of people checked within seconds is the load measured here, not an attack:
        # the deployment-wide pause of identity checks would stop the runs past 1,000 users
        policy={"identity": {"global_hourly_ceiling": 10**9}},
    )


async def prefill_accounts(services, count: int, *, batch: int = 5000) -> None:
    """Store ``count`` finished registrations directly (SQLAlchemy core, large batches): the
    person in the record store (taxpayer, card, phone), the account, its conversation at rest,
    and the codes and send counters its registration left behind. Same encryption and keyed
    hashes as the bot; one constant dummy password hash."""
    from argon2 import PasswordHasher
    from sqlalchemy import insert

    from bot.records import phone_key, ssn_key
    from bot.storage.models import Account, Attempt, Conversation, OneTimeCode, RecordAccount, RecordPhone, Taxpayer

    vault = services.vault
    now = services.clock.now()
    then = now - timedelta(days=30)
    password_hash = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1).hash("prefilled account")
    people = make_people(count, ssn_start=PREFILL_SSN_START, phone_area="312", check=False)
    for offset in range(0, count, batch):
        rows: dict[Any, list[dict]] = defaultdict(list)
        for p in people[offset: offset + batch]:
            key = ssn_key(vault, p.ssn)
            chat_id = PREFILL_CHAT_BASE + p.index
            record = {"first_name": p.first_name, "last_name": p.last_name, "date_of_birth": p.dob.isoformat(),
                      "filing_status": p.filing_status, "address": p.address, "credit_freeze": False,
                      "e_services_username": None}
            rows[Taxpayer].append({"ssn_hash": key, "record_enc": vault.encrypt(record, context="record"),
                                   "e_services_username_key": None, "e_services_password_hash": None, "imported_at": then})
            rows[RecordAccount].append({"ssn_hash": key, "kind": "credit_card", "card_network": "visa", "card_kind": "credit",
                                        "last8_hash": vault.digest("account", p.last8)})
            phone_hash = phone_key(vault, p.e164)
            rows[RecordPhone].append({"ssn_hash": key, "phone_hash": phone_hash, "text_enabled": True})
            profile = {"first_name": p.first_name, "last_name": p.last_name, "email": p.email,
                       "date_of_birth": p.dob.isoformat(), "filing_status": p.filing_status, "address": p.address}
            rows[Account].append({
                "username": p.username, "username_key": p.username.lower(), "password_hash": password_hash,
                "ssn_hash": key, "profile_enc": vault.encrypt(profile, context="account.profile"),
                "phone_hash": phone_hash, "phone_enc": vault.encrypt(p.e164, context="account.phone"),
                "site_phrase_enc": vault.encrypt(p.phrase, context="account.site_phrase"), "site_image": "owl",
                "status": "active", "must_change_password": False, "chat_id": chat_id,
                "created_at": then, "password_changed_at": then,
            })
            data = {"_update_ids": list(range(chat_id, chat_id + 20)), "_history": []}
            rows[Conversation].append({"chat_id": chat_id, "flow": "home", "state": "registered",
                                       "data_enc": vault.encrypt(data, context="conversation"), "account_id": None,
                                       "version": 26, "created_at": then, "updated_at": then})
            for purpose, channel, to in (("confirmation", "email", p.email), ("activation_text", "sms", p.e164)):
                rows[OneTimeCode].append({"purpose": purpose, "subject": f"chat:{chat_id}",
                                          "code_hash": vault.digest(f"code:{purpose}", f"{p.index % 1_000_000:06d}"),
                                          "channel": channel, "created_at": then, "expires_at": then + timedelta(minutes=10),
                                          "used_at": then, "voided": False, "attempts": 0})
                rows[Attempt].append({"key": f"send:{purpose}:{vault.digest('destination', to.lower())}", "at": then})
        async with services.engine.begin() as conn:
            for model in (Taxpayer, RecordAccount, RecordPhone, Account, Conversation, OneTimeCode, Attempt):
                await conn.execute(insert(model.__table__), rows[model])
    if services.engine.dialect.name == "postgresql":
        from sqlalchemy import text

        # what autovacuum would have done long before 100,000 accounts were there
        async with services.engine.begin() as conn:
            await conn.execute(text("ANALYZE"))


# ---------------------------------------------------------------------------------------------
# The two bots
# ---------------------------------------------------------------------------------------------


@dataclass
class SabotBot:
    application: Any
    api: BenchBotAPI
    delivery: CapturingDelivery
    services: Any
    database: Database
    driver: Driver


async def _no_sleep(_seconds: float) -> None:
    return None


@asynccontextmanager
async def sabot_bot(database: Database, data_dir: Path, *, argon2: dict, people: list[Person], prefill: int = 0):
    """sabot on a fresh database: migrated, people imported, ``prefill`` accounts stored."""
    from bot.engine import Engine
    from bot.records import import_people
    from bot.services import build_services
    from bot.telegram_adapter import RetryPolicy, build_application

    url = await database.create()
    services = None
    engine = None
    application = None
    frozen = False
    try:
        services = await build_services(bench_settings(url, data_dir, argon2), migrate=True)
        delivery = CapturingDelivery()
        services.delivery = delivery
        if people:
            await import_people(services.sessions, services.vault, services.clock, [p.record() for p in people])
        if prefill:
            await prefill_accounts(services, prefill)
        engine = Engine(services)
        api = BenchBotAPI()
        application = build_application(token=FAKE_TOKEN, engine=engine, request=api,
                                        retry_policy=RetryPolicy(sleep=_no_sleep))
        await application.initialize()
        driver = Driver(application, api, codes=delivery, done_marker=DONE_MARKER)
        settle_after_start()  # as `sabot run` does once started (the baseline's start-up is frozen too)
        frozen = True
        yield SabotBot(application, api, delivery, services, database, driver)
    finally:
        if frozen:
            thaw_heap()
        if application is not None:
            await application.shutdown()
        close = getattr(engine, "close", None)
        if close is not None:
            await close()
        if services is not None:
            await services.close()
        await database.drop()


@asynccontextmanager
async def baseline_bot(shapes: list[StepShape]):
    api = BenchBotAPI()
    application = build_baseline_application(token=FAKE_TOKEN, request=api, shapes=shapes)
    await application.initialize()
    freeze_heap()  # the same treatment as sabot's (see sabot_bot)
    try:
        yield application, api, Driver(application, api, codes=None, done_marker=BASELINE_DONE)
    finally:
        thaw_heap()
        await application.shutdown()


# ---------------------------------------------------------------------------------------------
# Runs
# ---------------------------------------------------------------------------------------------


@dataclass
class RunResult:
    system: str  # sabot | baseline
    database: str  # sqlite | postgresql | memory
    window: int
    stored: int
    users: int
    updates: int
    seconds: float
    p50_ms: float
    p99_ms: float
    max_ms: float
    peak_rss_mb: float
    db_bytes: int | None
    registered: int
    errors: list[str] = field(default_factory=list)
    ratio: float | None = None
    #: open loop: the updates/s offered (None: back to back)
    offered: float | None = None
    #: which round of the ratio's runs this was (None: not one of them)
    round: int | None = None
    #: CPU time of the benchmark's process per update (its PostgreSQL server's not included)
    cpu_us_per_update: float = 0.0

    @property
    def updates_per_s(self) -> float:
        return self.updates / self.seconds if self.seconds else 0.0


def _result(system, database, window, stored, result: Drive, peak, db_bytes) -> RunResult:
    ordered = sorted(result.latencies)
    return RunResult(
        system=system, database=database, window=window, stored=stored, users=len(result.users),
        updates=len(ordered), seconds=result.seconds,
        p50_ms=percentile(ordered, 0.50) * 1000, p99_ms=percentile(ordered, 0.99) * 1000,
        max_ms=(ordered[-1] * 1000) if ordered else float("nan"), peak_rss_mb=peak, db_bytes=db_bytes,
        registered=sum(1 for u in result.users if u.registered), errors=result.errors,
        cpu_us_per_update=result.cpu_seconds / len(ordered) * 1e6 if ordered else 0.0,
    )


def _median_run(runs: list[RunResult], key) -> RunResult:
    """The run in the middle by ``key`` (the lower middle for an even count)."""
    ordered = sorted(runs, key=key)
    return ordered[(len(ordered) - 1) // 2]


def _chat_ids(count: int, base: int) -> range:
    return range(base + 1, base + count + 1)


def _users(people: list[Person], base: int) -> list[BenchUser]:
    return [BenchUser(chat, registration_journey(p)) for chat, p in zip(_chat_ids(len(people), base), people)]


async def probe(options: "BenchOptions", data_dir: Path, person: Person) -> tuple[list[StepShape], dict]:
    """One user through sabot alone: checks the journey still works and records, per update, the
    buttons of sabot's reply (for the baseline) and the Bot API calls it made."""
    database = Database("sqlite", options.workdir, options.postgres_admin_url, "probe")
    async with sabot_bot(database, data_dir, argon2=MINIMAL_ARGON2, people=[person]) as bot:
        user = BenchUser(1, registration_journey(person))
        buttons, calls = [], []
        while not user.done:
            before = bot.api.call_count
            try:
                await bot.driver.step(user)
            except Exception as exc:
                kind, value = user.steps[user.pos]
                raise BenchError(
                    f"the registration journey broke at update {user.pos + 1} ({kind} {value!r}): {exc}; "
                    f"the bot's last replies: {[t[:120] for t in user.last_texts]}"
                ) from exc
            calls.append(bot.api.call_count - before)
            last = bot.api.messages.get(1, {})
            markup = (list(last.values())[-1].get("reply_markup") or {}) if last else {}
            buttons.append(sum(len(row) for row in markup.get("inline_keyboard", [])))
        if not user.registered:
            raise BenchError(f"the journey ended without {DONE_MARKER!r}: {[t[:120] for t in user.last_texts]}")
        if bot.driver.handler_errors:
            raise BenchError(f"the bot raised {bot.driver.handler_errors[0]!r} during the journey")
        methods = dict(bot.api.calls_by_method)
    kinds = ["text" if kind == "code" else kind for kind, _ in user.steps]
    # the labels any user presses next (filing status and site image differ between people)
    variants = [registration_journey(p) for p in make_people(64, check=False)]
    shapes = []
    for i, kind in enumerate(kinds):
        labels = tuple(sorted({j[i + 1][1] for j in variants if i + 1 < len(j) and j[i + 1][0] == "press"}))
        shapes.append(StepShape(kind, max(buttons[i], len(labels)), labels))
    updates = len(user.steps)
    methods.pop("getMe", None)
    return shapes, {"calls_per_update": sum(calls) / updates,
                    "methods_per_update": {k: v / updates for k, v in sorted(methods.items())}}


async def run_baseline(options: "BenchOptions", shapes: list[StepShape], people: list[Person], window: int,
                       rate: float | None = None) -> RunResult:
    async with baseline_bot(shapes) as (application, api, driver):
        warm = _users(people[options.users:], 8_000_000)
        await drive(driver, warm, min(8, window))
        users = _users(people[: options.users], 0)
        gc.collect()
        reset_peak_rss()
        result = await drive(driver, users, window, rate=rate)
        peak = peak_rss_mb()
    run = _result("baseline", "memory", window, 0, result, peak, None)
    run.offered = rate
    if driver.handler_errors:
        run.errors.append(f"handler error: {driver.handler_errors[0]!r}")
    return run


async def run_sabot(options: "BenchOptions", kind: str, data_dir: Path, people: list[Person], window: int,
                    prefill: int, *, profile_to: Path | None = None, rate: float | None = None) -> RunResult:
    database = Database(kind, options.workdir, options.postgres_admin_url, f"{kind}-w{window}-p{prefill}")
    async with sabot_bot(database, data_dir, argon2=MINIMAL_ARGON2, people=people, prefill=prefill) as bot:
        warm = _users(people[options.users:], 8_000_000)
        await drive(bot.driver, warm, min(8, window))
        users = _users(people[: options.users], 0)
        gc.collect()
        reset_peak_rss()
        profiler = cProfile.Profile() if profile_to else None
        if profiler:
            profiler.enable()
        result = await drive(bot.driver, users, window, rate=rate)
        if profiler:
            profiler.disable()
            profiler.dump_stats(str(profile_to))
        peak = peak_rss_mb()
        size = await database.size(bot.services)
        errors = [f"handler error: {e!r}" for e in bot.driver.handler_errors[:3]]
    run = _result("sabot", kind, window, prefill, result, peak, size)
    run.errors.extend(errors)
    run.offered = rate
    return run


async def run_per_step(options: "BenchOptions", kind: str, data_dir: Path, people: list[Person]) -> list[float]:
    """The median latency of each update of the journey with one update in flight at a time, so
    each step's own cost (its commit included) shows, with nothing to group it with."""
    database = Database(kind, options.workdir, options.postgres_admin_url, f"{kind}-steps")
    users = people[: min(options.per_step, options.users)]
    async with sabot_bot(database, data_dir, argon2=MINIMAL_ARGON2, people=users + people[options.users:]) as bot:
        await drive(bot.driver, _users(people[options.users:], 8_000_000), 1)
        bot.driver.by_step = {}
        await drive(bot.driver, _users(users, 0), 1)
        by_step = bot.driver.by_step
    return [percentile(sorted(by_step.get(i, [])), 0.5) * 1000 for i in range(len(STEP_NAMES))]


@dataclass
class IdleResult:
    database: str
    first: int
    total: int
    rss_first_mb: float
    rss_total_mb: float
    rows: int
    baseline_rss_first_mb: float | None = None
    baseline_rss_total_mb: float | None = None
    baseline_in_memory: int | None = None
    #: bytes allocated by Python (tracemalloc) after the first conversations and after all:
    #: RSS can't show growth once the process's allocator has freed memory to reuse
    heap_first: int = 0
    heap_total: int = 0
    #: conversation states the engine kept in memory at the end (bounded by database.state_cache)
    states_remembered: int = 0
    baseline_heap_first: int = 0
    baseline_heap_total: int = 0

    def _per_conversation(self, first: float, total: float) -> float:
        return (total - first) / max(1, self.total - self.first)

    @property
    def heap_bytes_per_conversation(self) -> float:
        return self._per_conversation(self.heap_first, self.heap_total)

    @property
    def baseline_heap_bytes_per_conversation(self) -> float:
        return self._per_conversation(self.baseline_heap_first, self.baseline_heap_total)

    @property
    def kib_per_conversation(self) -> float:
        return (self.rss_total_mb - self.rss_first_mb) * 1024 / max(1, self.total - self.first)

    @property
    def baseline_kib_per_conversation(self) -> float | None:
        if self.baseline_rss_first_mb is None:
            return None
        return (self.baseline_rss_total_mb - self.baseline_rss_first_mb) * 1024 / max(1, self.total - self.first)


IDLE_STEPS = [("command", "start"), ("press", "Begin registration"), ("text", "Avery")]


def _settle() -> float:
    for _ in range(3):
        gc.collect()
    return rss_mb()


def _heap() -> int:
    """Bytes Python holds (traced since tracemalloc started), after collecting garbage."""
    gc.collect()
    return tracemalloc.get_traced_memory()[0]


async def _fill_idle(driver: "Driver", first: int, total: int, window: int) -> tuple[float, int, float, int]:
    """Open ``first`` conversations, then the rest up to ``total``, leaving each idle; RSS and
    Python heap after each part: (rss_first, heap_first, rss_total, heap_total)."""
    tracemalloc.start()
    try:
        await drive(driver, [BenchUser(c, IDLE_STEPS) for c in _chat_ids(first, 0)], window)
        rss_first, heap_first = _settle(), _heap()
        await drive(driver, [BenchUser(c, IDLE_STEPS) for c in _chat_ids(total - first, first)], window)
        return rss_first, heap_first, _settle(), _heap()
    finally:
        tracemalloc.stop()


async def run_idle(options: "BenchOptions", kind: str, data_dir: Path, shapes: list[StepShape]) -> IdleResult:
    """Open conversations (/start, Begin registration, a first name) that then sit idle: the
    Python heap (and RSS) after the first ``first`` and after all of them. Then the same with the
    baseline for contrast."""
    from sqlalchemy import func, select

    from bot.storage.models import Conversation

    total = options.idle
    # measured from past the 2,048 conversations whose states a worker remembers (bounded, see
    # database.state_cache) to all of them
    first = min(3000, max(1, total // 2))
    n_warm = min(100, max(2, total // 4))
    database = Database(kind, options.workdir, options.postgres_admin_url, f"{kind}-idle")
    async with sabot_bot(database, data_dir, argon2=MINIMAL_ARGON2, people=[]) as bot:
        warm = [BenchUser(chat, IDLE_STEPS) for chat in _chat_ids(n_warm, 7_000_000)]
        await drive(bot.driver, warm, 32)
        rss_first, heap_first, rss_total, heap_total = await _fill_idle(bot.driver, first, total, options.window)
        remembered = bot.application.bot_data["adapter"].engine.remembered_states
        async with bot.services.sessions() as session:
            rows = await session.scalar(select(func.count()).select_from(Conversation))
    idle = IdleResult(kind, first, total, rss_first, rss_total, int(rows or 0), heap_first=heap_first, heap_total=heap_total,
                      states_remembered=remembered)
    base_shapes = shapes[: len(IDLE_STEPS)] + [StepShape("text", 0)]
    async with baseline_bot(base_shapes) as (application, api, driver):
        await drive(driver, [BenchUser(c, IDLE_STEPS) for c in _chat_ids(n_warm, 7_000_000)], 32)
        (idle.baseline_rss_first_mb, idle.baseline_heap_first,
         idle.baseline_rss_total_mb, idle.baseline_heap_total) = await _fill_idle(driver, first, total, options.window)
        idle.baseline_in_memory = open_conversations(application)
    return idle


@dataclass
class HashingResult:
    time_cost: int
    memory_kib: int
    parallelism: int
    threads: int
    one_hash_ms: float
    hashes_per_s: float
    database: str = ""
    window: int = 0
    password_users: int = 0
    others_updates_without: int = 0
    others_updates_during: int = 0
    p99_without_ms: float = float("nan")
    p99_with_ms: float = float("nan")
    passwords_seconds: float = float("nan")
    errors: list[str] = field(default_factory=list)

    @property
    def p99_factor(self) -> float:
        return self.p99_with_ms / self.p99_without_ms if self.p99_without_ms else float("nan")


def measure_hash_rate(security, threads: int, count: int) -> tuple[float, float]:
    """(one hash in ms, hashes per second with ``threads`` threads) at ``security``'s argon2 cost."""
    from argon2 import PasswordHasher

    hasher = PasswordHasher(time_cost=security.argon2_time_cost, memory_cost=security.argon2_memory_kib,
                            parallelism=security.argon2_parallelism)
    hasher.hash("warm up")
    began = time.perf_counter()
    for i in range(2):
        hasher.hash(f"one at a time {i}")
    one = (time.perf_counter() - began) / 2
    with ThreadPoolExecutor(max_workers=threads) as pool:
        began = time.perf_counter()
        list(pool.map(lambda i: hasher.hash(f"correct horse {i}"), range(count)))
        rate = count / (time.perf_counter() - began)
    return one * 1000, rate


async def run_hashing(options: "BenchOptions", kind: str, data_dir: Path, security) -> HashingResult:
    threads = os.cpu_count() or 1
    count = max(2 * threads, min(16, options.password_users or 0))
    one_ms, rate = await asyncio.to_thread(measure_hash_rate, security, threads, count)
    out = HashingResult(security.argon2_time_cost, security.argon2_memory_kib, security.argon2_parallelism,
                        threads, one_ms, rate)
    if not options.password_users:
        return out
    real = {"argon2_time_cost": security.argon2_time_cost, "argon2_memory_kib": security.argon2_memory_kib,
            "argon2_parallelism": security.argon2_parallelism}
    n_pw, n_others = options.password_users, options.hash_others
    window = options.latency_window
    n_warm = min(16, n_others)
    people = make_people(n_pw + 2 * n_others + n_warm)
    database = Database(kind, options.workdir, options.postgres_admin_url, f"{kind}-hashing")
    async with sabot_bot(database, data_dir, argon2=real, people=people) as bot:
        driver = bot.driver
        journeys = [registration_journey(p) for p in people]
        stop = password_step(journeys[0], people[0])  # others stop before the password
        warm = [BenchUser(c, j, stop) for c, j in zip(_chat_ids(n_warm, 7_000_000), journeys[-n_warm:])]
        await drive(driver, warm, 8)
        # the password users wait at the password step
        parked = [BenchUser(c, j, stop) for c, j in zip(_chat_ids(n_pw, 1_000_000), journeys[:n_pw])]
        await drive(driver, parked, window, forget=False)
        for u in parked:
            u.stop = stop + 1
        # others without passwords being hashed
        group_a = [BenchUser(c, j, stop) for c, j in zip(_chat_ids(n_others, 2_000_000), journeys[n_pw: n_pw + n_others])]
        gc.collect()
        without = await drive(driver, group_a, window)
        # the same while n_pw users send their passwords at the same moment
        group_b = [BenchUser(c, j, stop) for c, j in zip(_chat_ids(n_others, 3_000_000), journeys[n_pw + n_others: n_pw + 2 * n_others])]
        gc.collect()
        fired = time.perf_counter()

        async def set_passwords() -> float:
            results = await asyncio.gather(*(driver.step(u) for u in parked), return_exceptions=True)
            failed = [r for r in results if isinstance(r, BaseException)]
            if failed:
                out.errors.append(f"{len(failed)} password step(s) failed: {failed[0]!r}")
            return time.perf_counter()

        passwords = asyncio.create_task(set_passwords())
        with_pw = await drive(driver, group_b, window)
        finished = await passwords
        out.errors.extend((without.errors + with_pw.errors)[:3])
        set_ok = sum(1 for u in parked if u.last_texts and any("Password set" in t for t in u.last_texts))
        if set_ok < n_pw:
            out.errors.append(f"only {set_ok} of {n_pw} passwords were confirmed")
    during = sorted(lat for start, lat in zip(with_pw.starts, with_pw.latencies) if fired <= start <= finished)
    out.database, out.window, out.password_users = kind, window, n_pw
    out.others_updates_without, out.others_updates_during = len(without.latencies), len(during)
    out.p99_without_ms = percentile(sorted(without.latencies), 0.99) * 1000
    out.p99_with_ms = percentile(during, 0.99) * 1000
    out.passwords_seconds = finished - fired
    return out


# ---------------------------------------------------------------------------------------------
# The whole benchmark
# ---------------------------------------------------------------------------------------------


@dataclass
class BenchOptions:
    users: int = 1000
    window: int = 256
    latency_window: int = 32
    databases: tuple[str, ...] = ("sqlite", "postgresql")
    prefill: int = 0
    idle: int = 10_000
    password_users: int = 50
    hash_others: int = 200
    warmup: int = 16
    #: also run open loop at this many updates/s offered, with the latency window (0: don't)
    rate: float = 0
    #: users for the per-step table (one update at a time; 0: don't)
    per_step: int = 100
    #: rounds of (baseline, sabot) runs at the main window; the ratio is the median round's
    rounds: int = 3
    #: also run this many webhook worker processes on one PostgreSQL database, and 1, 2, 4...
    #: below it (0: don't; see sabot_bench.workers)
    workers: int = 0
    #: updates in flight at most in the workers' runs
    workers_window: int = 64
    postgres_admin_url: str = DEFAULT_POSTGRES_ADMIN_URL
    workdir: Path = Path(".sabot/bench")
    profile: Path | None = None
    json_out: Path | None = None


#: the smaller number of stored accounts the --prefill run is compared with
PREFILL_FROM = 1000


def _prefills(prefill: int) -> list[int]:
    """The stored-account runs for ``--prefill N``: 1,000 then N (N alone when it is not more)."""
    if not prefill:
        return []
    return [PREFILL_FROM, prefill] if prefill > PREFILL_FROM else [prefill]


def _duplicate_every() -> int:
    from sabot_bench.workers import DUPLICATE_EVERY

    return DUPLICATE_EVERY


def machine() -> dict:
    cpu = ""
    try:
        with open("/proc/cpuinfo") as fh:
            cpu = next((line.split(":", 1)[1].strip() for line in fh if line.startswith("model name")), "")
    except OSError:
        pass
    mem = _meminfo_total_gib()
    import sqlalchemy
    import telegram

    return {"cpus": os.cpu_count(), "cpu": cpu or platform.processor(), "ram_gib": mem,
            "python": platform.python_version(), "sqlite": sqlite3.sqlite_version,
            "ptb": telegram.__version__, "sqlalchemy": sqlalchemy.__version__, "os": platform.platform(),
            "load_start": _load()}


def _meminfo_total_gib() -> float | None:
    try:
        with open("/proc/meminfo") as fh:
            for line in fh:
                if line.startswith("MemTotal:"):
                    return int(line.split()[1]) / 1024 / 1024
    except OSError:
        return None
    return None


async def _postgres_version(admin_url: str) -> str | None:
    import asyncpg

    try:
        conn = await asyncpg.connect(_pg_dsn(admin_url), timeout=5)
    except (OSError, asyncpg.PostgresError, asyncio.TimeoutError):
        return None
    try:
        return await conn.fetchval("SHOW server_version")
    finally:
        await conn.close()


def _fs_type(path: Path) -> str:
    best, kind = "", ""
    try:
        with open("/proc/mounts") as fh:
            for line in fh:
                parts = line.split()
                if len(parts) >= 3 and str(path.resolve()).startswith(parts[1]) and len(parts[1]) > len(best):
                    best, kind = parts[1], parts[2]
    except OSError:
        pass
    return kind


def _load() -> str:
    try:
        return " ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:  # pragma: no cover
        return "unknown"


def _mb(n: int | None) -> str:
    return "-" if n is None else f"{n / 1e6:.1f}"


HEADER = (f"{'run':<34} {'window':>6} {'stored':>8} {'updates':>8} {'updates/s':>10} {'p50 ms':>7} {'p99 ms':>7} "
          f"{'max ms':>7} {'peak RSS MB':>11} {'DB MB':>7} {'registered':>11} {'ratio':>6} {'CPU µs/update':>13}")


def format_run(run: RunResult) -> str:
    name = "baseline: PTB ConversationHandler" if run.system == "baseline" else f"sabot on {run.database}"
    if run.offered:
        name = ("baseline: PTB" if run.system == "baseline" else name) + f", paced {run.offered:,.0f}/s"
    if run.round is not None:
        name = ("baseline: PTB" if run.system == "baseline" else name) + f", round {run.round}"
    stored = "-" if run.system == "baseline" else f"{run.stored:,}"
    ratio = "-" if run.ratio is None else f"{run.ratio:.2f}"
    return (f"{name:<34} {run.window:>6} {stored:>8} {run.updates:>8} {run.updates_per_s:>10,.0f} {run.p50_ms:>7.2f} "
            f"{run.p99_ms:>7.2f} {run.max_ms:>7.1f} {run.peak_rss_mb:>11.1f} {_mb(run.db_bytes):>7} "
            f"{f'{run.registered}/{run.users}':>11} {ratio:>6} {run.cpu_us_per_update:>13,.0f}")


#: (file suffix, function): what the profile counts per update
_COUNTED = (
    (("sqlalchemy/engine/base.py", "_execute_context"), "SQL statements (SQLAlchemy)"),
    (("sqlalchemy/orm/session.py", "_flush"), "ORM flushes"),
    (("telegram/_telegramobject.py", "__init__"), "PTB objects built"),
    (("copy.py", "deepcopy"), "copy.deepcopy calls, recursion included (fake Bot API, driver)"),
)


def profile_summary(path: Path, top: int = 15, updates: int = 0) -> list[str]:
    """The top costs of a profiled run: by function (own time) and by package."""
    stats = pstats.Stats(str(path))
    total = sum(v[2] for v in stats.stats.values()) or 1.0
    by_package: dict[str, float] = defaultdict(float)
    rows = []
    for (filename, line, name), (_cc, calls, tottime, cumtime, _callers) in stats.stats.items():
        by_package[_package_of(filename, name)] += tottime
        rows.append((tottime, cumtime, calls, _where(filename, line, name)))
    rows.sort(reverse=True)
    out = [f"profile of one sabot run (cProfile, main thread only; {total:.1f} s of own time):",
           "  by package (own time):"]
    for package, seconds in sorted(by_package.items(), key=lambda kv: -kv[1])[:top]:
        out.append(f"    {100 * seconds / total:5.1f}%  {package}")
    out.append("  by function (own time, cumulative, calls):")
    for tottime, cumtime, calls, where in rows[:top]:
        out.append(f"    {100 * tottime / total:5.1f}%  {cumtime:7.2f} s cum  {calls:>9,}  {where}")
    counts: dict[str, int] = defaultdict(int)
    for (filename, _line, name), value in stats.stats.items():
        for marker, label in _COUNTED:
            if filename.endswith(marker[0]) and name == marker[1]:
                counts[label] += value[1]
    if updates:
        out.append(f"  per update ({updates:,} updates): " + ", ".join(
            f"{counts[label] / updates:.2f} {label}" for _m, label in _COUNTED))
    return out


def _where(filename: str, line: int, name: str) -> str:
    if filename == "~":
        return name
    for marker in ("site-packages/", "/lib/python3"):
        if marker in filename:
            filename = filename.split(marker, 1)[1]
            break
    else:
        for marker in ("/bot/", "/flows/"):
            if marker in filename:
                filename = marker.strip("/") + "/" + filename.split(marker, 1)[1]
    return f"{name} ({filename}:{line})"


def _package_of(filename: str, name: str) -> str:
    if filename == "~":
        if "epoll" in name or "select" in name:
            return "event loop waiting (epoll: DB thread, fsync)"
        if "json" in name or "encoder" in name:
            return "json"
        return "built-ins"
    if "site-packages/" in filename:
        return filename.split("site-packages/", 1)[1].split("/", 1)[0]
    for marker in ("/bot/", "/flows/"):
        if marker in filename:
            return marker.strip("/") + "/" + filename.split(marker, 1)[1]
    if "/lib/python3" in filename:
        rest = filename.split("/lib/python3", 1)[1].split("/", 1)[1]
        return "stdlib " + rest.split("/", 1)[0].removesuffix(".py")
    return filename


async def run_bench(options: BenchOptions, echo: Callable[[str], None] = print) -> dict:
    """Run everything the options ask for, printing the report as it goes; returns the figures."""
    from bot.config import load_settings

    options.workdir.mkdir(parents=True, exist_ok=True)
    data_dir = Path(tempfile.mkdtemp(prefix="bench-", dir=options.workdir))
    try:
        return await _run_bench(options, echo, data_dir, load_settings().security)
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)


async def _run_bench(options: BenchOptions, echo, data_dir: Path, security) -> dict:
    info = machine()
    databases = list(options.databases)
    skipped = {}
    if "postgresql" in databases:
        why = await postgres_reachable(options.postgres_admin_url)
        if why:
            skipped["postgresql"] = why
            databases.remove("postgresql")
        else:
            info["postgresql"] = await _postgres_version(options.postgres_admin_url)
    options.warmup = min(options.warmup, max(2, options.users // 4))
    people = make_people(options.users + options.warmup)
    if len(registration_journey(people[0])) != len(STEP_NAMES):  # pragma: no cover - keep them in step
        raise BenchError("sabot_bench.STEP_NAMES no longer matches registration_journey")
    shapes, calls = await probe(options, data_dir, people[0])
    updates_per_user = len(shapes)

    echo(f"sabot bench: {options.users:,} users × {updates_per_user} updates (the full first-time registration, "
         f"phone path) = {options.users * updates_per_user:,} updates per run")
    echo("  through the real Telegram adapter with an offline Bot API (FakeBotAPI: requests parsed, replies "
         "serialised to JSON); each user sends its next update only after the reply to the previous one")
    echo(f"machine: {info['cpus']} CPUs ({info['cpu']}), {info['ram_gib']:.1f} GiB RAM; Python {info['python']}; "
         f"SQLite {info['sqlite']}; PostgreSQL {info.get('postgresql') or 'not used'}; python-telegram-bot {info['ptb']}; "
         f"load average {_load()} at the start")
    fs = _fs_type(options.workdir)
    echo(f"durability: SQLite WAL + synchronous=FULL (files on {fs or 'unknown fs'} in {options.workdir}); "
         "PostgreSQL synchronous_commit=on; every answer is committed before its reply")
    if fs in ("tmpfs", "ramfs"):
        echo("  warning: the work directory is in memory, so SQLite's fsync costs nothing here; use --workdir on a disk")
    echo(f"password hashing at minimal cost in the throughput runs (argon2id t=1, m=8 KiB, p=1); "
         "real cost measured below")
    methods = ", ".join(f"{k} {v:.2f}" for k, v in calls["methods_per_update"].items())
    echo(f"Bot API calls per update: sabot {calls['calls_per_update']:.2f} ({methods}); "
         f"baseline 1 sendMessage (+ answerCallbackQuery on a button)")
    for kind, why in skipped.items():
        echo(f"{kind}: skipped, the server is not reachable at {options.postgres_admin_url} ({why})")
    echo("")
    echo(HEADER)

    baselines: dict[int, RunResult] = {}
    runs: list[RunResult] = []
    # The ratio's runs in rounds: a baseline run, then sabot on each database right after it, so
    # each ratio compares runs made seconds apart (this machine's speed drifts by ±15% from one
    # second to the next). The ratio reported is the median round's.
    rounds: dict[str, list[RunResult]] = {kind: [] for kind in databases}
    round_baselines = []
    for number in range(1, max(1, options.rounds) + 1):
        base = await run_baseline(options, shapes, people, options.window)
        base.round = number
        round_baselines.append(base)
        runs.append(base)
        echo(format_run(base))
        for kind in databases:
            run = await run_sabot(options, kind, data_dir, people, options.window, 0)
            run.round = number
            run.ratio = run.updates_per_s / base.updates_per_s if base.updates_per_s else None
            rounds[kind].append(run)
            runs.append(run)
            echo(format_run(run))
            for error in run.errors[:3]:
                echo(f"  ! {error}")
    baselines[options.window] = _median_run(round_baselines, key=lambda r: r.updates_per_s)
    if options.latency_window != options.window:
        base = await run_baseline(options, shapes, people, options.latency_window)
        baselines[options.latency_window] = base
        runs.append(base)
        echo(format_run(base))
    if options.rate:
        base = await run_baseline(options, shapes, people, options.latency_window, rate=options.rate)
        runs.append(base)
        echo(format_run(base))
    for kind in databases:
        others = ([(options.latency_window, 0)] if options.latency_window != options.window else []) + (
            [(options.window, stored) for stored in _prefills(options.prefill)])
        for window, prefill in others:
            run = await run_sabot(options, kind, data_dir, people, window, prefill)
            run.ratio = run.updates_per_s / baselines[window].updates_per_s if baselines[window].updates_per_s else None
            runs.append(run)
            echo(format_run(run))
            for error in run.errors[:3]:
                echo(f"  ! {error}")
        if options.rate:
            run = await run_sabot(options, kind, data_dir, people, options.latency_window, 0, rate=options.rate)
            runs.append(run)
            echo(format_run(run))
            for error in run.errors[:3]:
                echo(f"  ! {error}")
    echo("")
    summary = {}
    for kind in databases:
        closed = [r for r in runs if r.system == "sabot" and r.database == kind and not r.offered]
        main = _median_run(rounds[kind], key=lambda r: r.ratio or 0.0)
        base = next(b for b in round_baselines if b.round == main.round)
        each = ", ".join(f"{r.ratio:.2f}" for r in rounds[kind])
        echo(f"ratio: {main.ratio:.2f}  (sabot on {kind} ÷ plain PTB, window {options.window}, "
             f"{main.updates_per_s:,.0f} vs {base.updates_per_s:,.0f} updates/s; target ≥ 0.80"
             + (f"; median of {len(rounds[kind])} rounds: {each})" if len(rounds[kind]) > 1 else ")"))
        echo(f"CPU per update in that round: sabot on {kind} {main.cpu_us_per_update:,.0f} µs, plain PTB "
             f"{base.cpu_us_per_update:,.0f} µs; 0.80 leaves sabot {base.cpu_us_per_update / 0.8:,.0f} µs "
             "(the whole process: bot, driver and fake Bot API)")
        latency = next(r for r in closed if r.window == options.latency_window and r.stored == 0)
        echo(f"p99 with window {options.latency_window} and {options.users:,} open conversations on {kind}: "
             f"{latency.p99_ms:.2f} ms (target ≤ 10 ms; back to back, so the mean is at least "
             f"{options.latency_window} ÷ updates/s = {1000 * options.latency_window / latency.updates_per_s:.1f} ms)")
        summary[kind] = {"ratio": main.ratio, "ratio_rounds": [r.ratio for r in rounds[kind]],
                         "p99_latency_window_ms": latency.p99_ms}
        paced = next((r for r in runs if r.system == "sabot" and r.database == kind and r.offered), None)
        if paced:
            echo(f"p99 paced at {paced.offered:,.0f} updates/s offered ({paced.updates_per_s:,.0f} done), at most "
                 f"{options.latency_window} in flight, {options.users:,} open conversations on {kind}: "
                 f"{paced.p99_ms:.2f} ms (target ≤ 10 ms)")
            summary[kind]["p99_paced_ms"] = paced.p99_ms
        if options.prefill:
            full = next(r for r in closed if r.stored == options.prefill)
            small = _prefills(options.prefill)[0]
            # against 1,000 stored accounts (the target's starting point), or an empty database
            start = next(r for r in closed if r.stored == small) if small != options.prefill else main
            echo(f"flat: on {kind} with {options.prefill:,} accounts already stored, {full.updates_per_s / start.updates_per_s:.2f}× "
                 f"the updates/s and {full.p50_ms / start.p50_ms:.2f}× the p50 of {start.stored:,} stored "
                 f"({full.updates_per_s:,.0f} vs {start.updates_per_s:,.0f} updates/s, p50 {full.p50_ms:.1f} vs "
                 f"{start.p50_ms:.1f} ms; target: within 15%)")
            summary[kind]["prefill_throughput_factor"] = full.updates_per_s / start.updates_per_s
            summary[kind]["prefill_p50_factor"] = full.p50_ms / start.p50_ms
    per_step: dict[str, list[float]] = {}
    if options.per_step and databases:
        for kind in databases:
            per_step[kind] = await run_per_step(options, kind, data_dir, people)
        echo("")
        echo(f"each update alone (one in flight, {min(options.per_step, options.users):,} users; median ms, its commit included):")
        echo(f"{'#':>3}  {'update':<22}" + "".join(f"{kind:>12}" for kind in per_step))
        for i, name in enumerate(STEP_NAMES):
            echo(f"{i + 1:>3}  {name:<22}" + "".join(f"{values[i]:>12.2f}" for values in per_step.values()))
    incomplete = [r for r in runs if r.registered < r.users]
    for r in incomplete:
        echo(f"! {r.system} on {r.database} (window {r.window}): only {r.registered} of {r.users} users finished")

    idle = None
    first_db = databases[0] if databases else None
    if options.idle and first_db:
        echo("")
        idle = await run_idle(options, first_db, data_dir, shapes)
        echo(f"memory, idle conversations on {first_db}: Python heap {idle.heap_bytes_per_conversation:+,.0f} bytes per idle "
             f"conversation from {idle.first:,} to {idle.total:,} open and idle (tracemalloc, after collecting garbage; "
             f"{idle.rows:,} conversation rows in the database, {idle.states_remembered:,} states remembered in memory; "
             f"target: flat)")
        echo(f"  baseline (conversation state in memory): Python heap {idle.baseline_heap_bytes_per_conversation:+,.0f} bytes "
             f"per idle conversation ({idle.baseline_in_memory:,} conversations held in memory)")
        echo(f"  (RSS, which tracing inflates: {idle.rss_first_mb:.1f} MB, then {idle.rss_total_mb:.1f} MB; baseline "
             f"{idle.baseline_rss_first_mb:.1f} MB, then {idle.baseline_rss_total_mb:.1f} MB)")

    hashing = None
    hashings: dict[str, HashingResult] = {}
    if options.password_users >= 0 and first_db:
        echo("")
        # the hash rate once; the other chats' p99 while passwords hash, on each database
        for kind in (databases if options.password_users else [first_db]):
            hashing = await run_hashing(options, kind, data_dir, security)
            hashings[kind] = hashing
            if len(hashings) == 1:
                echo(f"password hashing (argon2id t={hashing.time_cost}, m={hashing.memory_kib} KiB, p={hashing.parallelism}, as configured): "
                     f"one hash {hashing.one_hash_ms:.0f} ms; {hashing.hashes_per_s:.1f} hashes/s with {hashing.threads} threads "
                     f"on {info['cpus']} CPUs")
            if options.password_users:
                echo(f"other chats while {hashing.password_users} users set passwords at once ({kind}, window {hashing.window}): "
                     f"p99 {hashing.p99_without_ms:.2f} ms without, {hashing.p99_with_ms:.2f} ms with "
                     f"({hashing.p99_factor:.2f}×; target ≤ 2×); the {hashing.password_users} passwords took "
                     f"{hashing.passwords_seconds:.2f} s; {hashing.others_updates_during:,} other updates during them")
                for error in hashing.errors[:3]:
                    echo(f"  ! {error}")
        hashing = hashings.get(first_db)

    workers: list = []
    if options.workers:
        echo("")
        if "postgresql" not in databases:
            echo("workers: skipped (they share a PostgreSQL database; PostgreSQL is not in this run)")
        else:
            from sabot_bench.workers import WORKERS_HEADER, format_workers, run_workers

            counts = sorted({n for n in (1, 2, 4, 8, 16) if n <= options.workers} | {options.workers})
            echo(f"webhook workers on one PostgreSQL database ({options.users:,} users through HTTP, window "
                 f"{options.workers_window}; one update in {_duplicate_every()} sent twice at once, as a redelivery; "
                 f"\"twice\": users whose conversation was not written exactly once per update):")
            echo(WORKERS_HEADER)
            for count in counts:
                result = await run_workers(options, data_dir, people, count, options.workers_window)
                workers.append(result)
                echo(format_workers(result))
                for error in result.errors[:3]:
                    echo(f"  ! {error}")

    if options.profile and first_db:
        echo("")
        await run_sabot(options, first_db, data_dir, people, options.window, 0, profile_to=options.profile)
        for line in profile_summary(options.profile, updates=options.users * updates_per_user):
            echo(line)
        echo(f"  (full profile in {options.profile}: python -m pstats {options.profile})")

    echo("")
    echo(f"load average at the end: {_load()} (other processes on this machine make the figures noisier)")
    info["load_end"] = _load()
    figures = {
        "machine": info,
        "options": {k: (str(v) if isinstance(v, Path) else v) for k, v in asdict(options).items()},
        "updates_per_user": updates_per_user,
        "bot_api_calls": calls,
        "skipped": skipped,
        "runs": [{**asdict(r), "updates_per_s": r.updates_per_s} for r in runs],
        "summary": summary,
        "per_step_median_ms": {kind: dict(zip(STEP_NAMES, values)) for kind, values in per_step.items()},
        "idle": asdict(idle) if idle else None,
        "hashing": asdict(hashing) if hashing else None,
        "hashing_by_database": {kind: asdict(h) for kind, h in hashings.items()},
        "workers": [{**asdict(w), "updates_per_s": w.updates_per_s, "cpu_total": w.cpu_total} for w in workers],
        "finished_at": datetime.now(timezone.utc).isoformat(),
    }
    if options.json_out:
        options.json_out.write_text(json.dumps(figures, indent=2, default=str))
    return figures
