"""Seeded benchmark data: 16 columns, about 230 bytes per row as CSV, bigint key.

Generated inside PostgreSQL with ``setseed`` (no parallel workers), so the same
``--rows`` always gives the same table, and content hashes can be compared across
tools and runs.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import psycopg

from syncline.devcluster.databases import DatabaseAccess, PostgresServer

COLUMNS = (
    "id bigint PRIMARY KEY, customer_code text, first_name text, last_name text, email text, "
    "phone text, city text, country text, status text, segment text, created_at timestamp, "
    "updated_at timestamp, balance numeric(12,2), credit_limit numeric(12,2), score double "
    "precision, notes text"
)
NAMES = [c.split()[0] for c in COLUMNS.split(", ")]

_ROW = """
SELECT g::bigint,
  'C' || lpad(g::text, 9, '0'),
  (ARRAY['Ada','Bob','Cyrus','Dana','Eve','Farid','Gita','Hiro'])[1 + floor(random() * 8)::int],
  (ARRAY['Lovelace','Hopper','Turing','Liskov','Knuth','Ritchie'])[1 + floor(random() * 6)::int],
  'user' || g || '@example.com',
  '+1-555-' || lpad(floor(random() * 10000000)::text, 7, '0'),
  (ARRAY['Kyiv','Berlin','Paris','Osaka','Recife','Austin'])[1 + floor(random() * 6)::int],
  (ARRAY['UA','DE','FR','JP','BR','US'])[1 + floor(random() * 6)::int],
  (ARRAY['A','I','P'])[1 + floor(random() * 3)::int],
  (ARRAY['retail','wholesale','online','partner'])[1 + floor(random() * 4)::int],
  timestamp '2020-01-01' + random() * interval '1500 days',
  timestamp '2024-01-01' + random() * interval '300 days',
  round((random() * 100000)::numeric, 2),
  round((random() * 50000)::numeric, 2),
  random(),
  md5(g::text) || md5((g * 7)::text)
FROM generate_series(%s::bigint, %s::bigint) g
"""

# the canonical text of a row, equal whatever column types a tool created
CANONICAL = (
    "concat_ws('|', id, customer_code, first_name, last_name, email, phone, city, country, "
    "status, segment, extract(epoch FROM created_at), extract(epoch FROM updated_at), "
    "round(balance::numeric, 2), round(credit_limit::numeric, 2), score::float8, notes)"
)


def _seeded(conn: psycopg.Connection[object], seed: float) -> None:
    conn.execute("SET max_parallel_workers_per_gather = 0")
    conn.execute("SELECT setseed(%s)", (seed,))


def create_source(dsn: str, table: str, rows: int) -> None:
    """(Re)create ``table`` with ``rows`` seeded rows."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f"DROP TABLE IF EXISTS {table}")
        conn.execute(f"CREATE TABLE {table} ({COLUMNS})")
        _seeded(conn, 0.42)
        conn.execute(f"INSERT INTO {table} {_ROW}", (1, rows))
        conn.execute(f"VACUUM ANALYZE {table}")


def change_source(dsn: str, table: str, rows: int) -> tuple[int, int]:
    """Change 1% of the rows and add 0.1% new ones (seeded); returns (changed, added)."""
    added = max(1, rows // 1000)
    with psycopg.connect(dsn, autocommit=True) as conn:
        cur = conn.execute(
            f"UPDATE {table} SET balance = balance + 1, status = 'X', "
            "updated_at = updated_at + interval '1 day' WHERE id % 100 = 0"
        )
        changed = cur.rowcount
        _seeded(conn, 0.43)
        conn.execute(f"INSERT INTO {table} {_ROW}", (rows + 1, rows + added))
    return changed, added


def create_target(dsn: str, table: str) -> None:
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(f"DROP TABLE IF EXISTS {table}")
        conn.execute(f"CREATE TABLE {table} ({COLUMNS})")


def export_csv(dsn: str, table: str, path: Path) -> None:
    """The table as CSV with a header (what a CSV-to-PostgreSQL integration reads)."""
    with (
        psycopg.connect(dsn) as conn,
        conn.cursor() as cur,
        path.open("wb") as out,
        cur.copy(f"COPY {table} TO STDOUT (FORMAT csv, HEADER)") as copy,
    ):
        for chunk in copy:
            out.write(chunk)


def content_hash(dsn: str, table: str) -> str:
    """md5 over the rows' md5s in key order, and the row count (32 bytes a row: fits
    PostgreSQL's 1 GB value limit up to ~30M rows)."""
    with psycopg.connect(dsn) as conn:
        conn.execute("SET TimeZone = 'UTC'")
        row = conn.execute(
            f"SELECT md5(string_agg(md5({CANONICAL}), '' ORDER BY id)), count(*) FROM {table}"
        ).fetchone()
    assert row is not None
    return f"{str(row[0])[:12]}/{row[1]}"


def current_xid(dsn: str) -> int:
    with psycopg.connect(dsn) as conn:
        row = conn.execute("SELECT txid_current()").fetchone()
    assert row is not None
    return int(row[0])


def rewritten_since(dsn: str, table: str, xid: int) -> int:
    """Rows whose current version was written by a transaction at or after ``xid``."""
    with psycopg.connect(dsn) as conn:
        row = conn.execute(
            f"SELECT count(*) FROM {table} WHERE xmin::text::bigint >= %s", (xid,)
        ).fetchone()
    assert row is not None
    return int(row[0])


def bench_database(server: PostgresServer) -> tuple[DatabaseAccess, dict[str, Any]]:
    """The database every benchmark tool uses, and the connection part of their config."""
    server.create_database("bench", "bench", "bench-pw")
    access = server.access("bench", "bench", "bench-pw")
    config: dict[str, Any] = {
        "host": access.host,
        "port": access.port,
        "database": "bench",
        "user": "bench",
        "password": "bench-pw",
    }
    return access, config
