"""Delivery providers: one small interface, one class per channel kind.

A provider validates its integration's non-secret config and sends one
outbound payload, returning the channel's id for the message. It raises
TransientDeliveryError for failures worth retrying (timeouts, connection
errors, 5xx) and PermanentDeliveryError for the rest (4xx). Adding WhatsApp
Cloud or SMS is a new subclass registered in PROVIDERS; nothing else moves.
"""

import hashlib
import hmac
import json
import logging
import time
import uuid
from dataclasses import dataclass

from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import URLValidator

from crm import outbound

logger = logging.getLogger("messaging.providers")

SIGNATURE_HEADER = "X-Crm-Signature"
TIMESTAMP_HEADER = "X-Crm-Timestamp"
MESSAGE_ID_HEADER = "X-Crm-Message-Id"
SIGNATURE_TOLERANCE_SECONDS = 300


class DeliveryError(Exception):
    transient = False


class TransientDeliveryError(DeliveryError):
    transient = True


class PermanentDeliveryError(DeliveryError):
    transient = False


class ConfigError(ValueError):
    """Invalid provider config: {field: message}."""

    def __init__(self, errors: dict[str, str]):
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))
        self.errors = errors


@dataclass(frozen=True)
class SendResult:
    external_message_id: str


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """HMAC-SHA256 over `<timestamp>.<body>`, hex, prefixed like `sha256=...`."""
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def signature_headers(secret: str, body: bytes, timestamp: int | None = None) -> dict[str, str]:
    ts = str(int(time.time()) if timestamp is None else timestamp)
    return {TIMESTAMP_HEADER: ts, SIGNATURE_HEADER: sign(secret, ts, body)}


def verify_signature(
    secret: str, timestamp: str | None, signature: str | None, body: bytes, now: float | None = None
) -> bool:
    """True when the signature matches and the timestamp is recent (replay window)."""
    if not secret or not timestamp or not signature:
        return False
    try:
        ts = int(timestamp)
    except ValueError:
        return False
    if abs((time.time() if now is None else now) - ts) > SIGNATURE_TOLERANCE_SECONDS:
        return False
    return hmac.compare_digest(sign(secret, timestamp, body), signature)


class Provider:
    name: str = ""
    requires_secret = False

    def validate_config(self, config: dict) -> dict:
        """Returns the cleaned config or raises ConfigError."""
        if config:
            raise ConfigError({key: "Unknown setting for this provider." for key in config})
        return {}

    def send(self, integration, payload: dict) -> SendResult:
        raise NotImplementedError


class ConsoleProvider(Provider):
    """The embedded default: logs the payload, answers with a generated id."""

    name = "console"

    def send(self, integration, payload: dict) -> SendResult:
        external_id = f"console-{uuid.uuid4()}"
        logger.info(
            "console delivery %s: %s", external_id, json.dumps(payload, default=str, sort_keys=True)
        )
        return SendResult(external_message_id=external_id)


class WebhookProvider(Provider):
    """POSTs the payload as JSON to config["url"], signed with the integration's
    secret; the receiver answers 2xx with JSON {"id": ...}."""

    name = "webhook"
    requires_secret = True
    default_timeout = 10.0
    max_timeout = 30.0
    _url_validator = URLValidator(schemes=["http", "https"])

    def validate_config(self, config: dict) -> dict:
        errors, url, timeout = {}, config.get("url"), config.get("timeout", self.default_timeout)
        unknown = set(config) - {"url", "timeout"}
        for key in unknown:
            errors[key] = "Unknown setting for this provider."
        try:
            if not isinstance(url, str):
                raise DjangoValidationError("required")
            self._url_validator(url)
        except DjangoValidationError:
            errors["url"] = "An http(s) URL is required."
        else:
            try:
                outbound.check_url(url)
            except outbound.OutboundRefused as exc:
                errors["url"] = str(exc)
        if (
            isinstance(timeout, bool)
            or not isinstance(timeout, (int, float))
            or not 0 < timeout <= self.max_timeout
        ):
            errors["timeout"] = f"Seconds, greater than 0 and at most {self.max_timeout:g}."
        if errors:
            raise ConfigError(errors)
        return {"url": url, "timeout": float(timeout)}

    def send(self, integration, payload: dict) -> SendResult:
        config = integration.config or {}
        body = json.dumps(payload, default=str, separators=(",", ":")).encode()
        headers = {
            "Content-Type": "application/json",
            MESSAGE_ID_HEADER: str(payload.get("message_id", "")),  # lets receivers dedupe
            **signature_headers(integration.secret, body),
        }
        # crm.outbound: no private addresses, no redirects, time and size caps.
        # A message's error is read by every member: our own text and the
        # status code only, never the receiver's body.
        try:
            response = outbound.post(config["url"], content=body, headers=headers,
                                     timeout=config.get("timeout", self.default_timeout))
        except outbound.OutboundRefused as exc:
            raise PermanentDeliveryError(f"Refused: {exc}") from None
        except outbound.OutboundFailed as exc:
            raise TransientDeliveryError(str(exc)) from None
        status = response.status_code
        if status >= 500 or status == 429:  # 429: the receiver asks us to come back later
            raise TransientDeliveryError(f"The provider answered HTTP {status}.")
        if 300 <= status < 400:
            raise PermanentDeliveryError(f"The provider answered HTTP {status} (a redirect, not followed).")
        if status >= 400:
            raise PermanentDeliveryError(f"The provider answered HTTP {status}.")
        try:
            external_id = json.loads(response.body).get("id")
        except (ValueError, AttributeError):
            external_id = None
        return SendResult(external_message_id="" if external_id is None else str(external_id)[:255])


PROVIDERS: dict[str, Provider] = {p.name: p for p in (ConsoleProvider(), WebhookProvider())}


def get_provider(name: str) -> Provider:
    return PROVIDERS[name]
