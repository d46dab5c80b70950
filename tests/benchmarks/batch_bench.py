#!/usr/bin/env python
"""Batch and duplicates benchmark (issue 15, "Speed"; not collected by pytest).

On the 1M-contact seed of contacts_bench.py (the same database, seeded or
reused through its code), in one run:

1. a 1,000-item `POST /contacts/batch` upsert, half new contacts and half
   existing ones (by external_client_id), against the same shape of 1,000
   rows through the CSV import pipeline in-process (upload, job, validation
   and write passes: imports.services), each timed end to end, alternating,
   on fresh rows every time (target: the batch's p50 within 1.5x of the
   pipeline's);
2. the same kind of batch sent with an Idempotency-Key, then replayed
   --replay-repeat times with its key (target: the replay under 10 ms p50;
   each replay must carry Idempotent-Replayed, the first body, and write
   nothing);
3. the duplicates endpoints: the first page of `GET /contacts/duplicates`
   (target: p95 under 200 ms), pages further along its cursor, and
   `GET /contacts/{id}/duplicates`, after planting 5,000 duplicate groups.

Every outcome is checked first (statuses, created/updated counts, rows in
the database, groups found); a failed check exits non-zero before any
figure is printed.

    SECRET_KEY=x SECRETS_KEYS=... DATABASE_URL=postgres://postgres@127.0.0.1:5432/crm_bench15 \\
        .venv/bin/python tests/benchmarks/batch_bench.py [--contacts N] [--repeat R]

The rows the batches update are snapshotted and restored at the end, and the
contacts it creates (ids above the seed's) are deleted, so runs compare
(contacts_bench.py's next run deletes them too).
"""
import argparse
import csv
import io
import os
import random
import sys
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from tests.benchmarks import contacts_bench as cb  # noqa: E402  (sets Django up, as its own script does)

from django.conf import settings  # noqa: E402
from django.core.files import File  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from rest_framework.test import APIClient  # noqa: E402

from contacts import services as contact_services  # noqa: E402
from contacts.models import Contact  # noqa: E402
from crm.actors import Actor  # noqa: E402
from imports import services as import_services  # noqa: E402

BATCH = 1000
RATIO_TARGET = 1.5
GROUPS_TARGET_MS = 200.0
REPLAY_TARGET_MS = 10.0
PLANTED_GROUPS = 5000


class Failed(SystemExit):
    def __init__(self, message):
        super().__init__(f"batch_bench: FAILED: {message}")


def check(condition, message):
    if not condition:
        raise Failed(message)


def stats(values):
    return cb.percentile(values, 0.5), cb.percentile(values, 0.95)


def existing_rows(workspace_id, count):
    """Active seed contacts with an external id, in random order."""
    with connection.cursor() as cur:
        cur.execute(
            "SELECT id, external_client_id FROM contacts_contact WHERE workspace_id = %s AND deleted_at IS NULL "
            "AND external_client_id IS NOT NULL AND id <= %s ORDER BY random() LIMIT %s",
            [workspace_id, cb.meta_get("seed")["max_id"], count],
        )
        return cur.fetchall()


def make_rows(rng, nonce, existing):
    """Half new contacts, half updates of `existing` ((id, external id) pairs)."""
    rows = []
    for i in range(BATCH // 2):
        rows.append({
            "external_client_id": f"BB-{nonce}-{i}", "name": rng.choice(cb.FIRST_NAMES),
            "surname": rng.choice(cb.LAST_NAMES), "email": f"bb-{nonce}-{i}@example.com",
            "phone": f"+1415{rng.randint(2_000_000, 9_999_999)}", "city": "Austin", "title": "Buyer",
            "tags": ["vip"],
        })
    for _, ext in existing:
        rows.append({"external_client_id": ext, "title": "Director", "city": "Lyon", "tags": ["newsletter"]})
    return rows


def as_csv(rows) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    header = ["external_client_id", "name", "surname", "email", "phone", "city", "title", "tags"]
    writer.writerow(header)
    for row in rows:
        writer.writerow([";".join(row[h]) if h == "tags" else row.get(h, "") for h in header])
    return out.getvalue().encode()


def run_batch(client, rows, workspace):
    t0 = time.perf_counter()
    response = client.post("/v1/crm/contacts/batch", {"action": "upsert", "items": rows}, format="json")
    elapsed = (time.perf_counter() - t0) * 1000
    check(response.status_code == 200, f"batch answered {response.status_code}: {response.content[:300]!r}")
    results = response.json()["results"]
    statuses = [r["status"] for r in results]
    check(statuses.count("created") == BATCH // 2 and statuses.count("updated") == BATCH // 2,
          f"batch statuses {dict((s, statuses.count(s)) for s in set(statuses))}")
    new_ext = [r["external_client_id"] for r in rows[: BATCH // 2]]
    check(Contact.objects.filter(workspace=workspace, external_client_id__in=new_ext).count() == BATCH // 2,
          "the batch's new contacts are not all in the database")
    updated = [r["id"] for r in results[BATCH // 2:]]
    check(Contact.objects.filter(pk__in=updated, title="Director").count() == BATCH // 2,
          "the batch's updates are not all in the database")
    return elapsed


def run_replays(client, rows, workspace, repeat):
    """One keyed batch upsert, then `repeat` timed replays: each must be the
    stored answer (Idempotent-Replayed, the same body) and write nothing."""
    key = f"batch-bench-{uuid.uuid4().hex}"
    body = {"action": "upsert", "items": rows}
    first = client.post("/v1/crm/contacts/batch", body, format="json", HTTP_IDEMPOTENCY_KEY=key)
    check(first.status_code == 200, f"the keyed batch answered {first.status_code}: {first.content[:300]!r}")
    count = Contact.objects.filter(workspace=workspace).count()
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        again = client.post("/v1/crm/contacts/batch", body, format="json", HTTP_IDEMPOTENCY_KEY=key)
        times.append((time.perf_counter() - t0) * 1000)
        check(again.status_code == 200 and again.headers.get("Idempotent-Replayed") == "true",
              f"a replay answered {again.status_code} without Idempotent-Replayed")
        check(again.content == first.content, "a replay's body differs from the first answer")
    check(Contact.objects.filter(workspace=workspace).count() == count, "a replay wrote contacts")
    return times


def run_pipeline(workspace, actor, rows):
    t0 = time.perf_counter()
    stored = import_services.import_file_upload(workspace=workspace, actor=actor,
                                                uploaded=File(io.BytesIO(as_csv(rows)), name="batch-bench.csv"))
    job = import_services.import_job_create(workspace=workspace, actor=actor, file_name=stored.file_name,
                                            enqueue=False)
    status = import_services.import_job_run(job_id=job.pk)
    elapsed = (time.perf_counter() - t0) * 1000
    job.refresh_from_db()
    check(status == "succeeded", f"import job {status}: {job.message}")
    check((job.created, job.updated) == (BATCH // 2, BATCH // 2), f"import created/updated {job.created}/{job.updated}")
    import_services.import_file_delete(workspace=workspace, actor=actor, import_file=stored)
    return elapsed


def plant_duplicates(workspace, actor, rng):
    """PLANTED_GROUPS new contacts, each with the email of a seed contact: as
    many duplicate groups (written through the batch service)."""
    with connection.cursor() as cur:
        cur.execute(
            "SELECT email FROM contacts_contact WHERE workspace_id = %s AND deleted_at IS NULL AND email <> '' "
            "AND id <= %s ORDER BY random() LIMIT %s",
            [workspace.pk, cb.meta_get("seed")["max_id"], PLANTED_GROUPS],
        )
        emails = [r[0] for r in cur.fetchall()]
    planted = []
    for start in range(0, len(emails), BATCH):
        items = [{"name": "Twin", "email": e, "city": rng.choice(("Austin", "Paris"))} for e in emails[start:start + BATCH]]
        results = contact_services.contacts_batch(workspace=workspace, actor=actor, action="create", items=items)
        check(all(r.status == "created" for r in results), "planting duplicates failed")
        planted += [r.id for r in results]
    return planted


def timed_get(client, url, params=None):
    t0 = time.perf_counter()
    response = client.get(url, params or {})
    return (time.perf_counter() - t0) * 1000, response


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--contacts", type=int, default=1_000_000, help="contacts of the seed (contacts_bench.py)")
    parser.add_argument("--repeat", type=int, default=7, help="batches and imports timed (each on fresh rows)")
    parser.add_argument("--get-repeat", type=int, default=30, help="timed calls of each duplicates case")
    parser.add_argument("--replay-repeat", type=int, default=100, help="timed replays of the keyed batch")
    args = parser.parse_args()
    if not settings.DATABASES["default"]["ENGINE"].endswith("postgresql"):
        raise SystemExit("batch_bench needs DATABASE_URL=postgres://... (a scratch database)")
    cb.check_phone_generators()
    cb.restore_pending_ddl()
    call_command("migrate", verbosity=0)
    fx = cb.Fixtures()
    cb.restore_snapshot()
    state, reused = cb.ensure_seed(fx, args.contacts, args.contacts // 10, False)
    cb.log("seed: " + ("reused" if reused else f"{state['seconds']} s"))
    workspace = fx.workspace
    with connection.cursor() as cur:
        cur.execute("SELECT count(*) FROM contacts_duplicatekey WHERE workspace_id = %s", [workspace.pk])
        if not cur.fetchone()[0]:  # a seed made before the key table existed
            cb.log("filling contacts_duplicatekey ...")
            from importlib import import_module

            cur.execute(import_module("contacts.migrations.0014_contact_merged_into_duplicate_keys").POSTGRES_REBUILD)
    admin = fx.admin
    actor = Actor.member(admin, "admin")
    client = APIClient()
    client.credentials(HTTP_X_ACCESS_TOKEN=fx.admin_token)
    rng = random.Random(15)
    nonce = uuid.uuid4().hex[:8]
    cb.log("picking the rows to update ...")
    wanted = BATCH // 2 * (2 * (args.repeat + 1) + 1)  # warm-ups, timed batches and imports, the keyed batch
    existing = existing_rows(workspace.pk, wanted)
    check(len(existing) == wanted, "the seed has too few contacts with external ids")
    cb.snapshot_rows([pk for pk, _ in existing])
    cb.log(f"timing {args.repeat} batches and imports of {BATCH:,} rows ...")
    batch_ms, pipeline_ms = [], []
    try:
        cb._clear_throttle()
        # warm-up (temp tables, tags, plans), not timed
        chunks = [existing[i:i + BATCH // 2] for i in range(0, len(existing), BATCH // 2)]
        run_batch(client, make_rows(rng, f"{nonce}w", chunks.pop()), workspace)
        run_pipeline(workspace, actor, make_rows(rng, f"{nonce}v", chunks.pop()))
        for i in range(args.repeat):
            batch_ms.append(run_batch(client, make_rows(rng, f"{nonce}b{i}", chunks.pop()), workspace))
            pipeline_ms.append(run_pipeline(workspace, actor, make_rows(rng, f"{nonce}p{i}", chunks.pop())))

        cb.log(f"timing {args.replay_repeat} replays of a keyed batch ...")
        replay_ms = run_replays(client, make_rows(rng, f"{nonce}k", chunks.pop()), workspace, args.replay_repeat)

        cb.log("planting duplicate groups ...")
        planted = plant_duplicates(workspace, actor, rng)
        cb.log("timing the duplicates endpoints ...")
        first_ms, deeper_ms, one_ms = [], [], []
        for _ in range(args.get_repeat):
            elapsed, response = timed_get(client, "/v1/crm/contacts/duplicates", {"limit": 25})
            check(response.status_code == 200, f"duplicates answered {response.status_code}")
            page = response.json()
            check(len(page["data"]) == 25 and page["paginationInfo"]["hasNextPage"],
                  f"the first page of groups has {len(page['data'])} groups")
            check(all(len(g["contacts"]) >= 2 for g in page["data"]), "a group with fewer than two contacts")
            first_ms.append(elapsed)
        cursor = page["paginationInfo"]["nextCursor"]
        for _ in range(args.get_repeat):
            elapsed, response = timed_get(client, "/v1/crm/contacts/duplicates", {"limit": 25, "cursor": cursor})
            check(response.status_code == 200 and response.json()["data"], "a further page of groups is empty")
            deeper_ms.append(elapsed)
            cursor = response.json()["paginationInfo"]["nextCursor"] or ""
        for pk in rng.sample(planted, args.get_repeat):
            elapsed, response = timed_get(client, f"/v1/crm/contacts/{pk}/duplicates")
            check(response.status_code == 200, f"duplicates of {pk} answered {response.status_code}")
            check(any("email" in row["reasons"] for row in response.json()["data"]),
                  f"contact {pk}'s planted twin was not found")
            one_ms.append(elapsed)
    finally:
        cb._cleanup_previous_runs(state["max_id"])
        cb.restore_snapshot()

    b50, b95 = stats(batch_ms)
    p50, p95 = stats(pipeline_ms)
    ratio = b50 / p50
    g50, g95 = stats(first_ms)
    d50, d95 = stats(deeper_ms)
    o50, o95 = stats(one_ms)
    r50, r95 = stats(replay_ms)
    print(f"\nbatch_bench on {args.contacts:,} contacts (load {' '.join(f'{x:.1f}' for x in os.getloadavg())})")
    print(f"  batch upsert, {BATCH:,} items (half new)   p50 {b50:8.1f} ms  p95 {b95:8.1f} ms  ({args.repeat} runs)")
    print(f"  import pipeline, same rows in-process  p50 {p50:8.1f} ms  p95 {p95:8.1f} ms")
    print(f"  batch / pipeline (p50)                 {ratio:8.2f}x    target <= {RATIO_TARGET}x "
          f"{'OK' if ratio <= RATIO_TARGET else 'MISSED'}")
    print(f"  the same batch replayed with its key   p50 {r50:8.1f} ms  p95 {r95:8.1f} ms  target p50 < "
          f"{REPLAY_TARGET_MS:.0f} ms {'OK' if r50 < REPLAY_TARGET_MS else 'MISSED'}")
    print(f"  GET /contacts/duplicates, first page   p50 {g50:8.1f} ms  p95 {g95:8.1f} ms  target p95 < "
          f"{GROUPS_TARGET_MS:.0f} ms {'OK' if g95 < GROUPS_TARGET_MS else 'MISSED'}")
    print(f"  GET /contacts/duplicates, next pages   p50 {d50:8.1f} ms  p95 {d95:8.1f} ms")
    print(f"  GET /contacts/{{id}}/duplicates          p50 {o50:8.1f} ms  p95 {o95:8.1f} ms")
    if ratio > RATIO_TARGET or g95 >= GROUPS_TARGET_MS or r50 >= REPLAY_TARGET_MS:
        sys.exit(2)


if __name__ == "__main__":
    main()
