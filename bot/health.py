"""Health and metrics endpoints of the webhook server.

* ``GET /healthz``: liveness, 200 while the process serves requests;
* ``GET /readyz`` (or ``/healthz?ready=1``): readiness, 200 only when the database answers too
  (503 otherwise), for a load balancer or an orchestrator;
* ``GET /metrics``: Prometheus' text format (bot.metrics).

None of them needs the webhook's secret token, and none says anything about a person.
"""

from __future__ import annotations

import asyncio
import logging

import tornado.web

from bot import metrics

log = logging.getLogger("sabot.health")

#: readiness waits this long for the database
READY_TIMEOUT = 5.0


async def database_ready(engine) -> bool:
    from sqlalchemy import text

    try:
        async def ping():
            async with engine.connect() as conn:
                await conn.execute(text("SELECT 1"))

        await asyncio.wait_for(ping(), READY_TIMEOUT)
        return True
    except Exception as exc:  # noqa: BLE001 - not ready, whatever the reason
        log.warning("readiness: the database did not answer (%s)", type(exc).__name__)
        return False


class _Plain(tornado.web.RequestHandler):
    def initialize(self, database=None) -> None:
        self.database = database

    def check_xsrf_cookie(self) -> None:
        return None

    def _answer(self, status: int, text: str) -> None:
        self.set_status(status)
        self.set_header("Content-Type", "text/plain; charset=utf-8")
        self.set_header("Cache-Control", "no-store")
        self.finish(text + "\n")

    async def _ready(self) -> None:
        if self.database is None or await database_ready(self.database):
            self._answer(200, "ready")
        else:
            self._answer(503, "not ready: the database does not answer")


class HealthHandler(_Plain):
    async def get(self) -> None:
        if self.get_query_argument("ready", "") not in ("", "0", "false", "no"):
            await self._ready()
            return
        self._answer(200, "ok")


class ReadyHandler(_Plain):
    async def get(self) -> None:
        await self._ready()


class MetricsHandler(_Plain):
    async def get(self) -> None:
        self.set_header("Content-Type", metrics.CONTENT_TYPE_LATEST)
        self.set_header("Cache-Control", "no-store")
        self.finish(metrics.render())


def routes(application) -> list[tuple]:
    """The endpoints for a webhook server around ``application`` (a PTB Application whose
    ``bot_data["adapter"]`` drives an engine); the engine's work is counted from now on."""
    adapter = getattr(application, "bot_data", {}).get("adapter")
    engine = getattr(adapter, "engine", None)
    database = getattr(getattr(engine, "services", None), "engine", None)
    if engine is not None:
        metrics.instrument(engine)
    options = {"database": database}
    return [
        (r"/healthz", HealthHandler, options),
        (r"/readyz", ReadyHandler, options),
        (r"/metrics", MetricsHandler, options),
    ]
