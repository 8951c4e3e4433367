"""Texts through Twilio's Messages API (``delivery.sms.backend: twilio``).

``POST {base_url}/2010-04-01/Accounts/{AccountSid}/Messages.json`` with the form fields ``To``
(E.164), ``From`` and ``Body``, and HTTP basic auth (account SID, auth token). Twilio answers
201 with the queued message, or 4xx/5xx with ``{"code": ..., "message": ...}``; its error codes
are sorted for the person (:data:`REASONS`), anything else means the service is unavailable for
now. A message Twilio reports as failed in its answer (``status`` failed or undelivered, with an
``error_code``) is sorted the same way.

The operator's log line names the error code and what to check; never the number, the text or
the auth token.
"""

from __future__ import annotations

from typing import Any

import httpx
import phonenumbers

from bot.config import TwilioSettings
from bot.delivery.base import DeliveryRefused, Message, log

#: Twilio error codes (https://www.twilio.com/docs/api/errors) that say something about the
#: number, as what the person can do about it
REASONS: dict[int, str] = {
    21211: "invalid_number",  # invalid 'To' phone number
    21217: "invalid_number",  # phone number does not appear to be valid
    21401: "invalid_number",  # invalid phone number
    21614: "no_texts",  # 'To' number is not a valid mobile number (a landline)
    21612: "no_texts",  # the 'To' number is not currently reachable via SMS
    21408: "no_texts",  # sending to this region is not enabled
    21610: "opted_out",  # the recipient replied STOP
    30003: "no_texts",  # unreachable destination handset
    30004: "no_texts",  # message blocked
    30005: "invalid_number",  # unknown destination handset
    30006: "no_texts",  # landline or unreachable carrier
    30007: "no_texts",  # carrier filtering
}

#: codes that are the operator's to fix, with what to check
OPERATOR_CODES: dict[int, str] = {
    20003: "check delivery.sms.twilio.account_sid and auth_token",
    20404: "check delivery.sms.twilio.account_sid",
    21212: "check delivery.sms.twilio.from_number",
    21606: "check delivery.sms.twilio.from_number (it must be one of the account's numbers that can send texts)",
    21659: "check delivery.sms.twilio.from_number (it must be one of the account's numbers)",
    21408: "enable texts to this region in the Twilio console (Messaging geographic permissions)",
}


def e164(number: str) -> str:
    """``number`` as E.164 (U.S. by default), or as given when it can't be read."""
    try:
        parsed = phonenumbers.parse(number, "US")
    except phonenumbers.NumberParseException:
        return number
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


class TwilioSms:
    name = "twilio"

    def __init__(self, settings: TwilioSettings, *, transport: httpx.AsyncBaseTransport | None = None):
        self.settings = settings
        self._transport = transport
        self._http: httpx.AsyncClient | None = None

    @property
    def messages_url(self) -> str:
        return f"{self.settings.base_url.rstrip('/')}/2010-04-01/Accounts/{self.settings.account_sid}/Messages.json"

    @property
    def account_url(self) -> str:
        return f"{self.settings.base_url.rstrip('/')}/2010-04-01/Accounts/{self.settings.account_sid}.json"

    def _client(self) -> httpx.AsyncClient:
        if self._http is None:
            self._http = httpx.AsyncClient(
                auth=(self.settings.account_sid, self.settings.auth_token),
                timeout=self.settings.timeout_seconds,
                transport=self._transport,
                headers={"Accept": "application/json"},
            )
        return self._http

    async def send(self, session: Any, message: Message) -> None:
        form = {"To": e164(message.to), "From": self.settings.from_number, "Body": message.body}
        try:
            response = await self._client().post(self.messages_url, data=form)
        except httpx.HTTPError as exc:
            log.error("text not sent: can't reach Twilio at %s (%s)", self.settings.base_url, type(exc).__name__)
            raise DeliveryRefused("sms", "unavailable", type(exc).__name__) from None
        payload = _json(response)
        if response.is_success:
            status, code = payload.get("status"), _int(payload.get("error_code"))
            if status in ("failed", "undelivered") and code:
                raise self._refused(code, response.status_code)
            return
        raise self._refused(_int(payload.get("code")), response.status_code)

    def _refused(self, code: int | None, http_status: int) -> DeliveryRefused:
        reason = REASONS.get(code or 0)
        fix = OPERATOR_CODES.get(code or 0)
        if fix:
            log.error("text not sent: Twilio refused it with error %s (HTTP %s); %s", code, http_status, fix)
        elif reason:
            log.warning("text refused by Twilio: error %s (%s)", code, reason)
        else:
            log.error("text not sent: Twilio answered HTTP %s (error %s)", http_status, code)
        return DeliveryRefused("sms", reason or "unavailable", str(code or http_status))

    async def check(self) -> str | None:
        """A harmless call (the account itself): None when the credentials work, else what is wrong."""
        try:
            response = await self._client().get(self.account_url)
        except httpx.HTTPError as exc:
            return f"can't reach Twilio at {self.settings.base_url} ({type(exc).__name__})"
        if response.is_success:
            return None
        code = _int(_json(response).get("code"))
        return f"Twilio answered HTTP {response.status_code} (error {code}); " + OPERATOR_CODES.get(
            code or 0, "check delivery.sms.twilio"
        )

    async def close(self) -> None:
        if self._http is not None:
            await self._http.aclose()
            self._http = None


def _json(response: httpx.Response) -> dict:
    try:
        payload = response.json()
    except ValueError:
        return {}
    return payload if isinstance(payload, dict) else {}


def _int(value) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None
