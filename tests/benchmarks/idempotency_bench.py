"""Idempotency-Key benchmark (issue 15; not collected by pytest).

In-process through DRF's APIClient like contacts_bench.py (full middleware,
token authentication, rendering; no network, no WSGI server), on a scratch
PostgreSQL database whose idempotency table holds --keys other keys:

1. a keyed create (POST /contacts): the first request, then --repeat
   replays; target: the replay under 10 ms p50;
2. the same for a bulk update of --bulk ids (PATCH /contacts: a large body
   to fingerprint) and, when the batch endpoint is routed (issue 15b), a
   --bulk item batch upsert (POST /contacts/batch: a large body and answer);
3. for scale: GET /me (token authentication and nothing else: the floor
   of any request on this machine under its current load), an unkeyed
   create and a keyed first create (what the claim and the stored answer add).

Every figure is printed after its outcome is checked (statuses, the
Idempotent-Replayed header, identical bodies, one contact / one write);
it exits non-zero when anything failed.

    createdb -h 127.0.0.1 -U postgres bench_15_idem
    SECRET_KEY=x SECRETS_KEYS=<a Fernet key> DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench_15_idem \\
        .venv/bin/python tests/benchmarks/idempotency_bench.py [--keys 100000] [--repeat 300] [--bulk 1000]
"""
import argparse
import json
import os
import statistics
import sys
import time
import uuid
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
os.environ.setdefault("API_RATE_LIMIT", "1000000/min")
os.environ.setdefault("API_WORKSPACE_RATE_LIMIT", "1000000/min")


JSON = "application/json"


def fail(message):
    print(f"FAILED: {message}")
    sys.exit(1)


def ms(samples):
    samples = sorted(samples)
    return statistics.median(samples) * 1000, samples[int(len(samples) * 0.95) - 1] * 1000


CPU = {}


def timed(send, repeat):
    """Wall time of each call (yielded), and this process's CPU time per call
    (CPU[id(samples)]): the part of the request that the machine's load does
    not stretch (it leaves out PostgreSQL's and Redis's own work)."""
    send()  # warm
    samples, cpu = [], []
    CPU[id(samples)] = cpu
    for _ in range(repeat):
        started, started_cpu = time.perf_counter(), time.process_time()
        response = send()
        samples.append(time.perf_counter() - started)
        cpu.append(time.process_time() - started_cpu)
        yield response, samples


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--keys", type=int, default=100_000, help="other keys in the table")
    parser.add_argument("--repeat", type=int, default=300)
    parser.add_argument("--bulk", type=int, default=1000)
    args = parser.parse_args()

    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection
    from django.urls import Resolver404, resolve
    from django.utils import timezone
    from rest_framework.test import APIClient

    from contacts.models import Contact
    from crm.actors import Actor
    from crm.models import IdempotencyKey, Membership, Workspace
    from crm.services import token_create
    from django.contrib.auth import get_user_model

    if not settings.IS_POSTGRES:
        fail("run it on PostgreSQL (DATABASE_URL)")
    call_command("migrate", verbosity=0)
    run = uuid.uuid4().hex[:8]
    workspace = Workspace.objects.create(name=f"Idempotency bench {run}", slug=f"idem-bench-{run}")
    user = get_user_model().objects.create_user(username=f"idem-{run}", email=f"idem-{run}@example.com")
    Membership.objects.create(workspace=workspace, user=user, role="admin")
    _, token = token_create(workspace=workspace, actor=Actor.system("bench"), user=user, name="bench")
    client = APIClient()
    client.credentials(HTTP_X_ACCESS_TOKEN=token)

    existing = IdempotencyKey.objects.count()
    if existing < args.keys:
        now = timezone.now()
        rows = [IdempotencyKey(workspace=workspace, key=f"seed-{run}-{i}", fingerprint="0" * 64, method="POST",
                               path="/v1/crm/contacts", claimed_at=now, locked_until=now, completed_at=now,
                               expires_at=now + timedelta(days=1), response_status=201)
                for i in range(args.keys - existing)]
        IdempotencyKey.objects.bulk_create(rows, batch_size=5000)
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE crm_idempotencykey")
    print(f"crm_idempotencykey rows: {IdempotencyKey.objects.count():,}; load average {os.getloadavg()[0]:.2f}")

    results = []

    def replay_case(name, send, check_once):
        key = str(uuid.uuid4())
        first = send(key)
        if first.status_code >= 300:
            fail(f"{name}: first answer {first.status_code} {first.content[:300]!r}")
        if "Idempotent-Replayed" in first:
            fail(f"{name}: the first answer says replayed")
        samples = []
        for response, samples in timed(lambda: send(key), args.repeat):
            if response.status_code != first.status_code or response.content != first.content:
                fail(f"{name}: a replay differs: {response.status_code} {response.content[:200]!r}")
            if response.get("Idempotent-Replayed") != "true":
                fail(f"{name}: a replay without Idempotent-Replayed: true")
        check_once()
        p50, p95 = ms(samples)
        results.append((f"{name}: replay", p50, p95, ms(CPU[id(samples)])[0], "< 10 ms p50", p50 < 10))

    # 1. a keyed create
    # Bodies are encoded once: the client's own JSON encoding is not the server's time.
    create_body = json.dumps({"name": "Replayed", "email": f"r-{run}@example.com"})

    def create(key):
        return client.post("/v1/crm/contacts", create_body, content_type=JSON, HTTP_IDEMPOTENCY_KEY=key)

    def one_contact():
        if Contact.objects.filter(workspace=workspace, name="Replayed").count() != 1:
            fail("create: the replays created contacts")

    replay_case("POST /contacts", create, one_contact)

    # 2. a bulk update of --bulk ids
    ids = [c.pk for c in Contact.objects.bulk_create(
        [Contact(workspace=workspace, name=f"Bulk {i}", type="person") for i in range(args.bulk)])]

    bulk_body = json.dumps({"ids": ids, "visibility_type": "public"})

    def bulk(key):
        return client.patch("/v1/crm/contacts", bulk_body, content_type=JSON, HTTP_IDEMPOTENCY_KEY=key)

    def bulk_once():
        versions = set(Contact.objects.filter(pk__in=ids).values_list("version", flat=True))
        if versions != {2}:
            fail(f"bulk: versions {versions}, the replays wrote again")

    replay_case(f"PATCH /contacts ({args.bulk} ids)", bulk, bulk_once)

    # 2b. the JSON batch (issue 15b), when routed
    try:
        resolve("/v1/crm/contacts/batch")
        routed = True
    except Resolver404:
        routed = False
    if routed:
        items = [{"external_client_id": f"batch-{run}-{i}", "name": f"Batch {i}"} for i in range(args.bulk)]

        batch_body = json.dumps({"action": "upsert", "items": items})

        def batch(key):
            return client.post("/v1/crm/contacts/batch", batch_body, content_type=JSON, HTTP_IDEMPOTENCY_KEY=key)

        def batch_once():
            made = Contact.objects.filter(workspace=workspace, external_client_id__startswith=f"batch-{run}-")
            if made.count() != args.bulk or set(made.values_list("version", flat=True)) != {1}:
                fail("batch: the replays wrote again")

        replay_case(f"POST /contacts/batch ({args.bulk} items)", batch, batch_once)
    else:
        print("POST /contacts/batch is not routed in this checkout: batch replay not measured")

    # 3. for scale: the cheapest authenticated request (token lookup, one
    # query: what a replay is plus its one indexed read), and the create
    # itself, unkeyed and keyed
    samples = []
    for response, samples in timed(lambda: client.get("/v1/crm/me"), args.repeat):
        if response.status_code != 200:
            fail(f"GET /me: {response.status_code}")
    p50, p95 = ms(samples)
    results.append(("GET /me (yardstick: auth, no work)", p50, p95, ms(CPU[id(samples)])[0], "", True))

    counter = iter(range(10**9))

    def fresh(keyed):
        n = next(counter)
        headers = {"HTTP_IDEMPOTENCY_KEY": f"fresh-{run}-{n}"} if keyed else {}
        response = client.post("/v1/crm/contacts", {"name": f"Fresh {n}"}, format="json", **headers)
        if response.status_code != 201:
            fail(f"create: {response.status_code} {response.content[:300]!r}")
        return response

    for label, keyed in (("POST /contacts, no key", False), ("POST /contacts, new key (claim + store)", True)):
        samples = []
        for _, samples in timed(lambda: fresh(keyed), args.repeat):
            pass
        p50, p95 = ms(samples)
        results.append((label, p50, p95, ms(CPU[id(samples)])[0], "", True))

    print(f"\n{'case':<48} {'p50 ms':>8} {'p95 ms':>8} {'CPU p50':>8}  target")
    for name, p50, p95, cpu, target, ok in results:
        verdict = "" if not target else ("  ok" if ok else "  MISSED")
        print(f"{name:<48} {p50:8.2f} {p95:8.2f} {cpu:8.2f}  {target}{verdict}")
    print(f"load average {os.getloadavg()[0]:.2f} (wall times stretch with it; CPU p50 is this process's own time)")
    IdempotencyKey.objects.filter(workspace=workspace).delete()
    if not all(ok for *_, ok in results):
        sys.exit(2)


if __name__ == "__main__":
    main()
