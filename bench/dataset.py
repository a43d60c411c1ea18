"""The benchmark's realistic data set, loaded straight into a migrated,
catalog-seeded database (SQLite file or PostgreSQL), in bulk.

Default scale (issue 6): 200 organizations (150 accredited schools, 50
partners), 2 000 fulfilled orders of the 500-voucher site pack (one agreement
per school), 1 000 000 exam vouchers with their ISSUE events, 5 000
memberships (an Action Pack and 99 competencies per partner).

Most vouchers are ISSUED; one in ten is ASSIGNED to a learner of its school
and one in fifty of those REDEEMED, with the ASSIGN/REDEEM events a real
history has. The orders of the first school form the redemption pool: all
their vouchers are assigned to one learner (POOL_LEARNER), so a load of
`redeemCode` calls with one token always has fresh codes.

Code values follow src/domain/code_format.rs (20 random symbols and a Luhn
mod 32 check symbol), so the server parses them like any other.
"""

import csv
import datetime
import os
import secrets
import sqlite3
import subprocess

ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"
POOL_LEARNER = "pool.learner@school-1.example"
EXAM = "MO-100"
STARTS, ENDS = "2026-07-01", "2027-06-30"
AT = "2026-08-01T09:00:00+00:00"
COMPETENCIES = ["Cloud Platform", "Data Analytics", "Application Development"]


def code_value():
    payload = [b % 32 for b in secrets.token_bytes(20)]
    total = 0
    for i, v in enumerate(reversed(payload)):
        v = v * 2 if i % 2 == 0 else v
        total += v // 32 + v % 32
    symbols = "".join(ALPHABET[i] for i in payload) + ALPHABET[(32 - total % 32) % 32]
    return "-".join(symbols[i:i + 5] for i in range(0, 21, 5))


class Loader:
    """Writes rows through sqlite3 or psql \\copy, and runs SQL."""

    def __init__(self, db, workdir):
        self.db = db
        self.workdir = workdir
        if db.engine == "sqlite":
            self.con = sqlite3.connect(db.path, timeout=60)
            self.con.execute("PRAGMA synchronous=OFF")

    def sql(self, statement):
        if self.db.engine == "sqlite":
            self.con.execute(statement)
            self.con.commit()
        else:
            subprocess.run(["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", self.db.url, "-c", statement],
                           check=True, capture_output=True)

    def rows(self, table, columns, rows):
        if self.db.engine == "sqlite":
            marks = ", ".join("?" for _ in columns)
            self.con.executemany(f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})", rows)
            self.con.commit()
            return
        path = os.path.join(self.workdir, f"{table}.csv")
        with open(path, "w", newline="") as f:
            writer = csv.writer(f)
            for row in rows:
                writer.writerow(["\\N" if v is None else v for v in row])
        subprocess.run(["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", self.db.url, "-c",
                        f"\\copy {table} ({', '.join(columns)}) FROM '{path}' WITH (FORMAT csv, NULL '\\N')"],
                       check=True, capture_output=True)
        os.remove(path)

    def query(self, statement):
        return self.db.query(statement)

    def close(self):
        if self.db.engine == "sqlite":
            self.con.close()
        else:
            subprocess.run(["psql", "-X", "-q", self.db.url, "-c", "VACUUM ANALYZE"], check=True, capture_output=True)


def load(db, workdir, organizations=200, orders=2000, codes=1_000_000, memberships=5000, pool_orders=1400):
    """Loads the data set; returns what the workloads need to know."""
    loader = Loader(db, workdir)
    try:
        return _load(loader, organizations, orders, codes, memberships, pool_orders)
    finally:
        loader.close()


def _load(loader, organizations, orders, codes, memberships, pool_orders):
    partners = organizations // 4
    schools = organizations - partners
    per_order = codes // orders
    program = loader.query("SELECT id FROM programs WHERE code = 'EES'")[0][0]
    package, price = loader.query("SELECT id, list_price_cents FROM packages WHERE sku = 'SITE-MOS-MTA-MCE-500'")[0]
    org_rows = [(f"Bench School {i}", "ACADEMIC", True, True, None, AT) for i in range(1, schools + 1)]
    org_rows += [(f"Bench Partner {i}", "PARTNER", False, False, f"BENCH-PGA-{i:04d}", AT)
                 for i in range(1, partners + 1)]
    loader.rows("organizations", ["name", "kind", "accredited", "certiport_testing_center",
                                  "partner_global_account", "created_at"],
                org_rows)
    orgs = loader.query("SELECT id, kind, partner_global_account FROM organizations "
                        "WHERE name LIKE 'Bench %' ORDER BY id")
    school_ids = [int(o[0]) for o in orgs if o[1] == "ACADEMIC"]
    partner_rows = [(int(o[0]), o[2]) for o in orgs if o[1] == "PARTNER"]

    loader.rows("agreements", ["organization_id", "program_id", "number", "starts_on", "ends_on",
                               "notice_contact", "created_at"],
                [(org, program, f"BENCH-EES-{i:04d}", STARTS, ENDS, f"licensing@school-{i}.example", AT)
                 for i, org in enumerate(school_ids, 1)])
    agreements = [(int(a), int(o)) for a, o in loader.query(
        "SELECT id, organization_id FROM agreements WHERE number LIKE 'BENCH-EES-%' ORDER BY id")]
    # The pool school's orders come first; the rest go round the others.
    order_agreements = [agreements[0]] * pool_orders + [
        agreements[1 + i % (len(agreements) - 1)] for i in range(orders - pool_orders)]
    loader.rows("orders", ["agreement_id", "package_id", "placed_by", "quantity", "term", "status",
                           "list_price_cents", "months_charged", "discount_percent", "unit_price_cents",
                           "total_cents", "currency", "starts_on", "ends_on", "placed_at", "confirmed_at",
                           "invoiced_at", "fulfilled_at", "delivered_to"],
                [(a, package, "buyer@bench.example", 1, "TWELVE_MONTHS", "FULFILLED", price, 12, 0, price, price,
                  "USD", STARTS, ENDS, AT, AT, AT, AT, "licensing@bench.example") for a, _ in order_agreements])
    order_rows = loader.query(
        "SELECT o.id, a.organization_id FROM orders o JOIN agreements a ON a.id = o.agreement_id "
        "WHERE a.number LIKE 'BENCH-EES-%' ORDER BY o.id")
    pool_order_ids = {int(o) for o, _ in order_rows[:pool_orders]}

    def code_rows():
        n = 0
        for order, org in order_rows:
            pool = int(order) in pool_order_ids
            for _ in range(per_order):
                n += 1
                status, assignee, assigned_at, redeemed_at, exam = "ISSUED", None, None, None, None
                if pool:
                    status, assignee, assigned_at = "ASSIGNED", POOL_LEARNER, AT
                elif n % 10 == 0:
                    status, assignee, assigned_at = "ASSIGNED", f"learner-{n % 997}@school-{org}.example", AT
                    if n % 50 == 0:
                        status, redeemed_at, exam = "REDEEMED", AT, EXAM
                yield (org, order, "EXAM_VOUCHER", code_value(), status, ENDS, assignee, assigned_at, redeemed_at,
                       exam, AT)

    loader.rows("codes", ["organization_id", "order_id", "kind", "value", "status", "valid_until", "assignee",
                          "assigned_at", "redeemed_at", "exam", "created_at"], code_rows())
    first_order = int(order_rows[0][0])
    history = [
        ("'ISSUE'", "NULL", "'ISSUED'", "'fulfilment of order ' || order_id", "TRUE"),
        ("'ASSIGN'", "'ISSUED'", "'ASSIGNED'", "'assigned to ' || assignee", "assignee IS NOT NULL"),
        ("'REDEEM'", "'ASSIGNED'", "'REDEEMED'", "'exam ' || exam", "status = 'REDEEMED'"),
    ]
    for action, before, after, detail, which in history:
        loader.sql(
            "INSERT INTO code_events (code_id, at, actor, action, from_status, to_status, detail) "
            f"SELECT id, created_at, 'bench-loader', {action}, {before}, {after}, {detail} FROM codes "
            f"WHERE order_id >= {first_order} AND {which} ORDER BY id")

    membership_rows = []
    per_partner = memberships // max(1, len(partner_rows))
    for org, pga in partner_rows:
        membership_rows.append((org, pga, "ACTION_PACK", None, None, "2026-01-15", None, AT))
        for k in range(per_partner - 1):
            day = datetime.date(2024, 1, 1) + datetime.timedelta(days=(org * 37 + k * 11) % 1000)
            ended = (day + datetime.timedelta(days=365)).isoformat() if k % 3 else None
            membership_rows.append((org, pga, "COMPETENCY", ("SILVER", "GOLD")[k % 2],
                                    COMPETENCIES[k % len(COMPETENCIES)], day.isoformat(), ended, AT))
    loader.rows("memberships", ["organization_id", "partner_global_account", "offer", "level", "competency",
                                "purchased_on", "ended_on", "created_at"], membership_rows)
    counts = {t: loader.query(f"SELECT count(*) FROM {t}")[0][0]
              for t in ["organizations", "orders", "codes", "code_events", "memberships"]}
    pool = loader.query(f"SELECT min(id), max(id), count(*) FROM codes WHERE assignee = '{POOL_LEARNER}'")[0]
    return {
        "counts": {k: int(v) for k, v in counts.items()},
        "pool_school_id": school_ids[0],
        "pool_code_ids": (int(pool[0]), int(pool[1])),
        "pool_size": int(pool[2]),
    }
