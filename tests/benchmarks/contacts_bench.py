#!/usr/bin/env python
"""Contacts API benchmark (issue 4, "Speed"): seeds a workspace of N contacts
in a real database and prints server-side p50/p95 of repeated API calls.

    SECRET_KEY=x DATABASE_URL=postgres://postgres@127.0.0.1:5432/crm_bench \\
        .venv/bin/python tests/benchmarks/contacts_bench.py [--contacts N] [--repeat R]

DATABASE_URL must be a scratch database of its own: the script migrates it,
TRUNCATEs the contacts tables when it (re)seeds and leaves the data there for
the next run (reused unless --reseed or N changed). Requests go through DRF's
APIClient in this process (full middleware, token auth, rendering), so the
figures are server time without network or WSGI server. See README.md.
"""
import argparse
import base64
import gc
import io
import json
import os
import platform
import queue
import random
import re
import sys
import threading
import time
import types
from datetime import date, datetime, timedelta
from datetime import timezone as dt_timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
# The rate limits (per token and per workspace) would answer 429 to a
# throughput loop; the cache is also cleared before every case (_clear_throttle).
os.environ.setdefault("API_RATE_LIMIT", "10000000/min")
os.environ.setdefault("API_WORKSPACE_RATE_LIMIT", "10000000/min")

import django  # noqa: E402

django.setup()

import phonenumbers  # noqa: E402
from django.conf import settings  # noqa: E402
from django.core.cache import cache  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection, connections, transaction  # noqa: E402
from django.http import JsonResponse  # noqa: E402
from django.test.utils import CaptureQueriesContext, override_settings  # noqa: E402
from django.urls import path  # noqa: E402
from django.utils import timezone  # noqa: E402
from rest_framework.test import APIClient  # noqa: E402

from contacts import services as contact_services  # noqa: E402
from contacts.models import Contact, CustomFieldDefinition  # noqa: E402
from crm import services as crm_services  # noqa: E402
from crm.actors import Actor  # noqa: E402
from crm.authentication import ApiTokenAuthentication  # noqa: E402
from crm.models import ApiToken, Membership  # noqa: E402
from labels.models import ContactLabel  # noqa: E402
from tags.models import Tag  # noqa: E402

SYSTEM = Actor.system("benchmark")
BASE = "/v1/crm/contacts"
NULL = "\\N"  # COPY text format
WORKSPACE_NAME = "Contacts Bench"
OTHER_WORKSPACE_NAME = "Contacts Bench Other"
LIST_TARGET_MS = 50.0
SEARCH_URL = "/v1/crm/contacts/search"
SEARCH_TARGET_MS = 100.0
EQUALITY_TARGET_MS = 50.0
BATCH_TARGET_MS = 200.0
API_TO_PLAIN_TARGET = 0.80
PAGES_PER_DEPTH = 8
CURSOR_FLAT_RATIO = 1.5  # deepest cursor page p50 at most this times the shallowest

FIRST_NAMES = (
    "James Mary Robert Patricia John Jennifer Michael Linda David Elizabeth William Barbara Richard Susan Joseph "
    "Jessica Thomas Sarah Carlos Maria Ana Luis Sofia Mateo Lucia Hans Anna Lukas Lea Pierre Camille Hugo Chloe "
    "Arjun Priya Rahul Ananya Vikram Kavya Joao Beatriz Pedro Julia Olivia Noah Emma Liam Ava Ethan Mia"
).split()
LAST_NAMES = (
    "Smith Johnson Williams Brown Jones Garcia Miller Davis Rodriguez Martinez Hernandez Lopez Gonzalez Wilson "
    "Anderson Thomas Taylor Moore Jackson Martin Lee Perez Thompson White Harris Sanchez Clark Ramirez Lewis "
    "Robinson Muller Schmidt Schneider Fischer Weber Dubois Moreau Laurent Sharma Patel Singh Kumar Gupta Silva "
    "Santos Oliveira Souza Costa Pereira Nguyen"
).split()
DOMAINS = "gmail.com yahoo.com outlook.com hotmail.com icloud.com example.com acme.io globex.com initech.net".split()
TITLES = ("", "", "", "CEO", "CTO", "Sales Manager", "Engineer", "Buyer", "Director", "Consultant")
STREETS = "Main St|Oak Ave|Park Rd|High St|Station Rd|Rue de la Paix|Hauptstrasse|MG Road|Rua Augusta|Gran Via".split("|")
# (country, calling code, cities, weight, phone prefixes, random digits after
# the prefix). Every prefix + digits is a valid number for phonenumbers
# (checked at startup).
COUNTRIES = (
    ("United States", "+1", ("New York", "San Francisco", "Chicago", "Austin", "Miami", "Seattle"), 35,
     tuple(f"+1{area}{d}" for area in (212, 415, 312, 512, 305, 206, 646, 617) for d in range(2, 10)), 6),
    ("United Kingdom", "+44", ("London", "Manchester", "Leeds", "Bristol"), 12,
     ("+447400", "+447500", "+447800", "+447900"), 6),
    ("Germany", "+49", ("Berlin", "Munich", "Hamburg", "Cologne"), 10,
     ("+49151", "+49160", "+49170", "+49171", "+49176"), 8),
    ("India", "+91", ("Mumbai", "Delhi", "Bengaluru", "Chennai", "Pune"), 18, ("+919", "+918", "+917", "+916"), 9),
    ("Brazil", "+55", ("Sao Paulo", "Rio de Janeiro", "Belo Horizonte"), 10, ("+55119", "+55219", "+55319"), 8),
    ("France", "+33", ("Paris", "Lyon", "Marseille"), 8, ("+3361", "+3362", "+3367", "+3375", "+3378"), 7),
    ("Spain", "+34", ("Madrid", "Barcelona", "Valencia"), 7, ("+346",), 8),
)
STAGE_WEIGHTS = (40, 25, 15, 10, 6, 3, 1)  # the last stage is the rare one
# (shortName, type, options) of the custom fields the seed fills
CUSTOM_FIELDS = (("score", "number", ()), ("tier", "dropdown", ("Gold", "Silver", "Bronze", "Platinum")),
                 ("renewal", "date", ()))
TIER_WEIGHTS = (20, 30, 45, 5)
SEED_FORMAT = 2  # 2: custom fields seeded (search cases)
CLIENT_TAGS = 20


# -- output helpers -------------------------------------------------------------
def log(*args):
    print(*args, file=sys.stderr, flush=True)


def fmt_ms(value):
    return "-" if value is None else (f"{value:.1f}" if value < 100 else f"{value:.0f}")


def percentile(values, q):
    ordered = sorted(values)
    if not ordered:
        return None
    k = (len(ordered) - 1) * q
    lo, hi = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


# -- bookkeeping table in the bench database ----------------------------------------
def meta_get(key):
    with connection.cursor() as cur:
        cur.execute("CREATE TABLE IF NOT EXISTS bench_meta (key text PRIMARY KEY, value jsonb NOT NULL)")
        cur.execute("SELECT value FROM bench_meta WHERE key = %s", [key])
        row = cur.fetchone()
    if row is None:
        return None
    return json.loads(row[0]) if isinstance(row[0], str) else row[0]


def meta_set(key, value):
    with connection.cursor() as cur:
        cur.execute("CREATE TABLE IF NOT EXISTS bench_meta (key text PRIMARY KEY, value jsonb NOT NULL)")
        if value is None:
            cur.execute("DELETE FROM bench_meta WHERE key = %s", [key])
        else:
            cur.execute(
                "INSERT INTO bench_meta (key, value) VALUES (%s, %s) ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value",
                [key, json.dumps(value)],
            )


def restore_pending_ddl():
    """Indexes dropped by a seed that did not finish are put back before anything else."""
    pending = meta_get("pending_ddl") or []
    if not pending:
        return
    log(f"restoring {len(pending)} indexes/constraints left dropped by an interrupted seed ...")
    for item in pending:
        if not _relation_exists(item["name"]):
            with connection.cursor() as cur:
                cur.execute(item["create"])
    meta_set("pending_ddl", None)


def _relation_exists(name):
    with connection.cursor() as cur:
        cur.execute("SELECT to_regclass(%s) IS NOT NULL", [f'public."{name}"'])
        return cur.fetchone()[0]


# -- workspace fixtures -------------------------------------------------------------
class Fixtures:
    """Workspace, members, labels, tags and tokens the seed and the calls use."""

    def __init__(self):
        self.workspace, _ = crm_services.workspace_get_or_create(actor=SYSTEM, name=WORKSPACE_NAME)
        self.other, _ = crm_services.workspace_get_or_create(actor=SYSTEM, name=OTHER_WORKSPACE_NAME)
        users = []
        for i in range(10):
            user = crm_services.user_get_or_create(email=f"bench-user{i}@example.com", first_name="Bench", last_name=f"User{i}")
            crm_services.membership_set(
                workspace=self.workspace, actor=SYSTEM, user=user, role=Membership.Role.ADMIN if i == 0 else Membership.Role.MEMBER
            )
            users.append(user)
        self.admin, self.members = users[0], users[1:]
        self.user_ids = [u.pk for u in users]
        for i, (name, color) in enumerate((("Customer", "green"), ("Partner", "blue"), ("Churned", "grey"), ("VIP", "gold"))):
            ContactLabel.objects.get_or_create(
                workspace=self.workspace, name=name, defaults={"color": color, "icon": "star", "owner": self.admin}
            )
        self.label_ids = list(ContactLabel.objects.filter(workspace=self.workspace).order_by("id").values_list("id", flat=True))
        self.other_label_ids = list(ContactLabel.objects.filter(workspace=self.other).values_list("id", flat=True))
        self.tags = []  # (id, name) by decreasing popularity
        for i in range(CLIENT_TAGS):
            tag, _ = Tag.objects.get_or_create(
                workspace=self.workspace, type=Tag.Type.CLIENT, tag=f"segment-{i:02d}", defaults={"order": i}
            )
            self.tags.append((tag.pk, tag.tag))
        for i, name in enumerate(("newsletter", "whatsapp-optin")):
            tag, _ = Tag.objects.get_or_create(workspace=self.workspace, type=Tag.Type.COMMON, tag=name, defaults={"order": 100 + i})
            self.tags.append((tag.pk, tag.tag))
        self.stage_ids = []
        for i, name in enumerate(("New", "Contacted", "Qualified", "Proposal", "Negotiation", "Won", "Lost")):
            tag, _ = Tag.objects.get_or_create(
                workspace=self.workspace, type=Tag.Type.CLIENT_STAGE, tag=name, defaults={"order": i}
            )
            self.stage_ids.append(tag.pk)
        # Custom fields the seed fills (score on 80% of contacts, tier on 60%, renewal on 50%).
        self.custom = {}
        for short_name, kind, options in CUSTOM_FIELDS:
            definition = CustomFieldDefinition.objects.filter(workspace=self.workspace, short_name=short_name).first()
            if definition is None:
                definition = contact_services.custom_field_create(
                    workspace=self.workspace, actor=SYSTEM, label=short_name, type=kind, options=options)
            self.custom[short_name] = definition.code
        self.admin_token = self._token(self.admin)
        self.member_token = self._token(self.members[0])

    def _token(self, user):
        token, plaintext = crm_services.token_create(workspace=self.workspace, actor=SYSTEM, user=user, name="bench")
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=timezone.now())
        return plaintext


# -- seeding ---------------------------------------------------------------------------
def _fixed_columns(model, generated):
    """The model's columns the generator does not write, with their defaults
    as COPY text (so a column added later does not break the seed)."""
    columns, values = [], []
    for field in model._meta.concrete_fields:
        if field.column in generated:
            continue
        default = field.get_default()
        if default is None and not field.null:
            raise SystemExit(f"contacts_bench: no value for NOT NULL column {field.column}; add it to _chunk()")
        columns.append(field.column)
        values.append(_copy_text(field, default))
    return columns, values


def _copy_text(field, value):
    if value is None:
        return NULL
    if field.get_internal_type() == "JSONField":
        return json.dumps(value)
    if isinstance(value, bool):
        return "t" if value else "f"
    return str(value)


class Seeder:
    def __init__(self, fx: Fixtures, n: int, other: int, seed: int = 42):
        self.fx, self.n, self.other = fx, n, other
        self.rng = random.Random(seed)
        self.now = time.time()

    def run(self):
        t0 = time.perf_counter()
        with connection.cursor() as cur:
            cur.execute(
                "TRUNCATE contacts_contact, contacts_contacttag, contacts_contact_sub_owners, contacts_contactfieldvalue "
                "RESTART IDENTITY CASCADE"
            )
        restore_pending_ddl()  # on empty tables: instant
        tables = ("contacts_contact", "contacts_contacttag", "contacts_contact_sub_owners", "contacts_contactsearch",
                  "contacts_duplicatekey", "contacts_contactfieldvalue")
        ddl = self._droppable(tables)
        meta_set("pending_ddl", [{"name": d["name"], "create": d["create"]} for d in ddl])
        with connection.cursor() as cur:
            for d in ddl:
                cur.execute(d["drop"])
        t_drop = time.perf_counter()
        counts = self._copy()
        t_copy = time.perf_counter()
        timings = self._rebuild(ddl)
        meta_set("pending_ddl", None)
        t_index = time.perf_counter()
        with connection.cursor() as cur:
            for table in tables:
                cur.execute(f"VACUUM (ANALYZE) {table}")
            cur.execute(
                "SELECT setval(pg_get_serial_sequence('contacts_contact', 'id'), (SELECT max(id) FROM contacts_contact))"
            )
        t_end = time.perf_counter()
        return {
            "seconds": round(t_end - t0, 1),
            "copy_seconds": round(t_copy - t_drop, 1),
            "index_seconds": round(t_index - t_copy, 1),
            "vacuum_analyze_seconds": round(t_end - t_index, 1),
            "rows": counts,
            "indexes_rebuilt": len(ddl),
            "slowest_indexes": dict(sorted(timings.items(), key=lambda kv: -kv[1])[:4]),
        }

    @staticmethod
    def _droppable(tables):
        """Every index but the primary keys, as (drop, create) statements: COPY
        into an unindexed table and one build per index beats maintaining ~25
        indexes row by row (random key order)."""
        out = []
        with connection.cursor() as cur:
            for table in tables:
                cur.execute(
                    """
                    SELECT i.relname, pg_get_indexdef(i.oid), c.conname, pg_get_constraintdef(c.oid), c.contype
                    FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid
                    LEFT JOIN pg_constraint c ON c.conindid = x.indexrelid AND c.conrelid = x.indrelid
                    WHERE x.indrelid = %s::regclass AND NOT x.indisprimary
                    """,
                    [table],
                )
                for name, indexdef, conname, condef, contype in cur.fetchall():
                    if conname:
                        if contype not in ("u",):
                            continue
                        out.append({
                            "name": name,
                            "drop": f'ALTER TABLE {table} DROP CONSTRAINT "{conname}"',
                            "create": f'ALTER TABLE {table} ADD CONSTRAINT "{conname}" {condef}',
                        })
                    else:
                        out.append({"name": name, "drop": f'DROP INDEX "{name}"', "create": indexdef})
        # Longest builds first so the two workers finish together.
        out.sort(key=lambda d: (" gin " not in d["create"].lower(), "lower(" not in d["create"]))
        return out

    @staticmethod
    def _rebuild(ddl):
        jobs = queue.Queue()
        for d in ddl:
            jobs.put(d)
        errors, timings = [], {}

        def worker():
            try:
                with connections["default"].cursor() as cur:
                    cur.execute("SET maintenance_work_mem = '1GB'")
                    cur.execute("SET max_parallel_maintenance_workers = 0")
                    while True:
                        try:
                            d = jobs.get_nowait()
                        except queue.Empty:
                            return
                        t0 = time.perf_counter()
                        cur.execute(d["create"])
                        timings[d["name"]] = round(time.perf_counter() - t0, 1)
            except Exception as exc:  # reported below, the seed is then incomplete
                errors.append(exc)
            finally:
                connections["default"].close()

        threads = [threading.Thread(target=worker) for _ in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        if errors:
            raise errors[0]
        return timings

    # -- rows ------------------------------------------------------------------------
    def _copy(self):
        total = self.n + self.other
        other_ids = set(self.rng.sample(range(1, total + 1), self.other)) if self.other else set()
        raw = connection.connection  # psycopg 3 connection
        counts = {"contacts": total}
        fixed_columns, fixed_values = _fixed_columns(Contact, GEN_COLUMNS)
        columns = ", ".join(GEN_COLUMNS + fixed_columns)
        suffix = "".join("\t" + v for v in fixed_values) + "\n"
        tag_rows, sub_owner_rows = [], []
        with raw.cursor() as cur:
            # Generated ids are valid by construction: skip the per-row FK triggers.
            cur.execute("SET session_replication_role = replica")
            cur.execute("SET synchronous_commit = off")
            with raw.transaction():
                with cur.copy(f"COPY contacts_contact ({columns}) FROM STDIN") as copy:
                    for start in range(1, total + 1, 20_000):
                        stop = min(start + 20_000, total + 1)
                        copy.write(self._chunk(start, stop, other_ids, suffix, tag_rows, sub_owner_rows))
                with cur.copy("COPY contacts_contacttag (contact_id, tag_id) FROM STDIN") as copy:
                    for start in range(0, len(tag_rows), 100_000):
                        copy.write("".join(tag_rows[start : start + 100_000]))
                counts["contact_tags"] = len(tag_rows)
                with cur.copy("COPY contacts_contact_sub_owners (contact_id, user_id) FROM STDIN") as copy:
                    copy.write("".join(sub_owner_rows))
                counts["sub_owners"] = len(sub_owner_rows)
                # The replica role skipped the insert trigger too: fill the search table as it would.
                cur.execute(
                    "INSERT INTO contacts_contactsearch (contact_id, document) "
                    "SELECT id, contacts_search_document(name, surname, email, phone, code) FROM contacts_contact"
                )
                counts["search_rows"] = cur.rowcount
                # ... and the duplicate keys (migration 0014's triggers), grouped in one statement
                cur.execute(
                    "INSERT INTO contacts_duplicatekey (workspace_id, kind, value, contacts) "
                    "SELECT k.workspace_id, k.kind, k.value, count(*) FROM contacts_contact c, "
                    "contacts_duplicate_keys(c.workspace_id, c.email, c.phone, c.external_client_id, c.deleted_at) k "
                    "GROUP BY 1, 2, 3"
                )
                counts["duplicate_keys"] = cur.rowcount
                # ... and the custom field values table (migration 0010's triggers)
                cur.execute(
                    "INSERT INTO contacts_contactfieldvalue (contact_id, workspace_id, code, text, number) "
                    "SELECT c.id, c.workspace_id, e.key, e.value #>> '{}', contacts_field_number(e.value) "
                    "FROM contacts_contact c, jsonb_each(c.custom_fields) e WHERE c.custom_fields <> '{}'::jsonb"
                )
                counts["custom_field_values"] = cur.rowcount
            cur.execute("RESET session_replication_role")
            cur.execute("RESET synchronous_commit")
        return counts

    def _tables(self):
        """Lookup tables indexed by 10 random bits (weighted choices), and 4096
        person templates: a row then costs four getrandbits calls."""
        if hasattr(self, "_lut"):
            return self._lut
        rng, fx = self.rng, self.fx

        def lut(values, weights):
            return rng.choices(values, weights=weights, k=1024)

        templates = []
        for _ in range(4096):
            country, calling_code, cities, _, prefixes, digits = rng.choices(COUNTRIES, weights=COUNTRY_WEIGHTS)[0]
            first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
            templates.append((
                first, last, f"{first.lower()}.{last.lower()}", "@" + rng.choice(DOMAINS), country, calling_code,
                rng.choice(cities), rng.choice(prefixes), 10**digits, digits, rng.choice(TITLES),
                f"{rng.randint(1, 999)} {rng.choice(STREETS)}", f"{last} {rng.choice(('Ltd', 'GmbH', 'Inc', 'SA'))}",
            ))
        users = [str(u) for u in fx.user_ids]
        tag_ids = [str(t[0]) for t in fx.tags]
        self._lut = {
            "templates": templates,
            "visibility": lut(("public", "team", "private"), (85, 10, 5)),
            "owner": lut(users + [NULL], [9] * len(users) + [10]),
            "label": lut([str(i) for i in fx.label_ids], [30] + [10] * (len(fx.label_ids) - 1)),
            "other_label": lut([str(i) for i in fx.other_label_ids], [1] * len(fx.other_label_ids)),
            "stage": lut([str(i) for i in fx.stage_ids] + [NULL], [w * 0.7 for w in STAGE_WEIGHTS] + [30]),
            "agent": lut(users + [NULL], [2] * len(users) + [80]),
            "tag_count": lut((0, 1, 2, 3), (40, 30, 20, 10)),
            "tag": lut(tag_ids, TAG_WEIGHTS),
            "sub_owner": lut(users[1:], [1] * (len(users) - 1)),
            "days": {},
            "tier": lut(("Gold", "Silver", "Bronze", "Platinum"), TIER_WEIGHTS),
        }
        return self._lut

    def _ts(self, epoch):
        day, second = divmod(int(epoch), 86400)
        days = self._lut["days"]
        text = days.get(day)
        if text is None:
            text = days[day] = datetime.fromtimestamp(day * 86400, dt_timezone.utc).strftime("%Y-%m-%d ")
        return f"{text}{second // 3600:02d}:{second // 60 % 60:02d}:{second % 60:02d}+00"

    def _chunk(self, start, stop, other_ids, suffix, tag_rows, sub_owner_rows):
        lut = self._tables()
        templates, visibility_lut, owner_lut = lut["templates"], lut["visibility"], lut["owner"]
        label_lut, other_label_lut, stage_lut, agent_lut = lut["label"], lut["other_label"], lut["stage"], lut["agent"]
        tag_count_lut, tag_lut, sub_owner_lut = lut["tag_count"], lut["tag"], lut["sub_owner"]
        bits = self.rng.getrandbits
        ts = self._ts
        now = int(self.now)
        span = 730 * 86400
        ws, other_ws, admin = str(self.fx.workspace.pk), str(self.fx.other.pk), str(self.fx.admin.pk)
        out = []
        score_code, tier_code, renewal_code = (self.fx.custom[name] for name, _, _ in CUSTOM_FIELDS)
        tier_lut = lut["tier"]
        renewal_base = date(2026, 1, 1).toordinal()
        for cid in range(start, stop):
            r1, r2, r3, r4, r5 = bits(64), bits(64), bits(64), bits(64), bits(64)
            if in_other_ws := cid in other_ids:
                custom = "{}"
            else:
                parts = []
                if r5 & 1023 < 819:
                    parts.append(f'"{score_code}": {(r5 >> 10) % 1000}')
                if (r5 >> 20) & 1023 < 614:
                    parts.append(f'"{tier_code}": "{tier_lut[(r5 >> 30) & 1023]}"')
                if (r5 >> 40) & 1023 < 512:
                    day = date.fromordinal(renewal_base + (r5 >> 50) % 730).isoformat()
                    parts.append(f'"{renewal_code}": "{day}"')
                custom = "{" + ", ".join(parts) + "}"
            (first, last, email_local, domain, country, calling_code, city, prefix, modulo, digits, title, address,
             company) = templates[r1 & 4095]
            organization = (r1 >> 12) & 1023 < 51
            archived = (r1 >> 22) & 1023 < 20
            visibility = visibility_lut[(r1 >> 32) & 1023]
            email = "" if (r1 >> 42) & 1023 < 82 else f"{email_local}{cid}{domain}"
            phone = "" if (r1 >> 52) & 1023 < 51 else f"{prefix}{r2 % modulo:0{digits}d}"
            secondary = f"{prefix}{(r2 >> 30) % modulo:0{digits}d}" if (r2 >> 60) < 2 else ""
            created = now - (r3 & 0x3FFFFFF) % span
            # Recent edits are more frequent than old ones.
            u = ((r3 >> 26) & 1023) / 1024
            updated = created + int((now - created) * (1 - u * u * u))
            updated_text = ts(updated)
            in_other = in_other_ws
            if in_other:
                owner, label, stage, agent = NULL, other_label_lut[(r3 >> 36) & 1023], NULL, NULL
            else:
                owner, label = owner_lut[(r3 >> 36) & 1023], label_lut[(r3 >> 46) & 1023]
                stage, agent = stage_lut[r4 & 1023], agent_lut[(r4 >> 10) & 1023]
                count = tag_count_lut[(r4 >> 20) & 1023]
                if count:
                    picked = {tag_lut[(r4 >> (30 + 10 * i)) & 1023] for i in range(count)}
                    tag_rows.extend(f"{cid}\t{t}\n" for t in picked)
                if visibility != "public" and (r2 >> 40) & 1023 < 307:
                    sub_owner_rows.append(f"{cid}\t{sub_owner_lut[(r2 >> 50) & 1023]}\n")
            out.append(
                f"{cid}\t{other_ws if in_other else ws}\t{ts(created)}\t{updated_text}\t"
                f"{'organization' if organization else 'person'}\t{company if organization else first}\t"
                f"{'' if organization else last}\t{email}\t{calling_code if (r4 >> 60) < 10 else ''}\t{phone}\t"
                f"{secondary}\t{address}\t{city}\t{country}\tC-{cid:07d}\t{title}\t"
                f"{f'EXT{cid:09d}' if (r3 >> 56) < 154 else NULL}\t{visibility}\t"
                f"{'t' if (r2 >> 30) & 127 == 0 else 'f'}\t{updated_text if archived else NULL}\t"
                f"{'SYSTEM' if archived else ''}\t{1 + (r4 >> 56) % 5}\t{admin}\t"
                f"{admin if owner == NULL else owner}\t{owner}\t{label}\t{stage}\t{agent}\t\\N\t{custom}"
                + suffix
            )
        return "".join(out)


COUNTRY_WEIGHTS = [c[3] for c in COUNTRIES]
# Zipf-like popularity; the two common tags are in between.
TAG_WEIGHTS = [1 / (i + 1) ** 1.5 for i in range(CLIENT_TAGS)] + [0.2, 0.1]
# The columns _chunk() writes, in its order; the model's other columns get their defaults.
GEN_COLUMNS = [
    "id", "workspace_id", "created_at", "updated_at", "type", "name", "surname", "email", "country_code", "phone",
    "secondary_phone", "address", "city", "country", "code", "title", "external_client_id", "visibility_type",
    "disabled", "deleted_at", "archived_by", "version", "created_by_id", "updated_by_id", "owner_id", "label_id",
    "stage_id", "default_agent_id", "organization_id", "custom_fields",
]


def check_phone_generators():
    rng = random.Random(7)
    for country, _, _, _, prefixes, digits in COUNTRIES:
        sample = [f"{rng.choice(prefixes)}{rng.randrange(10**digits):0{digits}d}" for _ in range(300)]
        bad = [p for p in sample if not phonenumbers.is_valid_number(phonenumbers.parse(p))]
        if len(bad) > 15:
            raise SystemExit(f"contacts_bench: {country} phones are often invalid, e.g. {bad[:3]}")


def ensure_seed(fx, n, other, reseed):
    state = meta_get("seed")
    ws_count = None
    if state and not reseed and state.get("format") == SEED_FORMAT and state.get("n") == n and state.get("other") == other and state.get("workspace_id") == fx.workspace.pk:
        ws_count = Contact.objects.filter(workspace=fx.workspace, pk__lte=state["max_id"]).count()
        if ws_count == n:
            _cleanup_previous_runs(state["max_id"])
            return state, True
    log(f"seeding {n:,} contacts (+{other:,} in another workspace) ...")
    meta_set("seed", None)
    result = Seeder(fx, n, other).run()
    state = {
        "n": n, "other": other, "workspace_id": fx.workspace.pk, "max_id": n + other, "format": SEED_FORMAT,
        "seeded_at": timezone.now().isoformat(timespec="seconds"), **result,
    }
    meta_set("seed", state)
    return state, False


SNAPSHOT_TABLES = (
    ("contacts_contact", "id", "bench_snap_contact"),
    ("contacts_contacttag", "contact_id", "bench_snap_contacttag"),
    ("contacts_contact_sub_owners", "contact_id", "bench_snap_sub_owners"),
)


def snapshot_rows(ids):
    """Copies the rows the write cases will change, so restore_snapshot()
    puts them back and every run measures the same data (stage and tag
    counts, updated_at spread)."""
    with connection.cursor() as cur:
        for table, key, snap in SNAPSHOT_TABLES:
            cur.execute(f"DROP TABLE IF EXISTS {snap}")
            cur.execute(f"CREATE TABLE {snap} AS SELECT * FROM {table} WHERE {key} = ANY(%s)", [list(ids)])


def restore_snapshot():
    if not _relation_exists("bench_snap_contact"):
        return
    t0 = time.perf_counter()
    columns = [f.column for f in Contact._meta.concrete_fields if f.column != "id"]
    assignments = ", ".join(f'"{c}" = s."{c}"' for c in columns)
    with transaction.atomic(), connection.cursor() as cur:
        cur.execute(f"UPDATE contacts_contact c SET {assignments} FROM bench_snap_contact s WHERE c.id = s.id")
        for table, key, snap in SNAPSHOT_TABLES[1:]:
            cur.execute(f"DELETE FROM {table} WHERE {key} IN (SELECT id FROM bench_snap_contact)")
            cur.execute(f"INSERT INTO {table} SELECT * FROM {snap}")
        for _, _, snap in SNAPSHOT_TABLES:
            cur.execute(f"DROP TABLE {snap}")
    with connection.cursor() as cur:
        # Dead rows and stale statistics would skew the next run's plans and estimates.
        for table, _, _ in SNAPSHOT_TABLES:
            cur.execute(f"VACUUM (ANALYZE) {table}")
    log(f"restored the rows the write cases changed ({time.perf_counter() - t0:.1f} s)")


def _cleanup_previous_runs(max_id):
    """Contacts the upsert case created in an earlier run go, so runs compare."""
    with connection.cursor() as cur:
        cur.execute("DELETE FROM contacts_contacttag WHERE contact_id > %s", [max_id])
        cur.execute("DELETE FROM contacts_contact_sub_owners WHERE contact_id > %s", [max_id])
        cur.execute("DELETE FROM contacts_contact WHERE id > %s", [max_id])


# -- the plain view the retrieve is compared with --------------------------------------

def plain_contact(request, pk):
    """What DESIGN measured as "a plain Django view returning .values() as JSON"."""
    row = Contact.objects.filter(workspace_id=BENCH_STATE["workspace_id"], pk=pk).values().first()
    if row is None:
        return JsonResponse({"detail": "Not found."}, status=404)
    return JsonResponse(row)


def plain_contact_auth(request, pk):
    """The same with the API's token authentication (its one query), to compare like with like."""
    result = ApiTokenAuthentication().authenticate(request)
    if result is None:
        return JsonResponse({"detail": "Unauthorized."}, status=401)
    row = Contact.objects.filter(workspace_id=result[1].workspace_id, pk=pk).values().first()
    if row is None:
        return JsonResponse({"detail": "Not found."}, status=404)
    return JsonResponse(row)


BENCH_STATE = {}


def bench_urlconf():
    module = types.ModuleType("contacts_bench_urls")
    from config import urls as project_urls

    module.urlpatterns = [
        path("bench/plain/contacts/<int:pk>", plain_contact),
        path("bench/plain-auth/contacts/<int:pk>", plain_contact_auth),
        *project_urls.urlpatterns,
    ]
    for name in ("handler400", "handler403", "handler404", "handler500"):
        setattr(module, name, getattr(project_urls, name))
    sys.modules[module.__name__] = module
    return module.__name__


# -- measuring -------------------------------------------------------------------------
class Result:
    def __init__(self, name, group, target_ms=None, note=""):
        self.name, self.group, self.target_ms, self.note = name, group, target_ms, note
        self.status = None
        self.queries = None
        self.times = []
        self.problem = ""
        self.sql = []
        self.matched = ""

    @property
    def p50(self):
        return percentile(self.times, 0.5) if self.times else None

    @property
    def p95(self):
        return percentile(self.times, 0.95) if self.times else None

    @property
    def verdict(self):
        if self.problem:
            return "MISSING" if self.problem.startswith("endpoint") else "ERROR"
        if self.target_ms is None or self.p95 is None:
            return "info"
        return "PASS" if self.p95 < self.target_ms else "MISS"


def _clear_throttle():
    cache.clear()


def measure(result, call, repeat, check=None, warmup=2):
    """call(i) -> response. One warm-up call checks the status, one more under
    CaptureQueriesContext counts the queries (not timed), then `repeat` timed calls."""
    if not wanted(result.name):
        result.skipped = True
        return result
    _clear_throttle()
    response = call(-1)
    result.status = response.status_code
    if response.status_code in (404, 405) and _is_missing_route(response):
        result.problem = f"endpoint missing ({response.status_code})"
        return result
    if response.status_code >= 400:
        result.problem = f"HTTP {response.status_code}: {_snippet(response)}"
        return result
    body = _json(response)
    if isinstance(body, dict) and isinstance(body.get("paginationInfo"), dict):
        info = body["paginationInfo"]
        if "totalRecords" in info:
            result.matched = ("~" if info.get("totalRecordsIsEstimate") else "") + f"{info['totalRecords']:,}"
    elif isinstance(body, list):
        result.matched = f"{len(body):,}"
    problem = check(response) if check else None
    if problem:
        result.problem = problem
        return result
    for i in range(warmup - 1):
        call(-2 - i)
    with CaptureQueriesContext(connection) as ctx:
        call(-10)
    result.queries = len(ctx.captured_queries)
    result.sql = list(ctx.captured_queries)
    _clear_throttle()
    for i in range(repeat):
        t0 = time.perf_counter()
        response = call(i)
        result.times.append((time.perf_counter() - t0) * 1000)
        if response.status_code >= 400:
            result.problem = f"HTTP {response.status_code} on repeat {i}: {_snippet(response)}"
            break
    return result


def wanted(name):
    return ONLY is None or ONLY.search(name) is not None


ONLY = None  # --only regex


def _is_missing_route(response):
    """A 404 from the URL resolver (no route) rather than from a view (no object)."""
    return getattr(response, "resolver_match", None) is None or response.status_code == 405


def _snippet(response, size=160):
    try:
        body = response.content.decode()
    except Exception:
        body = repr(response.content[:size])
    return " ".join(body.split())[:size]


def _json(response):
    try:
        return response.json()
    except Exception:
        return None


def check_list(min_rows=1):
    def check(response):
        body = _json(response)
        if not isinstance(body, dict) or "data" not in body:
            return f"not a list envelope: {_snippet(response)}"
        if len(body["data"]) < min_rows:
            return f"expected at least {min_rows} rows, got {len(body['data'])}: the filter matched nothing"
        return None

    return check


class Bench:
    def __init__(self, fx, state, repeat, explain_mode, throughput_requests):
        self.fx, self.state, self.repeat = fx, state, repeat
        self.explain_mode = explain_mode
        self.throughput_requests = throughput_requests
        self.rng = random.Random(1234)
        self.admin = APIClient(raise_request_exception=False)
        self.admin.credentials(HTTP_X_ACCESS_TOKEN=fx.admin_token)
        self.member = APIClient(raise_request_exception=False)
        self.member.credentials(HTTP_X_ACCESS_TOKEN=fx.member_token)
        self.results = []
        self.extra_lines = []
        self.ws = fx.workspace
        self.max_id = state["max_id"]
        live = Contact.objects.filter(workspace=self.ws, pk__lte=self.max_id, deleted_at__isnull=True)
        self.live = live
        # A pool of live ids to draw from (random rows, not one hot row).
        self.id_pool = self._id_pool()
        self.run_tag = f"{int(time.time())}"

    def _id_pool(self, size=30_000):
        """Random live ids of the workspace (random rows, not one hot row)."""
        with connection.cursor() as cur:
            cur.execute(
                "SELECT id FROM contacts_contact TABLESAMPLE SYSTEM (%s) WHERE workspace_id = %s AND deleted_at IS NULL "
                "AND id <= %s",
                [min(100.0, 100.0 * size * 1.5 / max(self.state["n"], 1)), self.ws.pk, self.max_id],
            )
            ids = [r[0] for r in cur.fetchall()]
        self.rng.shuffle(ids)
        return ids[:size]

    def add(self, result):
        if getattr(result, "skipped", False):
            return result
        self.results.append(result)
        p = "" if not result.times else f"p50 {fmt_ms(result.p50)} ms, p95 {fmt_ms(result.p95)} ms"
        log(f"  {result.name:<44} {result.verdict:<7} {p} {result.problem}")
        return result

    def get(self, client, url, params=None):
        return lambda i: client.get(url, params or {})

    def case_get(self, name, params, target=LIST_TARGET_MS, client=None, min_rows=1, note="", url=BASE):
        result = Result(name, "list", target, note)
        return self.add(measure(result, self.get(client or self.admin, url, params), self.repeat, check_list(min_rows)))

    def case_post(self, name, body, target=SEARCH_TARGET_MS, min_rows=1, note="", url=SEARCH_URL, client=None):
        client = client or self.admin
        result = Result(name, "search", target, note)
        return self.add(measure(result, lambda i: client.post(url, body, format="json"), self.repeat,
                                check_list(min_rows)))

    def search_cases(self):
        """POST /contacts/search (issue 16): p95 under 100 ms, equalities under 50 ms."""
        fx, custom = self.fx, self.fx.custom

        def flt(field, operator, value):
            return {"field": field, "operator": operator, "value": value}

        popular_stage, popular_tag = fx.stage_ids[0], fx.tags[0][1]
        self.case_post("POST search: two OR'ed groups of two filters", {"filter_groups": [
            {"filters": [flt("stage", "eq", popular_stage), flt("tags", "has_any", [popular_tag])]},
            {"filters": [flt("label", "eq", fx.label_ids[1]), flt("city", "eq", "Berlin")]},
        ]})
        self.case_post("POST search: custom-field equality (tier = Platinum)",
                       {"filter_groups": [{"filters": [flt("tier", "eq", "Platinum")]}]}, target=EQUALITY_TARGET_MS)
        self.case_post("POST search: custom-field equality (score = 512, rare)",
                       {"filter_groups": [{"filters": [flt("score", "eq", 512)]}]}, target=EQUALITY_TARGET_MS)
        self.case_post("POST search: custom-field number range (score 100..150)",
                       {"filter_groups": [{"filters": [flt("score", "between", [100, 150])]}]})
        self.case_post("POST search: custom-field date range (renewal in a month)",
                       {"filter_groups": [{"filters": [flt("renewal", "between", ["2026-03-01", "2026-03-31"])]}]})
        self.case_post("POST search: tags has_all of two tags",
                       {"filter_groups": [{"filters": [flt("tags", "has_all", [fx.tags[0][1], fx.tags[1][1]])]}]})
        self.case_post("POST search: contains on name ('ann')",
                       {"filter_groups": [{"filters": [flt("name", "contains", "ann")]}]})
        self.case_post("POST search: sort by a custom field (-score)", {"sort": ["-score"]})
        self.case_post("POST search: sort by a custom field (tier) + filter",
                       {"sort": ["tier"], "filter_groups": [{"filters": [flt("stage", "eq", popular_stage)]}]})
        self.case_post("POST search: member token, custom-field equality",
                       {"filter_groups": [{"filters": [flt("tier", "eq", "Platinum")]}]}, target=EQUALITY_TARGET_MS,
                       client=self.member)
        # a deep keyset page of a custom-field sort: walk there for real, then time that page
        if wanted("POST search: sort by a custom field, cursor page"):
            body, cursor = {"sort": ["-score"], "limit": 100}, None
            for _ in range(50):
                response = self.admin.post(SEARCH_URL, {**body, "cursor": cursor}, format="json")
                cursor = response.json()["paginationInfo"]["nextCursor"] if response.status_code == 200 else None
                if cursor is None:
                    break
            if cursor is not None:
                self.case_post("POST search: sort by a custom field, cursor page 51", {**body, "cursor": cursor})

    # -- the cases ---------------------------------------------------------------------
    def run(self):
        log("measuring ...")
        n = self.state["n"]
        self.search_cases()
        self.case_get("first page (limit 25)", {})
        self.case_get("first page (limit 100)", {"limit": 100})
        self.case_get("first page, member token (visibility)", {}, client=self.member)
        deep_page = min(2000, max(2, n // 25 // 2))
        self.case_get(f"deep page by offset (page {deep_page})", {"page": deep_page})
        deeper = min(20_000, max(2, int(n * 0.5) // 25))
        if deeper > deep_page:
            self.case_get(f"deeper page by offset (page {deeper})", {"page": deeper}, target=None,
                          note="no target: deep scans belong to cursor mode")
        self.cursor_cases()

        sample = (
            self.live.exclude(email="").exclude(phone="").order_by("id")
            .values("id", "email", "phone", "name", "surname", "code")[n // 3 : n // 3 + 200]
        )
        sample = list(sample)
        row = sample[0]
        self.case_get("filter email", {"email": row["email"]})
        self.case_get("filter email (typed in upper case)", {"email": row["email"].upper()}, target=None,
                      note="case-insensitive match expected")
        us = next((r for r in sample if r["phone"].startswith("+1")), None)
        gb = next((r for r in sample if r["phone"].startswith("+44")), None)
        if us:
            typed = phonenumbers.format_number(phonenumbers.parse(us["phone"]), phonenumbers.PhoneNumberFormat.NATIONAL)
            self.case_get(f"filter phone (US typed '{typed}')", {"phone": typed}, note=f"stored {us['phone']}")
        if gb:
            typed = phonenumbers.format_number(phonenumbers.parse(gb["phone"]), phonenumbers.PhoneNumberFormat.INTERNATIONAL)
            self.case_get(f"filter phone (GB typed '{typed}')", {"phone": typed}, note=f"stored {gb['phone']}")
        self.tag_cases()
        popular_stage, rare_stage = self.fx.stage_ids[0], self.fx.stage_ids[-1]
        self.case_get("filter stage_id (most common stage)", {"stage_id": popular_stage})
        self.case_get("filter stage_id (rarest stage)", {"stage_id": rare_stage})
        self.case_get("search (common surname 'garcia')", {"search": "garcia"})
        self.case_get("search (rare: one email's local part)", {"search": row["email"].split("@")[0]})
        self.case_get("search (phone digits, 7)", {"search": row["phone"][-7:]})
        self.case_get("search (no match)", {"search": "zzqqxxyy"}, min_rows=0)
        now = timezone.now()
        self.case_get("updated_after (last 24 h)", {"updated_after": _iso(now - timedelta(days=1))})
        self.case_get("updated_after (last year)", {"updated_after": _iso(now - timedelta(days=365))})
        self.case_get("updated_after (epoch ms, last 7 days)",
                      {"updated_after": str(int((now - timedelta(days=7)).timestamp() * 1000))})
        self.case_get("combined: stage + tag + updated_after",
                      {"stage_id": popular_stage, "tags": self.fx.tags[0][1],
                       "updated_after": _iso(now - timedelta(days=90))})
        self.case_get("sort=name (first page)", {"sort": "name"})
        self.retrieve_case()
        self.multi_get_case()
        self.throughput()
        write_names = (
            "bulk update 1,000 random ids (label_id)",
            "bulk update 10,000 random ids (label_id)", "bulk update 10,000 consecutive ids (label_id)",
            "bulk update 10,000 random ids (stage+tags_add)", "upsert, existing contact (PUT /upsert)",
            "upsert, new contact (PUT /upsert)",
        )
        if not any(wanted(name) for name in write_names):
            return self._after_cases()
        self.write_pool = self.id_pool[: min(10_000, len(self.id_pool)) * 2]
        start = self.state["n"] // 4
        self.consecutive_ids = list(
            self.live.order_by("id").values_list("id", flat=True)[start : start + min(10_000, len(self.write_pool))]
        )
        self.existing_external_ids = self._existing_external_ids()
        snapshot_rows(
            set(self.write_pool) | set(self.consecutive_ids) | {pk for pk, _ in self.existing_external_ids}
        )
        try:
            self.bulk_update_case()
            self.upsert_cases()
        finally:
            restore_snapshot()
        self._after_cases()

    def _after_cases(self):
        if self.explain_mode != "none":
            self.explain()

    def tag_cases(self):
        # Filter by name (contacts show tags as strings); fall back to ids if the API wants those.
        tags = self.fx.tags
        popular, rare = tags[0], tags[CLIENT_TAGS - 1]
        probe = self.admin.get(BASE, {"tags": popular[1]})
        use_ids = probe.status_code == 400
        value = (lambda t: t[0]) if use_ids else (lambda t: t[1])
        how = "id" if use_ids else "name"
        self.case_get(f"filter tags (most common tag, by {how})", {"tags": value(popular)})
        self.case_get(f"filter tags (rarest tag, by {how})", {"tags": value(rare)})
        self.case_get(f"filter tags (any of two, by {how})", {"tags": [value(tags[3]), value(tags[10])]})

    def cursor_cases(self):
        # Walk for real from the start, then time one page at that position.
        if not wanted("cursor page"):
            return
        walk_pages, limit = 20, 100
        cursor, walked, walk_times, ok = "", 0, [], True
        for _ in range(walk_pages):
            t0 = time.perf_counter()
            response = self.admin.get(BASE, {"cursor": cursor, "limit": limit})
            walk_times.append((time.perf_counter() - t0) * 1000)
            body = _json(response)
            if response.status_code != 200 or not isinstance(body, dict):
                r = Result("cursor walk", "cursor")
                r.status = response.status_code
                r.problem = (
                    f"endpoint missing ({response.status_code})"
                    if response.status_code in (404, 405) and _is_missing_route(response)
                    else f"HTTP {response.status_code}: {_snippet(response)}"
                )
                self.add(r)
                return
            info = body.get("paginationInfo") or {}
            if not info.get("nextCursor"):
                ok = False
                break
            walked += len(body["data"])
            last_id = body["data"][-1].get("id")
            cursor = info["nextCursor"]
        self.extra_lines.append(
            f"cursor walk: {walk_pages} pages of {limit} from the start, p50 {fmt_ms(percentile(walk_times, .5))} ms, "
            f"max {fmt_ms(max(walk_times))} ms per page"
        )
        if not ok:
            self.extra_lines.append("cursor walk ended early (no nextCursor)")
        depth_cursors = [(walked, [cursor], "walked")]
        decoded = _decode_cursor(cursor)
        if decoded == [last_id]:
            # The cursor is the last row's id (ordering -id): build cursors at any depth, for
            # PAGES_PER_DEPTH consecutive pages each, timed in turn, so that a depth's figure
            # isn't one page's content (a page without sub-owners or persons runs fewer queries).
            n = self.state["n"]
            for depth in (0, 10_000, 100_000, 500_000, 900_000):
                if depth >= n * 0.95 or depth == walked:
                    continue
                ids = list(self.live.order_by("-id").values_list("id", flat=True)[
                    max(depth - 1, 0) : depth - 1 + 25 * PAGES_PER_DEPTH])
                before = ids[::25] if depth else [None] + ids[24::25]
                cursors = ["" if pk is None else _encode_cursor([pk]) for pk in before[:PAGES_PER_DEPTH]]
                depth_cursors.append((depth, cursors, "built"))
        else:
            self.extra_lines.append(f"cursor format is {decoded!r}, not [last id]: only the walked depth is timed")
        depth_cursors.sort()
        cursor_results = []
        for depth, cursors, how in depth_cursors:
            name = f"cursor page at row {depth:,}" + (" (walked there)" if how == "walked" else "")
            note = f"{len(cursors)} consecutive pages in turn" if len(cursors) > 1 else ""
            r = Result(name, "cursor", LIST_TARGET_MS, note)

            def call(i, cursors=cursors):
                return self.admin.get(BASE, {"cursor": cursors[i % len(cursors)], "limit": 25})

            cursor_results.append(self.add(measure(r, call, self.repeat, check_list())))
        p50s = [r.p50 for r in cursor_results if r.p50 is not None]  # in depth order
        if len(p50s) >= 2:
            # Growth with depth is what "flat" rules out; the spread of all depths also holds
            # noise of a few ms on ~10 ms pages, so it is shown, not judged.
            ratio = p50s[-1] / p50s[0]
            flat = ratio <= CURSOR_FLAT_RATIO and all(r.verdict == "PASS" for r in cursor_results)
            self.extra_lines.append(
                f"cursor pages flat at any depth: deepest/shallowest p50 = {ratio:.2f} (target <= {CURSOR_FLAT_RATIO}) "
                f"-> {'PASS' if flat else 'MISS'}; slowest/fastest of all depths {max(p50s) / min(p50s):.2f}"
            )

    def retrieve_case(self):
        pool = self.id_pool
        r = Result("retrieve GET /contacts/{id}", "list", LIST_TARGET_MS)
        self.add(measure(r, lambda i: self.admin.get(f"{BASE}/{pool[i % len(pool)]}"), self.repeat))

    def multi_get_case(self):
        pool = self.id_pool

        def call(i):
            ids = self.rng.sample(pool, 1000)
            return self.admin.post(f"{BASE}/multiple", {"contact_ids": ids}, format="json")

        def check(response):
            body = _json(response)
            if not isinstance(body, list):
                return f"expected a bare array: {_snippet(response)}"
            if len(body) != 1000:
                return f"expected 1000 contacts, got {len(body)}"
            return None

        r = Result("multi-get 1,000 ids (POST /multiple)", "batch", BATCH_TARGET_MS)
        self.add(measure(r, call, self.repeat, check))

    def bulk_update_case(self):
        pool, consecutive = self.write_pool, self.consecutive_ids
        labels = self.fx.label_ids
        size = min(10_000, len(pool))

        def check(response):
            body = _json(response)
            if not isinstance(body, dict) or body.get("updated") != size:
                return f"expected {{'updated': {size}}}: {_snippet(response)}"
            return None

        def by_label(ids_for):
            return lambda i: self.admin.patch(
                BASE, {"ids": ids_for(i), "label_id": labels[i % len(labels)]}, format="json"
            )

        repeat = max(5, self.repeat // 3)
        small = min(1_000, len(pool))
        r = Result(f"bulk update {small:,} random ids (label_id)", "batch", BATCH_TARGET_MS,
                   note="a tenth of the target's size: where the time goes with the count")

        def check_small(response):
            body = _json(response)
            return None if isinstance(body, dict) and body.get("updated") == small else f"{_snippet(response)}"

        self.add(measure(r, by_label(lambda i: self.rng.sample(pool, small)), repeat, check_small))
        r = Result(f"bulk update {size:,} random ids (label_id)", "batch", BATCH_TARGET_MS)
        self.add(measure(r, by_label(lambda i: self.rng.sample(pool, size)), repeat, check))
        r = Result(f"bulk update {size:,} consecutive ids (label_id)", "batch", BATCH_TARGET_MS,
                   note="one id range: fewer pages touched")
        self.add(measure(r, by_label(lambda i: consecutive), repeat, check))

        def call_tags(i):
            ids = self.rng.sample(pool, size)
            body = {"ids": ids, "stage_id": self.fx.stage_ids[i % 3], "tags_add": [self.fx.tags[-1][1]]}
            return self.admin.patch(BASE, body, format="json")

        r = Result(f"bulk update {size:,} random ids (stage+tags_add)", "batch", BATCH_TARGET_MS)
        self.add(measure(r, call_tags, repeat, check))

    def _existing_external_ids(self):
        with connection.cursor() as cur:
            cur.execute(
                "SELECT id, external_client_id FROM contacts_contact WHERE workspace_id = %s AND id <= %s "
                "AND external_client_id IS NOT NULL AND deleted_at IS NULL ORDER BY id LIMIT 500 OFFSET %s",
                [self.ws.pk, self.max_id, self.state["n"] // 2],
            )
            return cur.fetchall()

    def upsert_cases(self):
        existing = [external_id for _, external_id in self.existing_external_ids]
        rng = random.Random(99)

        def body(external_id, i):
            country, calling_code, cities, _, prefixes, digits = COUNTRIES[i % len(COUNTRIES)]
            phone = f"{rng.choice(prefixes)}{rng.randrange(10**digits):0{digits}d}"
            return {
                "external_client_id": external_id, "name": rng.choice(FIRST_NAMES), "surname": rng.choice(LAST_NAMES),
                "email": f"upsert{i}.{self.run_tag}@example.com", "phone": phone, "city": rng.choice(cities),
                "country": country, "tags": [self.fx.tags[i % 5][1]], "stage_id": self.fx.stage_ids[i % 3],
                "label_id": self.fx.label_ids[i % len(self.fx.label_ids)],
            }

        def expect(status):
            return lambda response: None if response.status_code == status else (
                f"expected {status}, got {response.status_code}: {_snippet(response)}"
            )

        r = Result("upsert, existing contact (PUT /upsert)", "write", LIST_TARGET_MS,
                   note="no stated target; shown against 50 ms")
        self.add(measure(r, lambda i: self.admin.put(f"{BASE}/upsert", body(existing[i % len(existing)], i),
                                                     format="json"), self.repeat, expect(200)))
        r = Result("upsert, new contact (PUT /upsert)", "write", LIST_TARGET_MS,
                   note="no stated target; shown against 50 ms")
        self.add(measure(r, lambda i: self.admin.put(
            f"{BASE}/upsert", body(f"bench-new-{self.run_tag}-{i + 100}", i), format="json"), self.repeat, expect(201)))

    def throughput(self):
        """Sequential requests/s in this process: the API retrieve vs a plain
        view; rounds interleave so drift hits both alike."""
        if not wanted("retrieve throughput"):
            return
        pool = self.id_pool
        kinds = {
            "api": lambda pk: self.admin.get(f"{BASE}/{pk}"),
            "plain": lambda pk: self.admin.get(f"/bench/plain/contacts/{pk}"),
            "plain_auth": lambda pk: self.admin.get(f"/bench/plain-auth/contacts/{pk}"),
        }
        queries, statuses = {}, {}
        for kind, fn in kinds.items():
            response = fn(pool[0])
            statuses[kind] = response.status_code
            with CaptureQueriesContext(connection) as ctx:
                fn(pool[1])
            queries[kind] = len(ctx.captured_queries)
        if statuses["api"] != 200:
            self.extra_lines.append(f"retrieve throughput: API retrieve answered {statuses['api']}; skipped")
            self.throughput_result = None
            return
        best = {kind: 0.0 for kind in kinds}
        k = self.throughput_requests
        for round_ in range(3):
            for kind, fn in kinds.items():
                _clear_throttle()
                ids = pool[round_ * k : (round_ + 1) * k] or pool[:k]
                t0 = time.perf_counter()
                for pk in ids:
                    fn(pk)
                rps = len(ids) / (time.perf_counter() - t0)
                best[kind] = max(best[kind], rps)
        self.throughput_result = {"rps": best, "queries": queries}

    def profile(self, requests=300):
        """cProfile of the retrieve and of a first page: where the API's time goes."""
        import cProfile
        import pstats

        pool = self.id_pool
        self.profiles = []
        for label, fn in (
            ("API retrieve", lambda i: self.admin.get(f"{BASE}/{pool[i % len(pool)]}")),
            ("plain view retrieve", lambda i: self.admin.get(f"/bench/plain/contacts/{pool[i % len(pool)]}")),
            ("first page (limit 25)", lambda i: self.admin.get(BASE)),
            ("multi-get 1,000 ids", lambda i: self.admin.post(
                f"{BASE}/multiple", {"contact_ids": pool[i * 1000 % len(pool):][:1000]}, format="json")),
        ):
            _clear_throttle()
            count = requests // 10 if label.startswith("multi-get") else requests
            profiler = cProfile.Profile()
            profiler.enable()
            for i in range(count):
                fn(i)
            profiler.disable()
            text = io.StringIO()
            stats = pstats.Stats(profiler, stream=text)
            stats.sort_stats("cumulative").print_stats(30)
            stats.sort_stats("tottime").print_stats(20)
            self.profiles.append((f"{label}, {count} requests", text.getvalue()))

    # -- EXPLAIN of the slow cases ---------------------------------------------------
    def explain(self):
        chosen = [r for r in self.results if r.sql and (self.explain_mode == "all" or r.verdict == "MISS")]
        self.explains = []
        for r in chosen:
            slow = sorted(r.sql, key=lambda q: float(q["time"]), reverse=True)[:2]
            for q in slow:
                if float(q["time"]) * 1000 < 2 and self.explain_mode != "all":
                    continue
                sql = q["sql"]
                if not sql.lstrip().upper().startswith(("SELECT", "UPDATE", "INSERT", "DELETE", "WITH")):
                    continue
                try:
                    with transaction.atomic():
                        with connection.cursor() as cur:
                            cur.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql.replace("%", "%%"))
                            plan = [row[0] for row in cur.fetchall()]
                        transaction.set_rollback(True)
                except Exception as exc:
                    plan = [f"(EXPLAIN failed: {exc})"]
                self.explains.append((r.name, float(q["time"]) * 1000, sql, plan))


def _clip(text, size):
    return text if len(text) <= size else text[:size] + " ..."


def _iso(dt):
    return dt.astimezone(dt_timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _decode_cursor(raw):
    try:
        return json.loads(base64.urlsafe_b64decode((raw + "=" * (-len(raw) % 4)).encode()))
    except Exception:
        return None


def _encode_cursor(values):
    # The same encoding as crm.pagination.PagePagination._encode.
    return base64.urlsafe_b64encode(json.dumps(values, default=str).encode()).decode().rstrip("=")


# -- report ---------------------------------------------------------------------------
def report(bench, state, reused, args):
    out = []
    with connection.cursor() as cur:
        cur.execute("SHOW server_version")
        pg = cur.fetchone()[0]
        cur.execute("SELECT pg_size_pretty(pg_total_relation_size('contacts_contact'))")
        size = cur.fetchone()[0]
        cur.execute(
            "SELECT string_agg(name || '=' || current_setting(name), ', ' ORDER BY name) FROM pg_settings "
            "WHERE name IN ('shared_buffers', 'max_wal_size', 'jit', 'random_page_cost', 'work_mem', "
            "'wal_compression', 'effective_cache_size')"
        )
        pg_settings = cur.fetchone()[0]
    out.append(
        f"Contacts API benchmark: N={state['n']:,} contacts in the measured workspace "
        f"(+{state['other']:,} in another), repeat={args.repeat}, PostgreSQL {pg.split()[0]}, "
        f"{os.cpu_count()} CPUs, Python {platform.python_version()}, contacts table {size} with indexes"
    )
    out.append(f"PostgreSQL settings: {pg_settings}")
    rows = state.get("rows", {})
    seed_line = (
        f"seed: {state['seconds']} s for {rows.get('contacts', 0):,} contacts + {rows.get('contact_tags', 0):,} "
        f"contact tags + {rows.get('sub_owners', 0):,} sub-owners (generate+COPY {state['copy_seconds']} s, "
        f"{state['indexes_rebuilt']} indexes rebuilt {state['index_seconds']} s, VACUUM ANALYZE "
        f"{state['vacuum_analyze_seconds']} s)"
    )
    if state.get("slowest_indexes"):
        seed_line += "; slowest index builds (2 in parallel): " + ", ".join(
            f"{name} {secs} s" for name, secs in state["slowest_indexes"].items()
        )
    out.append(("reused the seed of " + state["seeded_at"] + "; " if reused else "") + seed_line)
    load = " ".join(f"{x:.1f}" for x in os.getloadavg())
    out.append(
        "server-side ms through APIClient in-process (token auth, middleware, rendering); q = SQL queries per "
        f"call; load average at the end {load} ({BENCH_STATE.get('load_start', '?')} at the start)"
    )
    out.append(
        "matched = the list's totalRecords (~: the API's estimate beyond its count cap); bulk update cases "
        f"repeat {max(5, args.repeat // 3)} times"
    )
    out.append("")
    header = f"{'case':<48} {'HTTP':>4} {'q':>3} {'matched':>9} {'p50 ms':>8} {'p95 ms':>8}  {'target':<11} result"
    out.append(header)
    out.append("-" * len(header))
    for r in bench.results:
        target = f"p95 < {r.target_ms:.0f}" if r.target_ms else "-"
        q = "-" if r.queries is None else str(r.queries)
        line = (
            f"{r.name[:48]:<48} {r.status or '-':>4} {q:>3} {r.matched or '-':>9} {fmt_ms(r.p50):>8} "
            f"{fmt_ms(r.p95):>8}  {target:<11} {r.verdict}"
        )
        extra = r.problem or r.note
        if extra:
            line += f"  ({extra})"
        out.append(line)
    out.append("")
    out.extend(bench.extra_lines)
    tp = getattr(bench, "throughput_result", None)
    if tp:
        rps, q = tp["rps"], tp["queries"]
        ratio = rps["api"] / rps["plain"]
        ratio_auth = rps["api"] / rps["plain_auth"]
        out.append(
            f"retrieve throughput (sequential, best of 3 x {args.throughput_requests} requests): "
            f"API GET /contacts/{{id}} {rps['api']:,.0f} req/s (q={q['api']}); plain view .values() "
            f"{rps['plain']:,.0f} req/s (q={q['plain']}); plain view + token auth {rps['plain_auth']:,.0f} req/s "
            f"(q={q['plain_auth']})"
        )
        out.append(
            f"API / plain view = {ratio:.0%} (target >= {API_TO_PLAIN_TARGET:.0%}) -> "
            f"{'PASS' if ratio >= API_TO_PLAIN_TARGET else 'MISS'}; API / plain view with the same auth = "
            f"{ratio_auth:.0%} -> {'PASS' if ratio_auth >= API_TO_PLAIN_TARGET else 'MISS'}"
        )
    counts = {}
    for r in bench.results:
        counts[r.verdict] = counts.get(r.verdict, 0) + 1
    out.append("verdicts: " + ", ".join(f"{k} {v}" for k, v in sorted(counts.items())))
    print("\n".join(out), flush=True)
    if args.queries:
        for r in bench.results:
            if not r.sql:
                continue
            print(f"\n--- queries of: {r.name}")
            for q in r.sql:
                print(f"  {float(q['time']) * 1000:7.1f} ms  {_clip(q['sql'], 400)}")
    for label, text in getattr(bench, "profiles", []):
        print(f"\n--- profile: {label}\n{text}")
    for name, ms, sql, plan in getattr(bench, "explains", []):
        print(f"\n--- EXPLAIN ANALYZE: {name} (query took {ms:.1f} ms in the request)")
        print(_clip(sql, 1200))
        print("\n".join(_clip(line, 240) for line in plan[:45]) + ("\n ..." if len(plan) > 45 else ""))


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--contacts", type=int, default=1_000_000, help="contacts in the measured workspace")
    parser.add_argument("--other", type=int, default=None,
                        help="contacts of another workspace mixed in (default N/10: tenancy must filter them out)")
    parser.add_argument("--repeat", type=int, default=30, help="timed calls per case")
    parser.add_argument("--reseed", action="store_true", help="seed again even if the database holds this N")
    parser.add_argument("--seed-only", action="store_true", help="seed and stop")
    parser.add_argument("--throughput-requests", type=int, default=400, help="requests per throughput round")
    parser.add_argument("--only", help="run only the cases whose name matches this regex")
    parser.add_argument("--queries", action="store_true", help="print every case's SQL with its time")
    parser.add_argument("--profile", action="store_true", help="cProfile the retrieve (API and plain) and a list page")
    parser.add_argument("--only-profile", action="store_true", help="skip the cases, just profile")
    parser.add_argument("--explain", choices=("miss", "all", "none"), default="miss",
                        help="EXPLAIN ANALYZE the slowest queries of missed cases (or all cases)")
    args = parser.parse_args()
    if not settings.DATABASES["default"]["ENGINE"].endswith("postgresql"):
        raise SystemExit("contacts_bench needs DATABASE_URL=postgres://... (a scratch database)")
    other = args.contacts // 10 if args.other is None else args.other
    global ONLY
    ONLY = re.compile(args.only, re.I) if args.only else None
    check_phone_generators()
    restore_pending_ddl()
    t0 = time.perf_counter()
    call_command("migrate", verbosity=0)
    log(f"migrated in {time.perf_counter() - t0:.1f} s")
    fx = Fixtures()
    restore_snapshot()  # a run interrupted during its write cases
    state, reused = ensure_seed(fx, args.contacts, other, args.reseed)
    log("seed: " + ("reused" if reused else f"{state['seconds']} s"))
    if args.seed_only:
        return
    BENCH_STATE["workspace_id"] = fx.workspace.pk
    gc.freeze()  # as config/wsgi.py does once the application is loaded
    BENCH_STATE["load_start"] = " ".join(f"{x:.1f}" for x in os.getloadavg())
    with override_settings(ROOT_URLCONF=bench_urlconf(), DEBUG=False):
        bench = Bench(fx, state, args.repeat, args.explain, args.throughput_requests)
        if not args.only_profile:
            bench.run()
        if args.profile or args.only_profile:
            bench.profile()
    report(bench, state, reused, args)


if __name__ == "__main__":
    main()
