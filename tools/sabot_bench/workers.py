"""`sabot bench --workers N`: several webhook worker processes on one PostgreSQL database.

Each worker is a process of its own, as `sabot run --workers N` starts them: the real Telegram
adapter and engine behind the real webhook handler (bot.webhook), all listening on one port
(SO_REUSEPORT: the kernel spreads the connections). Its Bot API is the offline one
(:class:`sabot_bench.BenchBotAPI`); the bench's handler answers each POST, once the update is
handled, with the replies the bot sent for it and the codes it delivered to the user's
addresses, so the driver (this process) can play the next update as the person would.

The driver sends the users' updates over keep-alive HTTP connections, at most ``window`` in
flight, each user's next update only after the reply to the previous one. To check that a step
never runs twice across workers, one update in every :data:`DUPLICATE_EVERY` is sent twice at
the same moment on two connections (as Telegram redelivers an update it thinks was lost): the
two copies usually reach two different workers. At the end every user must be registered, and
every user's conversation must have been written exactly once per update (its ``version``).

CPU time is read from /proc for each worker, the driver and the database's server processes.
"""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from array import array
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path

from sabot_bench import take_replies

#: one update in this many is sent twice at once (a redelivery racing the original)
DUPLICATE_EVERY = 8
#: the webhook path the workers listen on
PATH = "/telegram"
CODES_HEADER = "X-Bench-Codes"


# ---------------------------------------------------------------------------------------------
# The worker process
# ---------------------------------------------------------------------------------------------


def _bench_handler():
    from telegram import Update

    from bot.webhook import UpdateHandler

    class BenchUpdateHandler(UpdateHandler):
        """bot.webhook's handler (the secret checked, the update handled before the answer),
        answering with what the bot sent for the update and the codes it delivered."""

        def initialize(self, bot_application, secret: str, api, delivery) -> None:
            super().initialize(bot_application, secret)
            self.api = api
            self.delivery = delivery

        async def post(self) -> None:
            if self._refused:
                return
            payload = json.loads(bytes(self._body))
            self._body = bytearray()
            update = Update.de_json(payload, self.application_.bot)
            await self.application_.process_update(update)
            chat = update.effective_chat.id
            replies = self.api.inbox.pop(chat, [])
            codes = {}
            for wanted in filter(None, (self.request.headers.get(CODES_HEADER) or "").split(",")):
                channel, to = wanted.split(":", 1)
                code = self.delivery.codes.pop((channel, to), None)
                if code is not None:
                    codes[wanted] = code
            self.set_header("Content-Type", "application/json")
            self.finish(json.dumps({"replies": replies, "codes": codes}))

    return BenchUpdateHandler


async def serve(url: str, data_dir: Path, port: int, secret: str, profile: str | None) -> None:
    """One worker: build the bot as `sabot run` does, listen, run until SIGTERM."""
    import tornado.httpserver
    import tornado.web

    from sabot_bench import MINIMAL_ARGON2, BenchBotAPI, CapturingDelivery, _no_sleep, bench_settings
    from sabot_testing.telegram import FAKE_TOKEN
    from bot.engine import Engine
    from bot.runtime import settle_after_start
    from bot.services import build_services
    from bot.telegram_adapter import RetryPolicy, build_application
    from bot.webhook import MAX_BODY, listen

    services = await build_services(bench_settings(url, data_dir, MINIMAL_ARGON2))
    delivery = CapturingDelivery()
    services.delivery = delivery
    engine = Engine(services)
    api = BenchBotAPI()
    application = build_application(token=FAKE_TOKEN, engine=engine, request=api, retry_policy=RetryPolicy(sleep=_no_sleep))
    await application.initialize()
    app = tornado.web.Application([(PATH, _bench_handler(), {"bot_application": application, "secret": secret,
                                                             "api": api, "delivery": delivery})])
    server = tornado.httpserver.HTTPServer(app, max_body_size=MAX_BODY)
    listen(server, host="127.0.0.1", port=port)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    loop.add_signal_handler(signal.SIGINT, stop.set)
    settle_after_start()
    profiler = None
    if profile:
        import cProfile

        profiler = cProfile.Profile()
        profiler.enable()
    print("ready", flush=True)
    await stop.wait()
    if profiler is not None:
        profiler.disable()
        profiler.dump_stats(profile)
    server.stop()
    await application.shutdown()
    await engine.close()
    await services.close()


# ---------------------------------------------------------------------------------------------
# The driver: keep-alive HTTP, users in turn
# ---------------------------------------------------------------------------------------------


class HttpConnection:
    """One keep-alive HTTP/1.1 connection that POSTs JSON and reads the JSON answer."""

    def __init__(self, port: int, secret: str):
        self.port = port
        self.secret = secret
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def open(self) -> "HttpConnection":
        self.reader, self.writer = await asyncio.open_connection("127.0.0.1", self.port)
        self.writer.get_extra_info("socket").setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return self

    async def post(self, payload: dict, codes: str) -> dict:
        body = json.dumps(payload).encode()
        head = (f"POST {PATH} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                f"X-Telegram-Bot-Api-Secret-Token: {self.secret}\r\n{CODES_HEADER}: {codes}\r\n"
                f"Content-Length: {len(body)}\r\n\r\n").encode()
        self.writer.write(head + body)
        header = await self.reader.readuntil(b"\r\n\r\n")
        status = int(header.split(b" ", 2)[1])
        length = 0
        for line in header.split(b"\r\n"):
            if line[:15].lower() == b"content-length:":
                length = int(line[15:])
        data = await self.reader.readexactly(length)
        if status != 200:
            raise RuntimeError(f"worker answered {status}: {data[:200]!r}")
        return json.loads(data)

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()


class HttpUser:
    __slots__ = ("chat_id", "steps", "pos", "keyboard", "last_texts", "registered", "error", "codes", "destinations",
                 "message_id")

    def __init__(self, chat_id: int, steps: list[tuple[str, str]], destinations: str):
        self.chat_id = chat_id
        self.steps = steps
        self.pos = 0
        self.keyboard: dict | None = None
        self.last_texts: list[str] = []
        self.registered = False
        self.error: str | None = None
        self.codes: dict[str, str] = {}
        self.destinations = destinations
        self.message_id = 0

    @property
    def done(self) -> bool:
        return self.pos >= len(self.steps)


class HttpDriver:
    def __init__(self, port: int, secret: str, done_marker: str):
        self.port = port
        self.secret = secret
        self.done_marker = done_marker
        self._update_id = 0
        self._callback_id = 0
        self.duplicates = 0
        self.spare: asyncio.Queue[HttpConnection] = asyncio.Queue()

    def _payload(self, user: HttpUser, kind: str, value: str) -> dict:
        chat = {"id": user.chat_id, "type": "private", "first_name": "Bench", "username": f"u{user.chat_id}"}
        sender = {"id": user.chat_id, "is_bot": False, "first_name": "Bench", "language_code": "en",
                  "username": f"u{user.chat_id}"}
        self._update_id += 1
        if kind == "press":
            data = None
            for row in (user.keyboard or {}).get("reply_markup", {}).get("inline_keyboard", []):
                for button in row:
                    if button.get("text") == value:
                        data = button.get("callback_data")
            if data is None:
                raise RuntimeError(f"no button {value!r}")
            self._callback_id += 1
            return {"update_id": self._update_id, "callback_query": {
                "id": str(self._callback_id), "from": sender, "chat_instance": f"ci-{user.chat_id}", "data": data,
                "message": user.keyboard}}
        if kind == "code":
            text = user.codes.pop(value, None)
            if text is None:
                raise RuntimeError(f"no code was delivered to {value}")
        elif kind == "command":
            text = "/" + value
        else:
            text = value
        user.message_id += 1
        message = {"message_id": 1_000_000 + user.message_id, "date": int(time.time()), "chat": chat, "from": sender,
                   "text": text}
        if kind == "command":
            message["entities"] = [{"type": "bot_command", "offset": 0, "length": len(text)}]
        return {"update_id": self._update_id, "message": message}

    async def step(self, conn: HttpConnection, user: HttpUser) -> tuple[float, float]:
        kind, value = user.steps[user.pos]
        payload = self._payload(user, kind, value)
        start = time.perf_counter()
        if self._update_id % DUPLICATE_EVERY == 0:
            # the same update twice at once, on two connections (most likely two workers)
            self.duplicates += 1
            spare = await self.spare.get()
            try:
                answers = await asyncio.gather(conn.post(payload, user.destinations), spare.post(payload, user.destinations))
            finally:
                self.spare.put_nowait(spare)
        else:
            answers = [await conn.post(payload, user.destinations)]
        latency = time.perf_counter() - start
        replies = next((a["replies"] for a in answers if a["replies"]), [])
        for answer in answers:
            user.codes.update(answer["codes"])
        texts = take_replies(user, replies)
        if user.done and any(self.done_marker in t for t in texts):
            user.registered = True
        return start, latency


async def drive_http(driver: HttpDriver, users: list[HttpUser], window: int) -> tuple[float, array]:
    queue = deque(u for u in users if not u.done)
    latencies = array("d")
    connections = [await HttpConnection(driver.port, driver.secret).open() for _ in range(min(window, len(queue)))]
    for _ in range(max(1, len(connections) // 4)):
        driver.spare.put_nowait(await HttpConnection(driver.port, driver.secret).open())

    async def worker(conn: HttpConnection) -> None:
        while queue:
            user = queue.popleft()
            try:
                _start, latency = await driver.step(conn, user)
            except Exception as exc:  # noqa: BLE001 - reported, the other users go on
                kind, value = user.steps[user.pos]
                user.error = f"chat {user.chat_id}, update {user.pos + 1} ({kind} {value!r}): {type(exc).__name__}: {exc}"
                continue
            latencies.append(latency)
            if not user.done:
                queue.append(user)

    began = time.perf_counter()
    try:
        await asyncio.gather(*(worker(c) for c in connections))
    finally:
        seconds = time.perf_counter() - began
        for conn in connections:
            conn.close()
        while not driver.spare.empty():
            driver.spare.get_nowait().close()
    return seconds, latencies


# ---------------------------------------------------------------------------------------------
# One measured run with N workers
# ---------------------------------------------------------------------------------------------


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (0 if it is gone)."""
    try:
        with open(f"/proc/{pid}/stat") as fh:
            fields = fh.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@dataclass
class WorkersResult:
    workers: int
    users: int
    updates: int
    seconds: float
    p50_ms: float
    p99_ms: float
    registered: int
    duplicates: int
    #: users whose conversation was written more or fewer times than they sent updates
    steps_twice: int
    #: CPU seconds during the timed run: each worker, the driver, the database server's processes
    cpu_workers: list[float] = field(default_factory=list)
    cpu_driver: float = 0.0
    cpu_database: float = 0.0
    errors: list[str] = field(default_factory=list)

    @property
    def updates_per_s(self) -> float:
        return self.updates / self.seconds if self.seconds else 0.0

    @property
    def cpu_total(self) -> float:
        return sum(self.cpu_workers) + self.cpu_driver + self.cpu_database


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def _database_pids(services) -> list[int]:
    from sqlalchemy import text

    async with services.engine.connect() as conn:
        rows = await conn.execute(text(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database()"
            " OR backend_type IN ('walwriter', 'checkpointer', 'background writer')"))
        return [r[0] for r in rows]


def _start_workers(count: int, url: str, data_dir: Path, port: int, secret: str, profile: Path | None) -> list:
    root = Path(__file__).resolve().parents[2]
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(root), str(root / "tools"), os.environ.get("PYTHONPATH", "")]))
    children = []
    for index in range(count):
        args = [sys.executable, "-m", "sabot_bench.workers", url, str(data_dir), str(port), secret]
        if profile is not None and index == 0:
            args.append(str(profile))
        children.append(subprocess.Popen(args, env=env, cwd=root, stdout=subprocess.PIPE, text=True))
    for child in children:
        line = child.stdout.readline()
        if line.strip() != "ready":
            for other in children:
                other.kill()
            raise RuntimeError(f"a bench worker did not start (it said {line!r})")
    return children


def _stop_workers(children: list) -> None:
    for child in children:
        if child.poll() is None:
            child.send_signal(signal.SIGTERM)
    for child in children:
        try:
            child.wait(timeout=30)
        except subprocess.TimeoutExpired:
            child.kill()


async def run_workers(options, data_dir: Path, people: list, count: int, window: int, *,
                      profile: Path | None = None) -> WorkersResult:
    """``count`` webhook workers on a fresh PostgreSQL database; ``people`` register through
    them (the last ``options.warmup`` first, untimed)."""
    from sqlalchemy import text

    from sabot_bench import DONE_MARKER, MINIMAL_ARGON2, Database, bench_settings, percentile, registration_journey
    from bot.records import import_people
    from bot.services import build_services

    database = Database("postgresql", options.workdir, options.postgres_admin_url, f"workers-{count}")
    url = await database.create()
    children: list = []
    try:
        services = await build_services(bench_settings(url, data_dir, MINIMAL_ARGON2), migrate=True)
        try:
            await import_people(services.sessions, services.vault, services.clock, [p.record() for p in people])
        finally:
            await services.close()
        port = _free_port()
        secret = secrets.token_urlsafe(24)
        children = await asyncio.to_thread(_start_workers, count, url, data_dir, port, secret, profile)
        driver = HttpDriver(port, secret, DONE_MARKER)

        def users_of(chosen, base):
            return [HttpUser(base + i + 1, registration_journey(p), f"email:{p.email},sms:{p.e164}")
                    for i, p in enumerate(chosen)]

        warm = users_of(people[options.users:], 8_000_000)
        await drive_http(driver, warm, min(8, window))
        users = users_of(people[: options.users], 0)
        services = await build_services(bench_settings(url, data_dir, MINIMAL_ARGON2))
        try:
            db_pids = await _database_pids(services)
            before = [cpu_seconds(c.pid) for c in children]
            db_before = sum(cpu_seconds(pid) for pid in db_pids)
            driver_before = time.process_time()
            driver.duplicates = 0
            seconds, latencies = await drive_http(driver, users, window)
            cpu_driver = time.process_time() - driver_before
            cpu_workers = [cpu_seconds(c.pid) - b for c, b in zip(children, before)]
            cpu_database = sum(cpu_seconds(pid) for pid in db_pids) - db_before
            # every update written once: a user's conversation version is the number of updates
            async with services.engine.connect() as conn:
                versions = dict((await conn.execute(
                    text("SELECT chat_id, version FROM conversations WHERE chat_id = ANY(:ids)"),
                    {"ids": [u.chat_id for u in users]})).all())
        finally:
            await services.close()
        ordered = sorted(latencies)
        steps_twice = sum(1 for u in users if versions.get(u.chat_id) != len(u.steps))
        result = WorkersResult(
            workers=count, users=len(users), updates=len(ordered), seconds=seconds,
            p50_ms=percentile(ordered, 0.5) * 1000, p99_ms=percentile(ordered, 0.99) * 1000,
            registered=sum(1 for u in users if u.registered), duplicates=driver.duplicates, steps_twice=steps_twice,
            cpu_workers=cpu_workers, cpu_driver=cpu_driver, cpu_database=cpu_database,
            errors=[u.error for u in users if u.error][:3],
        )
        return result
    finally:
        await asyncio.to_thread(_stop_workers, children)
        await database.drop()


def format_workers(r: WorkersResult) -> str:
    per_worker = " + ".join(f"{c:.1f}" for c in r.cpu_workers)
    return (f"{r.workers:>7} {r.updates_per_s:>10,.0f} {r.p50_ms:>7.2f} {r.p99_ms:>7.2f} "
            f"{f'{r.registered}/{r.users}':>11} {r.duplicates:>6} {r.steps_twice:>6}   "
            f"workers {per_worker} s, driver {r.cpu_driver:.1f} s, PostgreSQL {r.cpu_database:.1f} s "
            f"({r.cpu_total / r.seconds:.2f} of {os.cpu_count()} CPUs busy over {r.seconds:.1f} s; "
            f"{1e6 * sum(r.cpu_workers) / max(1, r.updates):,.0f} µs of worker CPU per update)")


WORKERS_HEADER = (f"{'workers':>7} {'updates/s':>10} {'p50 ms':>7} {'p99 ms':>7} {'registered':>11} {'dups':>6} "
                  f"{'twice':>6}   CPU seconds during the run")


if __name__ == "__main__":
    _url, _data_dir, _port, _secret = sys.argv[1:5]
    _profile = sys.argv[5] if len(sys.argv) > 5 else None
    try:
        asyncio.run(serve(_url, Path(_data_dir), int(_port), _secret, _profile))
    except KeyboardInterrupt:
        pass
