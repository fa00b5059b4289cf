"""Writers change the source while a run reads it: the next run loses none of it.

A run reads one snapshot of the source; what commits after it is for the next run. An
incremental run reads only past the watermark the last run committed, so the classic
loss is a change committed late with a cursor value at or below that watermark: a
transaction that stamped ``updated_at`` with its clock before the run began and committed
while the run read (``now()`` is when the transaction or statement began, not when it
committed), or a row given the very cursor value the run ended on. Other connections do
exactly that here while the run is between batches, and the next run must leave the
destination equal to the source.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import psycopg
import pymysql
import pytest

from syncline.api.run import RunResult
from syncline.engine.report import RunReport
from syncline.engine.runner import run_project
from tests.integration.engine.harness import Harness, mysql_harness, postgres_harness
from tests.integration.engine.projects import after_batches, project, task

pytestmark = pytest.mark.integration

ROWS = 3000
BATCH = 200


@pytest.fixture(params=["postgresql", "mysql"])
def db(request: pytest.FixtureRequest) -> Harness:
    """``src``: 3,000 rows stamped about an hour ago, three per second (so batch
    boundaries split rows sharing a cursor value); an empty ``dst`` of the same shape;
    batches of 200."""
    if request.param == "postgresql":
        harness = postgres_harness(request.getfixturevalue("pg_db"))
        stamp = "timestamp(6)"
        then = "localtimestamp - interval '1 hour' + (g / 3) * interval '1 second'"
        harness.execute(
            f"CREATE TABLE src AS SELECT g::bigint AS id, md5(g::text) AS payload, "
            f"({then})::{stamp} AS updated_at FROM generate_series(1, {ROWS}) g"
        )
        harness.execute("ALTER TABLE src ADD PRIMARY KEY (id)")
    else:
        harness = mysql_harness(request.getfixturevalue("mariadb_db"))
        stamp = "datetime(6)"
        harness.execute(
            f"CREATE TABLE src (id bigint PRIMARY KEY, payload text, updated_at {stamp})"
        )
        harness.execute(
            f"INSERT INTO src SELECT seq, MD5(seq), NOW(6) - INTERVAL 1 HOUR "
            f"+ INTERVAL (seq DIV 3) SECOND FROM seq_1_to_{ROWS}"
        )
    harness.execute(f"CREATE TABLE dst (id bigint PRIMARY KEY, payload text, updated_at {stamp})")
    spec = harness.spec.model_copy(deep=True)
    spec.options.batch_size = BATCH
    return dataclasses.replace(harness, spec=spec)


def _now(db: Harness) -> str:
    """The writer's clock as SQL: when its transaction (PostgreSQL) or statement began."""
    return "localtimestamp" if db.kind == "postgresql" else "NOW(6)"


@contextmanager
def _open_transaction(db: Harness) -> Iterator[Any]:
    """A connection of another client with a transaction open; commits when told to."""
    assert db.access is not None
    a = db.access
    if db.kind == "postgresql":
        conn: Any = psycopg.connect(a.dsn)
    else:
        conn = pymysql.connect(
            host=a.host, port=a.port, user=a.user, password=a.password, database=a.database
        )
    try:
        yield conn
    finally:
        conn.close()


def _rows(db: Harness, table: str) -> set[tuple[Any, ...]]:
    return {tuple(r) for r in db.execute(f"SELECT id, payload, updated_at FROM {table}")}


def _assert_equal(db: Harness) -> None:
    source, destination = _rows(db, "src"), _rows(db, "dst")
    lost = sorted(source - destination)
    assert not lost, f"{len(lost)} source rows never reached the destination: {lost[:5]}"
    assert destination == source


def _run(
    db: Harness, incremental: bool, on_progress: Callable[[RunReport], None] | None
) -> RunReport:
    extra = {"incremental": {"cursorField": "updated_at"}} if incremental else {}
    p = project(db, db, [task(source="src", destination="dst", source_extra=extra)])
    report = run_project(p, on_progress=on_progress)
    assert report.result is RunResult.COMPLETED, report.message()
    return report


def _change_while_reading(db: Harness, *, incremental: bool) -> RunReport:
    """Run once while other clients change the source; returns the next run's report.

    Before the run, one client stamps row 100 and holds its transaction open, and
    another stamps row 200 (later) and commits: row 200 carries the largest cursor value
    the run reads. After two batches the first client commits (row 100's stamp is now
    below what the run read), a new row gets row 200's stamp, and rows already read
    (1) and not yet read (2900) change again.
    """
    now = _now(db)
    with _open_transaction(db) as late:
        late.cursor().execute(f"UPDATE src SET payload = 'late', updated_at = {now} WHERE id = 100")
        time.sleep(0.01)  # row 200's stamp is strictly later
        db.execute(f"UPDATE src SET payload = 'early', updated_at = {now} WHERE id = 200")

        def meanwhile() -> None:
            late.commit()
            db.execute(
                f"INSERT INTO src SELECT {ROWS + 1}, 'same stamp', updated_at FROM src "
                f"WHERE id = 200"
            )
            db.execute(f"UPDATE src SET payload = 'again', updated_at = {now} WHERE id = 1")
            db.execute(f"UPDATE src SET payload = 'ahead', updated_at = {now} WHERE id = 2900")

        first = _run(db, incremental, after_batches(2, meanwhile))
    assert first.totals.read == ROWS
    stamps = dict(db.execute("SELECT id, updated_at FROM src WHERE id IN (100, 200)"))
    assert stamps[100] < stamps[200], "the late change is stamped before what the run read"
    unseen = {(1, "again"), (2900, "ahead"), (100, "late"), (ROWS + 1, "same stamp")}
    copied = {(r[0], r[1]) for r in _rows(db, "dst")}
    assert (200, "early") in copied
    assert not unseen & copied, "a run copies the snapshot it began with"
    return _run(db, incremental, None)


def test_changes_committed_during_an_incremental_run_reach_the_next_run(db: Harness) -> None:
    second = _change_while_reading(db, incremental=True)
    _assert_equal(db)
    assert second.totals.read < 100  # still incremental: the last minutes, not the table


def test_changes_committed_during_a_full_run_reach_the_next_run(db: Harness) -> None:
    second = _change_while_reading(db, incremental=False)
    _assert_equal(db)
    assert second.totals.read == ROWS + 1
