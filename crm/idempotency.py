"""Idempotency keys on every unsafe request, after the IETF draft
"The Idempotency-Key HTTP Header Field" (draft-ietf-httpapi-idempotency-key-header).

A POST, PUT, PATCH or DELETE may carry `Idempotency-Key: <key>`. The key is
scoped to the caller's workspace; the request it is first used for is
remembered by its fingerprint: SHA-256 of the caller (user, or integration),
the method, the path with its query string, If-Match and the body's bytes.

- First use: the key is claimed (an INSERT under UNIQUE(workspace, key), in
  its own transaction, before any work), the request runs, and its
  completed response (status, the headers that describe it, the body) is
  stored. A 4xx is stored too (the draft: a retry gets "the result of the
  previously completed operation, success or an error"); a 5xx is not: the
  claim is released and a retry runs the request again.
- Same key, same fingerprint, completed: the stored response, replayed with
  `Idempotent-Replayed: true`; nothing runs.
- Same key, another fingerprint: 422 `idempotency_key_reused`.
- Same key while the first request runs: 409 `idempotency_key_in_use`. A
  claim older than IDEMPOTENCY_LOCK_SECONDS without a response (its process
  died) may be taken over.
- Keys live IDEMPOTENCY_KEY_TTL_SECONDS (24 h) from their first use; an
  expired key is free again and the periodic task `crm.purge_idempotency_keys`
  deletes it.

Only what passed authentication, permissions, throttling and preconditions
(If-Match) claims a key: a 401/403/429/412 is answered as it would be
without one, and not stored. `IdempotentMixin` is the one place this
happens; it is a base of every API view (crm.viewsets.WorkspaceViewSet and
crm.viewsets.CrmAPIView; tests/test_routes.py checks every route that takes
an unsafe method).
"""
import hashlib
import re
import tempfile
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connection
from django.http import HttpResponse
from django.http.request import RawPostDataException
from django.utils import timezone

from .db import prepared_statement
from .errors import IdempotencyKeyInUse, IdempotencyKeyInvalid, IdempotencyKeyReused, PayloadTooLarge
from .models import IdempotencyKey

HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
MAX_KEY_LENGTH = 255
# What describes a response, as opposed to this one request (request id, rate-limit counters).
STORED_HEADERS = ("Content-Type", "Content-Location", "Location", "ETag", "Link")
# A bare key: visible ASCII but the quote and the backslash. A quoted key is an
# RFC 8941 sf-string (printable ASCII, \" and \\ escaped), which the draft defines.
_BARE = re.compile(r'[!#-\[\]-~]+')
_QUOTED = re.compile(r'"((?:[ !#-\[\]-~]|\\["\\])*)"')
_UNESCAPE = re.compile(r'\\(["\\])')
_CHUNK = 64 * 1024


def parse_key(header: str) -> str:
    """The key an Idempotency-Key header names, or 400 `idempotency_key_invalid`."""
    value = header.strip()
    if _BARE.fullmatch(value):
        key = value
    elif match := _QUOTED.fullmatch(value):
        key = _UNESCAPE.sub(r"\1", match.group(1))
    else:
        raise IdempotencyKeyInvalid(field=HEADER)
    if not key or len(key) > MAX_KEY_LENGTH:
        raise IdempotencyKeyInvalid(field=HEADER)
    return key


def _principal(request) -> str:
    user = getattr(request, "user", None)
    if user is not None and getattr(user, "is_authenticated", False):
        return f"user:{user.pk}"
    return f"{type(request.auth).__name__}:{getattr(request.auth, 'pk', '')}"


def fingerprint(request, *, max_body_bytes: int) -> str:
    """SHA-256 of the caller, method, full path and body of a DRF request.
    A JSON body is read once (Django keeps it for the parser); a multipart
    upload is hashed as it is copied into a spooled temporary file, which
    then stands in for the request stream, so a 100 MB CSV never sits in memory."""
    digest = hashlib.sha256()
    # If-Match makes it another request: a write retried with a fresher ETag needs a new key.
    for part in (_principal(request), request.method, request.get_full_path(), request.headers.get("If-Match", "")):
        digest.update(part.encode())
        digest.update(b"\0")
    django_request = request._request
    if (request.content_type or "").startswith("multipart/") and not django_request._read_started:
        spool = tempfile.SpooledTemporaryFile(max_size=settings.FILE_UPLOAD_MAX_MEMORY_SIZE)
        size = 0
        while chunk := django_request.read(_CHUNK):
            size += len(chunk)
            if size > max_body_bytes:
                spool.close()
                raise PayloadTooLarge(f"The request body is larger than {max_body_bytes} bytes.")
            digest.update(chunk)
            spool.write(chunk)
        spool.seek(0)
        django_request._stream = spool
        django_request._read_started = False  # the parsers read the spooled copy as the request itself
        return digest.hexdigest()
    try:
        digest.update(django_request.body)
    except RawPostDataException:  # something parsed the stream already: hash what it parsed
        digest.update(repr(sorted(request.data.items()) if hasattr(request.data, "items") else request.data).encode())
    return digest.hexdigest()


@dataclass(frozen=True)
class Claim:
    """This request holds the key: it runs, then stores or releases."""

    pk: int
    claimed_at: datetime


def _first(queryset) -> IdempotencyKey | None:
    """The row of a (workspace, key): a lookup by a unique key, run as a
    prepared statement (crm.db) since every keyed request makes it."""
    connection.ensure_connection()
    with prepared_statement(connection):
        rows = list(queryset[:1])
    return rows[0] if rows else None


def _insert(workspace_id: int, key: str, fields: dict) -> int | None:
    """INSERT ... ON CONFLICT DO NOTHING RETURNING id: the new row's id, or
    None when the key exists. One statement, committed on its own in
    autocommit (no transaction and no savepoint to open), and no error to
    recover from: a concurrent request's uncommitted claim makes it wait,
    then yield nothing."""
    ops = connection.ops
    meta = IdempotencyKey._meta
    values = {"workspace_id": workspace_id, "key": key, **fields, "completed_at": None, "response_status": None,
              "response_headers": "{}", "response_body": ""}
    for name in ("claimed_at", "locked_until", "expires_at"):
        values[name] = ops.adapt_datetimefield_value(values[name])
    columns = [meta.get_field(name.removesuffix("_id") if name.endswith("_id") else name).column for name in values]
    quote = ops.quote_name
    sql = (f"INSERT INTO {quote(meta.db_table)} ({', '.join(quote(c) for c in columns)}) "
           f"VALUES ({', '.join(['%s'] * len(columns))}) "
           f"ON CONFLICT ({quote('workspace_id')}, {quote('key')}) DO NOTHING RETURNING {quote('id')}")
    with connection.cursor() as cursor:
        cursor.execute(sql, list(values.values()))
        row = cursor.fetchone()
    return row[0] if row else None


def idempotency_claim(*, workspace_id: int, key: str, fingerprint: str, method: str, path: str,
                      user_id: int | None) -> Claim | IdempotencyKey:
    """Claims `key` for this request (a Claim), or returns the completed row
    to replay; 409 while another request holds it, 422 when it was used for
    another request. The claim is one INSERT committed on its own (_insert):
    a concurrent request with the key waits on the unique index until it
    commits, then reads it."""
    now = timezone.now()
    fields = {
        "fingerprint": fingerprint, "method": method, "path": path[:2000], "user_id": user_id, "claimed_at": now,
        "locked_until": now + timedelta(seconds=settings.IDEMPOTENCY_LOCK_SECONDS),
        "expires_at": now + timedelta(seconds=settings.IDEMPOTENCY_KEY_TTL_SECONDS),
    }
    keyed = IdempotencyKey.objects.filter(workspace_id=workspace_id, key=key).order_by()
    row = _first(keyed)
    if row is None:
        pk = _insert(workspace_id, key, fields)
        if pk is not None:
            return Claim(pk, now)
        row = _first(keyed)
        if row is None:  # claimed, then released by a 5xx, between our two statements
            raise IdempotencyKeyInUse()
    if row.expires_at <= now or (row.response_status is None and row.locked_until <= now):
        # Expired, or its request died holding it: free for this one. The
        # claimed_at guard lets exactly one of two takers win.
        taken = IdempotencyKey.objects.filter(pk=row.pk, claimed_at=row.claimed_at).update(
            **fields, completed_at=None, response_status=None, response_headers={}, response_body="",
        )
        if taken:
            return Claim(row.pk, now)
        raise IdempotencyKeyInUse()
    if row.fingerprint != fingerprint:
        raise IdempotencyKeyReused()
    if row.response_status is None:
        raise IdempotencyKeyInUse()
    return row


def idempotency_complete(claim: Claim, response) -> None:
    """Stores the response of the request that holds `claim`; a 5xx (or a
    body that is not text) releases the key instead."""
    if response.status_code >= 500 or response.streaming:
        idempotency_release(claim)
        return
    if callable(getattr(response, "render", None)) and not response.is_rendered:
        response.render()
    try:
        body = response.content.decode()
    except UnicodeDecodeError:
        idempotency_release(claim)
        return
    headers = {name: response[name] for name in STORED_HEADERS if name in response}
    IdempotencyKey.objects.filter(pk=claim.pk, claimed_at=claim.claimed_at).update(
        response_status=response.status_code, response_headers=headers, response_body=body,
        completed_at=timezone.now(),
    )


def idempotency_release(claim: Claim) -> None:
    """Forgets the key: its request failed on our side (5xx) and may be retried."""
    IdempotencyKey.objects.filter(pk=claim.pk, claimed_at=claim.claimed_at).delete()


def replayed_response(row: IdempotencyKey) -> HttpResponse:
    response = HttpResponse(row.response_body.encode(), status=row.response_status)
    if "Content-Type" not in row.response_headers:
        del response["Content-Type"]
    for name, value in row.response_headers.items():
        response[name] = value
    response[REPLAYED_HEADER] = "true"
    return response


def idempotency_keys_purge(*, batch: int = 10_000) -> int:
    """Deletes expired keys, `batch` rows a statement (short locks); returns how many."""
    deleted = 0
    while True:
        now = timezone.now()
        ids = list(IdempotencyKey.objects.filter(expires_at__lte=now).order_by().values_list("pk", flat=True)[:batch])
        if not ids:
            return deleted
        deleted += IdempotencyKey.objects.filter(pk__in=ids, expires_at__lte=now).delete()[0]


class _Replay(Exception):
    def __init__(self, row: IdempotencyKey):
        self.row = row


class IdempotentMixin:
    """The Idempotency-Key handling of an API view. `initial` claims the key
    once the request passed authentication, permissions, throttles and the
    view's `check_preconditions`; `dispatch` stores the response, or
    releases the key when the request ended in a 5xx or an exception."""

    _idempotency_claim: Claim | None = None

    def check_preconditions(self, request, *args, **kwargs) -> None:
        """Hook: checks that answer before any work (If-Match), before the key is claimed."""

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        self.check_preconditions(request, *args, **kwargs)
        header = request.headers.get(HEADER)
        workspace_id = getattr(request.auth, "workspace_id", None)
        if header is None or request.method not in UNSAFE_METHODS or workspace_id is None:
            return
        key = parse_key(header)
        limit = getattr(type(self), "max_body_bytes", settings.MAX_REQUEST_BODY_BYTES)
        user = getattr(request, "user", None)
        outcome = idempotency_claim(
            workspace_id=workspace_id, key=key, fingerprint=fingerprint(request, max_body_bytes=limit),
            method=request.method, path=request.get_full_path(),
            user_id=user.pk if getattr(user, "is_authenticated", False) else None,
        )
        if isinstance(outcome, Claim):
            self._idempotency_claim = outcome
        else:
            raise _Replay(outcome)

    def handle_exception(self, exc):
        if isinstance(exc, _Replay):
            return replayed_response(exc.row)
        return super().handle_exception(exc)

    def dispatch(self, request, *args, **kwargs):
        self._idempotency_claim = None
        try:
            response = super().dispatch(request, *args, **kwargs)
        except BaseException:
            if self._idempotency_claim is not None:
                idempotency_release(self._idempotency_claim)
            raise
        if self._idempotency_claim is not None:
            idempotency_complete(self._idempotency_claim, response)
        return response
