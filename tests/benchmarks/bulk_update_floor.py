"""Where the time of a 10,000-contact bulk update goes, in PostgreSQL alone.

Runs the UPDATE that `PATCH /v1/crm/contacts` sends for 10,000 random
contacts of contacts_bench.py's seeded workspace, in variants that each run
in a transaction that is rolled back (a VACUUM clears the dead rows between
runs), and prints the median time of the statement and of the deferred
foreign-key checks its commit would run:

    SECRET_KEY=x DATABASE_URL=postgres://postgres@127.0.0.1:5432/crm_bench \\
        .venv/bin/python tests/benchmarks/contacts_bench.py --seed-only
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/crm_bench \\
        .venv/bin/python tests/benchmarks/bulk_update_floor.py [--repeat 3] [--ids 10000]

The variants drop indexes inside their transaction: run it on the scratch
benchmark database only, with nothing else using it.
"""
import argparse
import os
import statistics
import time

import psycopg

API_SET = "label_id = %(label)s, version = version + 1, updated_at = now(), updated_by_id = %(user)s"
VERSION_SET = "version = version + 1"
# The indexes a bulk update's own columns need (label_id, owner_id, stage_id, updated_at).
BULK_COLUMN_INDEXES = {"contact_label_idx", "contact_owner_idx", "contact_stage_idx", "contact_updated_idx"}

VARIANTS = (
    ("as the API (label, version, updated_at, updated_by), all indexes", API_SET, None),
    ("version only: no indexed column changes, but full pages leave no room for HOT", VERSION_SET, None),
    ("as the API, with only the primary key and the bulk-updated columns' 4 indexes", API_SET, BULK_COLUMN_INDEXES),
    ("as the API, with only the primary key", API_SET, set()),
)


def secondary_indexes(cur) -> tuple[list[str], list[str]]:
    cur.execute(
        """
        SELECT i.relname, c.conname FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid
        LEFT JOIN pg_constraint c ON c.conindid = x.indexrelid
        WHERE x.indrelid = 'contacts_contact'::regclass AND NOT x.indisprimary ORDER BY 1
        """
    )
    rows = cur.fetchall()
    return [name for name, con in rows if con is None], [con for _, con in rows if con is not None]


def run(conn, ws, user, set_clause, keep, count) -> tuple[float, float]:
    with conn.cursor() as cur:
        cur.execute("BEGIN")
        if keep is not None:
            indexes, constraints = secondary_indexes(cur)
            for constraint in constraints:
                cur.execute(f"ALTER TABLE contacts_contact DROP CONSTRAINT {constraint}")
            dropped = [name for name in indexes if name not in keep]
            if dropped:
                cur.execute(f"DROP INDEX {', '.join(dropped)}")
        cur.execute(
            "SELECT array_agg(id) FROM (SELECT id FROM contacts_contact WHERE workspace_id = %s"
            " ORDER BY random() LIMIT %s) s",
            [ws, count],
        )
        ids = cur.fetchone()[0]
        cur.execute("SELECT id FROM labels_contactlabel WHERE workspace_id = %s ORDER BY id DESC LIMIT 1",
                    [ws])
        label = cur.fetchone()[0]
        t0 = time.perf_counter()
        cur.execute(
            f"UPDATE contacts_contact SET {set_clause} WHERE id = ANY(%(ids)s) AND workspace_id = %(ws)s",
            {"ids": ids, "ws": ws, "label": label, "user": user},
        )
        t1 = time.perf_counter()
        cur.execute("SET CONSTRAINTS ALL IMMEDIATE")  # the foreign-key checks COMMIT would run
        t2 = time.perf_counter()
        cur.execute("ROLLBACK")
    conn.execute("VACUUM contacts_contact")
    return (t1 - t0) * 1000, (t2 - t1) * 1000


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--ids", type=int, default=10_000)
    args = parser.parse_args()
    conn = psycopg.connect(os.environ["DATABASE_URL"], autocommit=True)
    row = conn.execute(
        "SELECT w.id, m.user_id FROM crm_workspace w JOIN crm_membership m ON m.workspace_id = w.id"
        " WHERE w.name = 'Contacts Bench' ORDER BY m.id LIMIT 1"
    ).fetchone()
    if row is None:
        raise SystemExit("no seeded workspace: run contacts_bench.py --seed-only on this database first")
    ws, user = row
    indexes, constraints = secondary_indexes(conn.cursor())
    print(f"contacts_contact: primary key + {len(indexes) + len(constraints)} secondary indexes; "
          f"UPDATE of {args.ids:,} random contacts, median of {args.repeat}, rolled back")
    run(conn, ws, user, API_SET, None, args.ids)  # warm-up
    for label, set_clause, keep in VARIANTS:
        times = [run(conn, ws, user, set_clause, keep, args.ids) for _ in range(args.repeat)]
        update = statistics.median(t[0] for t in times)
        checks = statistics.median(t[1] for t in times)
        print(f"  {update:7.0f} ms UPDATE + {checks:4.0f} ms foreign-key checks   {label}")


if __name__ == "__main__":
    main()
