"""Webhook endpoints (create, update, delete, rotate the secret, test,
retry a delivery) and the delivery of their events.

Delivery follows the Standard Webhooks specification: each request carries
`webhook-id` (`evt_<event id>`, the same on every attempt), `webhook-timestamp`
and `webhook-signature` (`v1,<base64 HMAC-SHA256 of "<id>.<timestamp>.<body>">`,
signed by the spec's own library, `standardwebhooks`), one signature per
live secret: after a rotation the previous secret signs too, for 24 hours.

At least once: the delivery rows are written with their events (the
outbox); a task claims an endpoint's due rows for WEBHOOK_CLAIM_SECONDS,
POSTs them one by one on one kept-alive connection (crm.outbound: no
private addresses, no redirects, time and size caps) and settles them in
one transaction. A worker killed mid-batch leaves its claims to lapse: the
sweeper (every WEBHOOK_SWEEP_SECONDS) hands them to another run. A failure
is retried with exponential backoff and jitter (or after the receiver's
Retry-After) for WEBHOOK_RETRY_WINDOW; the first failure of a batch stops
it (the rest wait with it), and the first success after failures brings
the endpoint's waiting deliveries forward. 410 Gone disables the endpoint
at once; failing for WEBHOOK_DISABLE_AFTER disables it too; both emit
`webhook.disabled`.
"""
import base64
import dataclasses
import email.utils
import json
import random
import secrets as random_secrets
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from datetime import timezone as dt_timezone

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.db.models.functions import Coalesce
from django.utils import timezone
from standardwebhooks.webhooks import Webhook

from crm import outbound
from crm.actors import Actor
from crm.errors import DomainError, NotFound, field_error
from crm.models import Workspace
from crm.services import lock_version, model_update

from . import services
from .models import Event, WebhookAttempt, WebhookDelivery, WebhookEndpoint
from .serializers import event_body

# The event types an endpoint may ask for (docs/api.md, "Events").
EVENT_TYPES = (
    "contact.created", "contact.updated", "contact.archived", "contact.restored", "contact.erased", "contact.merged",
    "label.created", "label.updated", "label.deleted", "tag.created", "tag.updated", "tag.deleted",
    "custom_field.created", "custom_field.updated", "custom_field.deleted",
    "contact_view.created", "contact_view.updated", "contact_view.deleted",
    "import_job.succeeded", "import_job.failed", "import_job.cancelled",
    "export_job.succeeded", "export_job.failed", "export_job.cancelled", "privacy.erased",
    "conversation.opened", "conversation.closed",
    "message.created", "message.sent", "message.delivered", "message.read", "message.failed", "message.received",
    "webhook.disabled", "webhook.test",
    "member.added", "member.role_changed", "member.removed", "token.created", "token.revoked",
)
SECRET_OVERLAP = timedelta(hours=24)
RETRY_BASE_SECONDS = 10
RETRY_MAX_DELAY_SECONDS = 4 * 60 * 60
STOPPED = "Not attempted: an earlier delivery of the batch failed; retried with it."


def new_secret() -> str:
    return "whsec_" + base64.b64encode(random_secrets.token_bytes(32)).decode()


# -- endpoints --------------------------------------------------------------------
def _check(url: str | None, event_types: Sequence[str] | None) -> None:
    if url is not None:
        try:
            outbound.check_url(url)
        except outbound.OutboundRefused as exc:
            raise field_error("url", str(exc), code="url_refused") from None
    unknown = sorted(set(event_types or ()) - set(EVENT_TYPES))
    if unknown:
        raise field_error("event_types", f"Unknown event types: {', '.join(unknown)}.", code="invalid_choice")


@transaction.atomic
def webhook_create(*, workspace: Workspace, actor: Actor, url: str, description: str = "",
                   event_types: Sequence[str] = (), active: bool = True,
                   batch_size: int = 1) -> tuple[WebhookEndpoint, str]:
    """A new endpoint and its signing secret (returned once)."""
    _check(url, event_types)
    secret, now = new_secret(), timezone.now()
    endpoint = WebhookEndpoint.objects.create(
        workspace=workspace, url=url, description=description, event_types=list(dict.fromkeys(event_types)),
        active=active, batch_size=batch_size, secret=secret, created_at=now, updated_at=now, created_by=actor.user, updated_by=actor.user,
    )
    return endpoint, secret


WEBHOOK_UPDATABLE = ("url", "description", "event_types", "active", "batch_size")


@transaction.atomic
def webhook_update(*, workspace: Workspace, actor: Actor, endpoint: WebhookEndpoint, changes: dict,
                   expected_version: int | None = None) -> WebhookEndpoint:
    _check(changes.get("url"), changes.get("event_types"))
    changes = dict(changes)
    if changes.get("active"):
        changes.update(disabled_reason="", failing_since=None)  # re-enabled by an admin: a fresh start
    return model_update(instance=endpoint, changes=changes, actor=actor, expected_version=expected_version,
                        updatable=(*WEBHOOK_UPDATABLE, "disabled_reason", "failing_since"))


@transaction.atomic
def webhook_delete(*, workspace: Workspace, actor: Actor, endpoint: WebhookEndpoint,
                   expected_version: int | None = None) -> None:
    lock_version(endpoint, expected_version)
    WebhookAttempt.objects.filter(delivery__endpoint=endpoint).delete()
    endpoint.deliveries.all().delete()
    endpoint.delete()


@transaction.atomic
def webhook_rotate_secret(*, workspace: Workspace, actor: Actor, endpoint: WebhookEndpoint,
                          expected_version: int | None = None) -> str:
    """A new secret; the current one keeps signing beside it for 24 hours."""
    secret = new_secret()
    model_update(instance=endpoint, actor=actor, expected_version=expected_version,
                 updatable=("secret", "previous_secret", "previous_secret_expires_at"),
                 changes={"secret": secret, "previous_secret": endpoint.secret,
                          "previous_secret_expires_at": timezone.now() + SECRET_OVERLAP})
    return secret


@transaction.atomic
def webhook_test(*, workspace: Workspace, actor: Actor, endpoint: WebhookEndpoint) -> WebhookDelivery:
    """Sends a `webhook.test` event to this endpoint only."""
    if not endpoint.active:
        raise DomainError("The endpoint is disabled; enable it (active=true) first.", code="inactive")
    event_id = services.record(workspace=workspace, actor=actor, type="webhook.test", subject_type="webhook",
                               subject_id=endpoint.pk, version=endpoint.version, fan_out=False,
                               data={"message": "A test event sent from the CRM."})
    now = timezone.now()
    delivery = WebhookDelivery.objects.create(endpoint=endpoint, event_id=event_id, created_at=now,
                                              next_attempt_at=now)
    services.kick([endpoint.pk])
    return delivery


@transaction.atomic
def webhook_delivery_retry(*, workspace: Workspace, actor: Actor, endpoint: WebhookEndpoint,
                           delivery_id: int) -> WebhookDelivery:
    """Queues a delivery again now, with a fresh retry window."""
    delivery = WebhookDelivery.objects.select_for_update().filter(pk=delivery_id, endpoint=endpoint).first()
    if delivery is None:
        raise NotFound("No delivery with this id for this endpoint.")
    now = timezone.now()
    delivery.status, delivery.next_attempt_at, delivery.first_attempt_at = WebhookDelivery.Status.PENDING, now, None
    delivery.claimed_until = None
    delivery.save(update_fields=["status", "next_attempt_at", "first_attempt_at", "claimed_until"])
    services.kick([endpoint.pk])
    return delivery


# -- delivery ---------------------------------------------------------------------
@dataclass
class Outcome:
    delivery: WebhookDelivery
    status_code: int | None = None
    duration_ms: int = 0
    error: str = ""
    retry_after: float | None = None

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


def backoff_seconds(attempts: int) -> float:
    """After `attempts` failed attempts: 10 s doubling up to 4 h, +-25% jitter
    (a day of retries is about 16 attempts)."""
    delay = min(RETRY_BASE_SECONDS * 2 ** max(attempts - 1, 0), RETRY_MAX_DELAY_SECONDS)
    return delay * random.uniform(0.75, 1.25)


def retry_after_seconds(value: str | None) -> float | None:
    """Retry-After as delta-seconds or an HTTP date, bounded to the retry window."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        seconds = float(value)
    else:
        try:
            seconds = (email.utils.parsedate_to_datetime(value) - datetime.now(dt_timezone.utc)).total_seconds()
        except (TypeError, ValueError):
            return None
    return min(max(seconds, 0.0), float(settings.WEBHOOK_RETRY_WINDOW))


def signers(endpoint: WebhookEndpoint, now) -> list[Webhook]:
    live = [endpoint.secret]
    if endpoint.previous_secret and endpoint.previous_secret_expires_at and endpoint.previous_secret_expires_at > now:
        live.append(endpoint.previous_secret)
    return [Webhook(secret) for secret in live]


def signed_request(msg_id: str, body: str, hooks: Sequence[Webhook], at: datetime) -> tuple[bytes, dict]:
    """The body and Standard Webhooks headers of one request."""
    signature = " ".join(hook.sign(msg_id=msg_id, timestamp=at, data=body) for hook in hooks)
    headers = {"content-type": "application/json", "webhook-id": msg_id,
               "webhook-timestamp": str(int(at.timestamp())), "webhook-signature": signature}
    return body.encode(), headers


def request_of(deliveries: Sequence[WebhookDelivery]) -> tuple[str, str]:
    """(webhook-id, body) of one request: one event, `evt_<id>` (the same on
    every attempt); or, for an endpoint that opted into batches, several:
    {"type": "batch", "data": [event, ...]} with `batch_<first>_<last>_<count>`
    (a retry may group differently: deduplicate on each event's id)."""
    if len(deliveries) == 1:
        event = deliveries[0].event
        return f"evt_{event.pk}", json.dumps(event_body(event), separators=(",", ":"), default=str)
    body = {"type": "batch", "data": [event_body(d.event) for d in deliveries]}
    ids = [d.event_id for d in deliveries]
    return f"batch_{ids[0]}_{ids[-1]}_{len(ids)}", json.dumps(body, separators=(",", ":"), default=str)


def _claim(endpoint_id: int, limit: int) -> list[int]:
    now = timezone.now()
    with transaction.atomic():
        ids = list(
            WebhookDelivery.objects.select_for_update(skip_locked=True, of=("self",))
            .filter(endpoint_id=endpoint_id, endpoint__active=True, status=WebhookDelivery.Status.PENDING,
                    next_attempt_at__lte=now)
            .filter(Q(claimed_until__isnull=True) | Q(claimed_until__lt=now))
            .order_by("next_attempt_at", "id").values_list("id", flat=True)[:limit]
        )
        if ids:
            WebhookDelivery.objects.filter(id__in=ids).update(
                claimed_until=now + timedelta(seconds=settings.WEBHOOK_CLAIM_SECONDS))
    return ids


def _send(endpoint: WebhookEndpoint, deliveries: list[WebhookDelivery]) -> list[Outcome]:
    """POSTs the deliveries in order on one connection; stops at the first failure."""
    outcomes = []
    hooks = signers(endpoint, timezone.now())
    size = max(1, endpoint.batch_size)
    with outbound.client(timeout=settings.WEBHOOK_TIMEOUT) as http:
        for start in range(0, len(deliveries), size):
            group = deliveries[start:start + size]
            body, headers = signed_request(*request_of(group), hooks, timezone.now())
            outcome = Outcome(group[0])
            started = time.monotonic()
            try:
                response = outbound.post(endpoint.url, content=body, headers=headers,
                                         timeout=settings.WEBHOOK_TIMEOUT, max_bytes=16 * 1024, using=http)
            except (outbound.OutboundRefused, outbound.OutboundFailed) as exc:
                outcome.error = str(exc)[:500]
                outcome.duration_ms = int((time.monotonic() - started) * 1000)
            else:
                outcome.status_code, outcome.duration_ms = response.status_code, response.elapsed_ms
                if not outcome.ok:
                    status = response.status_code
                    kind = "a redirect (not followed)" if 300 <= status < 400 else f"HTTP {status}"
                    outcome.error = f"The endpoint answered {kind}: {outbound.excerpt(response.body)}"[:500]
                    outcome.retry_after = retry_after_seconds(response.headers.get("retry-after"))
            # the request's outcome is each of its deliveries'
            outcomes += [outcome] + [dataclasses.replace(outcome, delivery=d) for d in group[1:]]
            if not outcome.ok:
                break
    return outcomes


def _disable(endpoint: WebhookEndpoint, reason: str, actor: Actor) -> None:
    now = timezone.now()
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(active=False, disabled_reason=reason[:255], updated_at=now,
                                                          version=F("version") + 1)
    services.record(workspace=endpoint.workspace, actor=actor, type="webhook.disabled", subject_type="webhook",
                    subject_id=endpoint.pk, version=endpoint.version + 1, data={"url": endpoint.url, "reason": reason})


@transaction.atomic
def _settle(endpoint: WebhookEndpoint, claimed: list[WebhookDelivery], outcomes: list[Outcome], actor: Actor) -> bool:
    """Records a batch's outcomes in one transaction; returns False when the
    endpoint failed (the batch stopped)."""
    now = timezone.now()
    succeeded = [o.delivery.pk for o in outcomes if o.ok]
    if succeeded:
        WebhookDelivery.objects.filter(id__in=succeeded).update(
            status=WebhookDelivery.Status.SUCCEEDED, attempts=F("attempts") + 1, delivered_at=now,
            first_attempt_at=Coalesce(F("first_attempt_at"), now), next_attempt_at=None, claimed_until=None)
    failed = next((o for o in outcomes if not o.ok), None)
    attempts = [WebhookAttempt(delivery=o.delivery, attempted_at=now, status_code=o.status_code,
                               duration_ms=o.duration_ms, error=o.error) for o in outcomes]
    if failed is None:
        WebhookAttempt.objects.bulk_create(attempts)
        if endpoint.failing_since is not None:
            # It answers again: what waited for it goes now.
            WebhookEndpoint.objects.filter(pk=endpoint.pk).update(failing_since=None)
            endpoint.deliveries.filter(status=WebhookDelivery.Status.PENDING, next_attempt_at__gt=now).update(
                next_attempt_at=now)
        return True
    delivery = failed.delivery
    first = delivery.first_attempt_at or now
    delay = failed.retry_after if failed.retry_after is not None else backoff_seconds(delivery.attempts + 1)
    next_at = now + timedelta(seconds=delay)
    gone = failed.status_code == 410
    given_up = gone or (next_at - first).total_seconds() > settings.WEBHOOK_RETRY_WINDOW
    for attempt in attempts:
        if attempt.status_code is None or not 200 <= attempt.status_code < 300:
            attempt.next_attempt_at = None if given_up else next_at
    WebhookAttempt.objects.bulk_create(attempts)
    # the failed request's deliveries (one, or a batch) wait together
    WebhookDelivery.objects.filter(id__in=[o.delivery.pk for o in outcomes if not o.ok]).update(
        status=WebhookDelivery.Status.FAILED if given_up else WebhookDelivery.Status.PENDING,
        attempts=F("attempts") + 1, first_attempt_at=Coalesce(F("first_attempt_at"), now),
        next_attempt_at=None if given_up else next_at, claimed_until=None)
    # The rest of the batch was not tried: it waits with the failed one.
    untried = [d.pk for d in claimed if d.pk not in {o.delivery.pk for o in outcomes}]
    WebhookDelivery.objects.filter(id__in=untried).update(claimed_until=None, next_attempt_at=next_at)
    failing_since = endpoint.failing_since or now
    if endpoint.failing_since is None:
        WebhookEndpoint.objects.filter(pk=endpoint.pk).update(failing_since=now)
    if gone:
        _disable(endpoint, "The endpoint answered 410 Gone.", actor)
    elif (now - failing_since).total_seconds() >= settings.WEBHOOK_DISABLE_AFTER:
        _disable(endpoint, f"The endpoint failed for {settings.WEBHOOK_DISABLE_AFTER} s: {failed.error[:120]}", actor)
    return False


def webhook_deliver_due(*, endpoint_id: int, actor: Actor, budget_seconds: float = 20.0) -> int:
    """Delivers an endpoint's due deliveries, batch after batch, for up to
    `budget_seconds`; returns how many were attempted."""
    attempted = 0
    deadline = time.monotonic() + budget_seconds
    while True:
        if time.monotonic() >= deadline:
            # Out of time with work left: another task goes on (the worker stays fair to other tasks).
            services.kick([endpoint_id])
            break
        endpoint = WebhookEndpoint.objects.select_related("workspace").filter(pk=endpoint_id).first()
        if endpoint is None:
            break
        # A batched endpoint takes up to WEBHOOK_BATCH requests' worth at once (at most 1,000
        # deliveries): the claim's and the settlement's round trips are paid per claim, not per event.
        ids = _claim(endpoint_id, min(settings.WEBHOOK_BATCH * max(endpoint.batch_size, 1), 1000)
                     if endpoint.batch_size > 1 else settings.WEBHOOK_BATCH)
        if not ids:
            break
        claimed = list(WebhookDelivery.objects.filter(id__in=ids).select_related("event").order_by("next_attempt_at",
                                                                                                    "id"))
        outcomes = _send(endpoint, claimed)
        attempted += len(outcomes)
        if not _settle(endpoint, claimed, outcomes, actor):
            break
    return attempted


def webhooks_due(*, limit: int = 1000) -> list[int]:
    """Endpoints with deliveries due and unclaimed (the sweeper's look)."""
    now = timezone.now()
    return list(
        WebhookDelivery.objects.filter(status=WebhookDelivery.Status.PENDING, next_attempt_at__lte=now,
                                       endpoint__active=True)
        .filter(Q(claimed_until__isnull=True) | Q(claimed_until__lt=now))
        .order_by().values_list("endpoint_id", flat=True).distinct()[:limit]
    )
