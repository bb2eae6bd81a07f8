#!/usr/bin/env python3
"""What one audit commit costs on this machine's disk, without the proxy.

Recreates the audit table as migration 2 defines it (index and the
'audit' revision counter included), in WAL mode with synchronous=NORMAL as
the store configures it, and times transactions of one record (what a
sequential client forces: each response waits for its own commit) and of
batches (what group commit achieves under pipelining). Variants show what
the per-commit revision bump, the index and automatic checkpoints cost.

Usage: python3 bench/python/sqlite_commit.py [DIR] [N]
"""

import os
import shutil
import sqlite3
import sys
import tempfile
import time

SCHEMA = """
CREATE TABLE revisions (topic TEXT PRIMARY KEY, rev INTEGER NOT NULL) STRICT, WITHOUT ROWID;
CREATE TABLE audit (
    id INTEGER PRIMARY KEY, time INTEGER NOT NULL, session TEXT NOT NULL, client TEXT,
    server TEXT NOT NULL, method TEXT, tool TEXT, arguments TEXT,
    decision TEXT NOT NULL CHECK (decision IN ('allowed', 'denied', 'asked', 'error')),
    reason TEXT, result_size INTEGER, is_error INTEGER, rpc_error TEXT, latency_us INTEGER NOT NULL
) STRICT;
INSERT INTO revisions (topic, rev) VALUES ('audit', 0);
"""
INSERT = """INSERT INTO audit (time, session, client, server, method, tool, arguments, decision,
    reason, result_size, is_error, rpc_error, latency_us) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)"""
ROW = ("s-1", "proxy-bench", "bench", "tools/call", "echo", '{"text":"hello"}', "allowed", None, 120, 0, None, 50)


def run(base, n, batch=1, revision=True, index=True, autocheckpoint=True):
    path = os.path.join(base, "audit-bench")
    shutil.rmtree(path, ignore_errors=True)
    os.makedirs(path)
    db = sqlite3.connect(os.path.join(path, "gatehouse.db"), isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=NORMAL")
    if not autocheckpoint:
        db.execute("PRAGMA wal_autocheckpoint=0")
    db.executescript(SCHEMA)
    if index:
        db.execute("CREATE INDEX audit_by_server ON audit (server, id)")
    times = []
    for i in range(0, n, batch):
        start = time.perf_counter()
        db.execute("BEGIN IMMEDIATE")
        for j in range(batch):
            db.execute(INSERT, (i + j,) + ROW)
        if revision:
            db.execute("UPDATE revisions SET rev = rev + 1 WHERE topic = 'audit'")
        db.execute("COMMIT")
        times.append((time.perf_counter() - start) * 1e6 / batch)
    db.close()
    shutil.rmtree(path, ignore_errors=True)
    times.sort()
    pick = lambda p: times[min(len(times) - 1, int(p * len(times)))]
    return pick(0.5), pick(0.99), times[-1]


def main():
    base = sys.argv[1] if len(sys.argv) > 1 else tempfile.gettempdir()
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 10000
    print(f"| transaction (µs per record) | p50 | p99 | max |  ({n} records in {base})")
    print("|---|---:|---:|---:|")
    for label, kw in [
        ("1 record, as the audit writer does it", {}),
        ("1 record, no revision bump", {"revision": False}),
        ("1 record, no revision bump, no index", {"revision": False, "index": False}),
        ("1 record, automatic checkpoints off", {"autocheckpoint": False}),
        ("batches of 10", {"batch": 10}),
        ("batches of 100", {"batch": 100}),
    ]:
        p50, p99, worst = run(base, n, **kw)
        print(f"| {label} | {p50:.1f} | {p99:.1f} | {worst:.0f} |")


if __name__ == "__main__":
    main()
