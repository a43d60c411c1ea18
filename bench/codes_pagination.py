#!/usr/bin/env python3
"""Keyset vs OFFSET pagination over a million codes, on SQLite.

Builds a fresh database with the server's own migrations, inserts 1 000 000
codes for two organizations, then times the SQL shape `codes(status: ISSUED)`
runs for a customer administrator: the first page, and a page deep in the
table after a cursor, against the same page reached with OFFSET.
Ratios, measured in one run, are what to compare.

Run: cargo build --release && python3 bench/codes_pagination.py
"""
import os, sqlite3, subprocess, sys, tempfile, time

binary = os.path.join(os.path.dirname(__file__), "..", "target", "release", "licensegraph")
if not os.path.exists(binary):
    sys.exit("build first: cargo build --release")
path = os.path.join(tempfile.mkdtemp(), "bench.db")
subprocess.run([binary, "migrate", "--database-url", f"sqlite://{path}"], check=True, stderr=subprocess.DEVNULL)
c = sqlite3.connect(path)
c.execute("INSERT INTO organizations (name, kind, created_at) VALUES "
          "('a','ENTERPRISE','2026-01-01 00:00:00'),('b','ENTERPRISE','2026-01-01 00:00:00')")
c.execute("""WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 1000000)
INSERT INTO codes (organization_id, order_id, kind, value, status, valid_until, activations_used, created_at)
SELECT 1 + (i % 2), 1, 'EXAM_VOUCHER', printf('V%09d', i),
       CASE WHEN i % 3 = 0 THEN 'REDEEMED' ELSE 'ISSUED' END, '2027-06-30', 0, '2026-01-01 00:00:00' FROM n""")
c.commit()
c.execute("ANALYZE")

def micros(sql, args, n):
    start = time.perf_counter()
    for _ in range(n):
        c.execute(sql, args).fetchall()
    return (time.perf_counter() - start) / n * 1e6

where = "organization_id IN (1) AND status = 'ISSUED' AND valid_until >= '2026-11-21'"
keyset = f"SELECT * FROM codes WHERE {where} AND id > ? ORDER BY id LIMIT 21"
offset = f"SELECT * FROM codes WHERE {where} ORDER BY id LIMIT 21 OFFSET ?"
first, deep = micros(keyset, (0,), 200), micros(keyset, (999000,), 200)
ofirst, odeep = micros(offset, (0,), 200), micros(offset, (330000,), 5)
print(f"keyset: first page {first:.0f} us, page after id 999000 {deep:.0f} us, deep/first {deep / first:.2f}")
print(f"offset: first page {ofirst:.0f} us, page at offset 330000 {odeep:.0f} us, deep/first {odeep / ofirst:.0f}")
print("plan:", c.execute("EXPLAIN QUERY PLAN " + keyset, (999000,)).fetchall()[0][3])
