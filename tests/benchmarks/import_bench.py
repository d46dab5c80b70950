"""Import benchmark (not collected by pytest): a seeded CSV of N contacts
(default 1,000,000) validated, then imported through a real worker, compared
with a plain COPY of the same rows into the same contacts table.

    DATABASE_URL=postgres://... CELERY_BROKER_URL=redis://... SECRET_KEY=x \\
        .venv/bin/python tests/benchmarks/import_bench.py [N]

Prints: validate time, import time (upload to `succeeded`) on the
production worker command of docs/operations.md (`celery -A config worker
--concurrency 2`: Celery's default prefork pool, 2 processes for this
machine's 2 cores), the worker's peak memory (its whole process tree: main
process, pool children, validation processes), the COPY time, and a second
line with two such worker processes. It checks each job first (status
succeeded, created + updated + skipped = the file's rows) and exits 1
before printing any ratio otherwise.
The database is migrated first; the benchmark's contacts and files are
deleted at the end. Run it on a database of its own: the figures depend on
the size of the contacts table (its indexes should fit in memory) and on
what else runs on the machine (validation and PostgreSQL share its cores).
"""
import csv
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
import unicodedata
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

FIRST = ["James", "Mary", "Robert", "Patricia", "John", "Jennifer", "Michael", "Linda", "David", "Elizabeth", "Aarav",
         "Priya", "Mohammed", "Fatima", "Lucas", "Sofía", "Hugo", "Léa", "Lukas", "Anna", "Wei", "Yuki", "Olga", "Zoë"]
LAST = ["Smith", "Johnson", "Williams", "Brown", "Jones", "García", "Müller", "Martin", "Sharma", "Khan", "Silva",
        "Rossi", "Dubois", "Nowak", "Kowalski", "O'Brien", "Nguyen", "Tanaka", "Ivanova", "Fernández"]
CITIES = [("New York", "United States"), ("London", "United Kingdom"), ("Mumbai", "India"), ("Paris", "France"),
          ("Berlin", "Germany"), ("São Paulo", "Brazil"), ("Dubai", "United Arab Emirates"), ("Madrid", "Spain")]
REGIONS = ["US", "GB", "IN", "FR", "DE", "BR", "AE", "ES"]
TAGS = ["vip", "newsletter", "lead", "customer", "partner", "churned", "trial", "enterprise"]
HEADER = ["externalClientId", "name", "surname", "email", "phone", "city", "country", "tags"]


def _ascii(text: str) -> str:
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()


def generate(path: Path, n: int, seed: int = 42) -> None:
    import phonenumbers
    from phonenumbers import PhoneNumberFormat, PhoneNumberType

    rnd = random.Random(seed)
    bases = []
    for region in REGIONS:
        number = phonenumbers.example_number_for_type(region, PhoneNumberType.MOBILE)
        bases.append(phonenumbers.format_number(number, PhoneNumberFormat.E164))
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(HEADER)
        for i in range(n):
            first, last = rnd.choice(FIRST), rnd.choice(LAST)
            k = rnd.randrange(len(REGIONS))
            city, country = CITIES[k]
            phone = bases[k][:-5] + f"{rnd.randrange(100000):05d}"
            roll = rnd.random()
            if roll < 0.03:
                phone = phone[:6]  # ~3% invalid phones
            email = _ascii(f"{first}.{last}{i}@example.com".lower().replace("'", ""))
            if 0.03 <= roll < 0.035:
                email = email.replace("@", " at ")  # and some invalid emails
            tags = ";".join(rnd.sample(TAGS, rnd.randrange(3)))
            writer.writerow([f"ext-{i:08d}", first, last, email, phone, city, country, tags])


class PeakMemory:
    """Peak proportional set size (Pss) of a process tree, sampled."""

    def __init__(self, pid):
        self.pid, self.peak = pid, 0

    def _tree(self, pid):
        pids = [pid]
        try:
            for task in os.listdir(f"/proc/{pid}/task"):
                with open(f"/proc/{pid}/task/{task}/children") as f:
                    for child in f.read().split():
                        pids.extend(self._tree(int(child)))
        except OSError:
            pass
        return pids

    def sample(self):
        total = 0
        for pid in self._tree(self.pid):
            try:
                # Pss: pages shared with the forked validation processes count once in total.
                with open(f"/proc/{pid}/smaps_rollup") as f:
                    for line in f:
                        if line.startswith("Pss:"):
                            total += int(line.split()[1]) * 1024
            except OSError:
                pass
        self.peak = max(self.peak, total)


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
    import django

    subprocess.run([sys.executable, str(ROOT / "manage.py"), "migrate", "-v", "0"], check=True, cwd=ROOT)
    django.setup()
    from django.conf import settings
    from django.core.files import File
    from django.db import connection, transaction

    from contacts.models import Contact
    from crm import services as crm_services
    from crm.actors import Actor
    from crm.models import Membership
    from imports import services
    from imports.models import ImportFile, ImportJob

    SYSTEM = Actor.system("benchmark")

    workdir = Path(tempfile.mkdtemp(prefix="import-bench-"))
    path = workdir / "contacts.csv"
    t = time.monotonic()
    generate(path, n)
    print(f"rows: {n:,}  file: {path.stat().st_size / 1e6:.1f} MB  (generated in {time.monotonic() - t:.1f} s)")

    suffix = uuid.uuid4().hex[:6]
    workspace = crm_services.workspace_create(actor=SYSTEM, name=f"bench {suffix}", slug=f"bench-{suffix}")
    user = crm_services.user_get_or_create(email=f"bench-{suffix}@example.com", password=None)
    crm_services.membership_set(workspace=workspace, actor=SYSTEM, user=user, role=Membership.Role.ADMIN)
    actor = Actor.member(user, Membership.Role.ADMIN)
    queue = f"bench-imports-{suffix}"
    settings.IMPORT_QUEUE = queue

    # -- validate (what POST /imports/validate runs) --------------------------
    with path.open("rb") as f:
        stored = services.import_file_upload(workspace=workspace, actor=actor, uploaded=File(f, name="c.csv"))
    t = time.monotonic()
    result = services.import_validate(workspace=workspace, actor=actor, file_name=stored.file_name)
    validate_s = time.monotonic() - t
    print(f"validate: {validate_s:.1f} s  ({result['total_rows']:,} rows: {result['valid_rows']:,} valid, "
          f"{result['invalid_rows']:,} invalid)")

    # -- import through real workers, as docs/operations.md runs them ---------
    def import_once(workers: int):
        """Upload to `succeeded` on `workers` production worker processes
        (`celery -A config worker --concurrency 2`, prefork), into a fresh
        workspace; returns (seconds, peak memory of the workers' trees, job)."""
        ws = crm_services.workspace_create(actor=SYSTEM, name=f"bench {suffix} {workers}", slug=f"bench-{suffix}-{workers}")
        crm_services.membership_set(workspace=ws, actor=SYSTEM, user=user, role=Membership.Role.ADMIN)
        workspaces.append(ws)
        env = {**os.environ, "CONN_MAX_AGE": "0", "IMPORT_QUEUE": queue}
        procs = [subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "config", "worker", "--loglevel", "WARNING", "--concurrency", "2",
             "-n", f"bench{i}-{suffix}@%h", "-Q", queue],
            env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT, start_new_session=True,
        ) for i in range(workers)]
        memories = [PeakMemory(p.pid) for p in procs]
        try:
            time.sleep(5)  # the workers are up and idle
            t = time.monotonic()
            with path.open("rb") as f:
                stored = services.import_file_upload(workspace=ws, actor=actor, uploaded=File(f, name="c.csv"))
            job = services.import_job_create(workspace=ws, actor=actor, file_name=stored.file_name, skip_errors=True)
            peak = 0
            while True:
                for m in memories:
                    m.sample()
                peak = max(peak, sum(m.peak for m in memories))
                job.refresh_from_db()
                if job.status not in ImportJob.ACTIVE:
                    break
                time.sleep(0.2)
            return time.monotonic() - t, peak, job
        finally:
            for p in procs:
                try:
                    os.killpg(p.pid, signal.SIGTERM)
                    p.wait(timeout=30)
                except (ProcessLookupError, subprocess.TimeoutExpired):
                    os.killpg(p.pid, signal.SIGKILL)
                    p.wait()

    def check(job, label):
        """The outcome first: a ratio of a failed or partial job means nothing."""
        total = job.created + job.updated + job.skipped
        print(f"import ({label}): status {job.status}: {job.created:,} created, {job.updated:,} updated, "
              f"{job.skipped:,} skipped {job.message}")
        if job.status != ImportJob.Status.SUCCEEDED or total != n:
            print(f"FAILED: the job {job.pk} is {job.status} with created+updated+skipped = {total:,}, "
                  f"not the file's {n:,} rows", file=sys.stderr)
            sys.exit(1)

    workspaces = []
    import_s, peak, job = import_once(1)
    check(job, "1 worker")
    import2_s, peak2, job2 = import_once(2)
    check(job2, "2 workers")

    # -- COPY of the same rows into the same table, for comparison -----------
    columns = ["workspace_id", "external_client_id", "name", "surname", "email", "phone", "city", "country"]
    other = crm_services.workspace_create(actor=SYSTEM, name=f"bench copy {suffix}", slug=f"bench-copy-{suffix}")
    # Every other column of the table with the value a new contact gets (the
    # table grows columns over time: the baseline names them all).
    from django.utils import timezone

    now = timezone.now()
    extra, constants = [], []
    for f in Contact._meta.concrete_fields:
        if f.primary_key or f.column in columns:
            continue
        value = now if f.attname in ("created_at", "updated_at") else f.get_default()
        if isinstance(value, (list, dict)):
            import json

            value = json.dumps(value)
        extra.append(f.column)
        constants.append(value)
    # The baseline loads the rows for good, as the import does: the COPY and its
    # commit, which runs the deferred foreign-key check of each row's workspace
    # (the import's rows carry five such keys). Both parts are printed.
    t = time.monotonic()
    with transaction.atomic():
        with connection.cursor() as cursor:
            raw = cursor.cursor
            with raw.copy(f"COPY {Contact._meta.db_table} ({', '.join(columns + extra)}) FROM STDIN") as copy, \
                    path.open(newline="", encoding="utf-8") as f:
                reader = csv.reader(f)
                next(reader)
                for ext, name, surname, email, phone, city, country, _tags in reader:
                    copy.write_row([other.pk, ext, name, surname, email, phone, city, country, *constants])
        copied_s = time.monotonic() - t
    copy_s = time.monotonic() - t
    print(f"COPY of the same rows: {copy_s:.1f} s (the COPY statement {copied_s:.1f} s, its commit "
          f"{copy_s - copied_s:.1f} s)")
    print(f"1 worker  (celery -A config worker --concurrency 2): validate {validate_s:.1f} s = "
          f"{validate_s / copy_s:.2f}x COPY (target <= 0.5), import {import_s:.1f} s = {import_s / copy_s:.2f}x COPY "
          f"(target <= 1.5), worker tree peak memory {peak / 1e6:.0f} MB (target < 500)")
    print(f"2 workers (two such processes): import {import2_s:.1f} s = {import2_s / copy_s:.2f}x COPY, "
          f"peak memory of both trees {peak2 / 1e6:.0f} MB")

    # -- clean up: the benchmark's contacts and files -------------------------
    with connection.cursor() as cursor:
        ids = [workspace.pk, other.pk, *(ws.pk for ws in workspaces)]
        cursor.execute("DELETE FROM contacts_contacttag WHERE contact_id IN "
                       "(SELECT id FROM contacts_contact WHERE workspace_id = ANY(%s))", [ids])
        cursor.execute("DELETE FROM contacts_contact WHERE workspace_id = ANY(%s)", [ids])
        cursor.execute("VACUUM ANALYZE contacts_contact")
        cursor.execute("VACUUM ANALYZE contacts_contactsearch")
    for ws in [workspace, *workspaces]:
        for import_file in ImportFile.objects.filter(workspace=ws):
            services.import_file_delete(workspace=ws, actor=SYSTEM, import_file=import_file)
    path.unlink()


if __name__ == "__main__":
    main()
