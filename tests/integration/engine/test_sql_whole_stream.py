"""The SQL step answers over the whole source, not per batch (real PostgreSQL).

The source is read in ten batches of 100 rows; every query here has an answer that
differs when computed per batch. The destination must equal PostgreSQL's own answer to
the same SQL over the same rows, and the counts must stay conserved.
"""

from __future__ import annotations

import dataclasses
from decimal import Decimal
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pytest

from syncline.api.run import RunResult
from syncline.devcluster.databases import DatabaseAccess
from syncline.engine.connectors.postgres import PostgresConnector
from syncline.engine.plan import plan_project
from syncline.engine.report import RunReport
from syncline.engine.runner import run_project
from tests.integration.engine.harness import Harness, postgres_harness, sqlite_harness
from tests.integration.engine.projects import project, task

pytestmark = pytest.mark.integration

ROWS = 1000
BATCH = 100
TEAMS = 7
EMAILS = 37
STATE = "SELECT watermark FROM _syncline_state WHERE scope = 'test/demo/copy'"


@pytest.fixture
def pg(pg_db: DatabaseAccess) -> Harness:
    """PostgreSQL read in batches of 100, with a source of 1,000 rows.

    Teams and e-mail addresses repeat across every batch boundary; ``seq`` (the cursor)
    follows ``id``.
    """
    harness = postgres_harness(pg_db)
    spec = harness.spec.model_copy(deep=True)
    spec.options.batch_size = BATCH
    harness = dataclasses.replace(harness, spec=spec)
    harness.execute(
        f"CREATE TABLE src AS SELECT g::bigint AS id, 'team' || (g % {TEAMS}) AS team, "
        f"'user' || (g % {EMAILS}) || '@example.org' AS email, "
        f"((g * 7919) % 1000)::bigint AS amount, 'n' || g AS name, g::bigint * 10 AS seq "
        f"FROM generate_series(1, {ROWS}) g"
    )
    harness.execute("ALTER TABLE src ADD PRIMARY KEY (id)")
    return harness


def _answer(pg: Harness, query: str) -> list[tuple[Any, ...]]:
    """PostgreSQL's own answer (``source`` read as the table ``src``), sorted."""
    return sorted(pg.execute(query.replace("FROM source", "FROM src")))


def _content(pg: Harness, table: str, columns: str) -> list[tuple[Any, ...]]:
    return sorted(pg.execute(f"SELECT {columns} FROM {table}"))


def _conserved(report: RunReport) -> None:
    assert report.result is RunResult.COMPLETED, report.message()
    assert report.totals.conservation_gap == 0, report.message()


def _numbers(rows: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    """Decimals (PostgreSQL's sum) as ints, to compare with bigint columns."""
    return [tuple(int(v) if isinstance(v, Decimal) else v for v in row) for row in rows]


def test_group_by_aggregates_every_batch_at_once(pg: Harness) -> None:
    query = "SELECT team, count(*) AS n, sum(amount) AS total FROM source GROUP BY team"
    pg.execute("CREATE TABLE by_team (team text PRIMARY KEY, n bigint, total bigint)")
    t = task(source="src", destination="by_team", keys=["team"], query=query)

    report = run_project(project(pg, pg, [t]))

    _conserved(report)
    assert _content(pg, "by_team", "team, n, total") == _numbers(_answer(pg, query))
    c = report.totals
    assert (c.read, c.inserted, c.updated, c.unchanged) == (ROWS, TEAMS, 0, 0)
    assert c.filtered == ROWS - TEAMS


def test_distinct_sees_duplicates_across_batch_boundaries(pg: Harness) -> None:
    query = "SELECT DISTINCT email, team FROM source"
    pg.execute("CREATE TABLE pairs (email text, team text, PRIMARY KEY (email, team))")
    t = task(source="src", destination="pairs", keys=["email", "team"], query=query)

    report = run_project(project(pg, pg, [t]))

    _conserved(report)
    expected = _answer(pg, query)
    assert len(expected) == EMAILS * TEAMS
    assert _content(pg, "pairs", "email, team") == expected
    c = report.totals
    # every distinct pair is upserted once: none is "unchanged" by a later batch
    assert (c.read, c.inserted, c.updated, c.unchanged) == (ROWS, len(expected), 0, 0)
    assert c.filtered == ROWS - len(expected)


def test_order_by_limit_takes_the_top_rows_of_the_whole_source(pg: Harness) -> None:
    query = "SELECT id, amount FROM source ORDER BY amount DESC, id LIMIT 5"
    pg.execute("CREATE TABLE top5 (id bigint PRIMARY KEY, amount bigint)")
    t = task(source="src", destination="top5", query=query)

    report = run_project(project(pg, pg, [t]))

    _conserved(report)
    assert _content(pg, "top5", "id, amount") == _answer(pg, query)
    assert (report.totals.inserted, report.totals.filtered) == (5, ROWS - 5)


def test_a_query_reading_the_source_twice_sees_all_of_it_both_times(pg: Harness) -> None:
    query = "SELECT id, amount FROM source WHERE amount > (SELECT avg(amount) FROM source)"
    pg.execute("CREATE TABLE above (id bigint PRIMARY KEY, amount bigint)")
    t = task(source="src", destination="above", query=query)

    report = run_project(project(pg, pg, [t]))

    _conserved(report)
    assert _content(pg, "above", "id, amount") == _answer(pg, query)


def test_a_query_returning_more_rows_than_it_read_stays_conserved(pg: Harness) -> None:
    query = "SELECT id * 10 + r AS id, amount FROM source, range(3) AS t(r)"
    pg.execute("CREATE TABLE tripled (id bigint PRIMARY KEY, amount bigint)")
    t = task(source="src", destination="tripled", query=query)

    report = run_project(project(pg, pg, [t]))

    _conserved(report)
    c = report.totals
    assert (c.read, c.inserted, c.filtered) == (ROWS, 3 * ROWS, 0)
    # the surplus is accounted for, so conservation holds: read + added = written
    assert c.read + c.added == c.inserted + c.updated + c.unchanged + c.filtered + c.failed
    assert f"{2 * ROWS} added by the SQL step" in report.message()


def test_plan_of_a_group_by_counts_the_whole_answer_and_writes_nothing(pg: Harness) -> None:
    query = "SELECT team, count(*) AS n FROM source GROUP BY team"
    pg.execute("CREATE TABLE by_team (team text PRIMARY KEY, n bigint)")
    pg.execute("INSERT INTO by_team VALUES ('team0', 0)")
    t = task(source="src", destination="by_team", keys=["team"], query=query)

    plan = plan_project(project(pg, pg, [t]))

    _conserved(plan.report)
    assert (plan.report.totals.inserted, plan.report.totals.updated) == (TEAMS - 1, 1)
    assert _content(pg, "by_team", "team, n") == [("team0", 0)]


def test_max_rows_per_run_counts_source_rows_before_anything_is_written(pg: Harness) -> None:
    query = "SELECT team, count(*) AS n FROM source GROUP BY team"
    pg.execute("CREATE TABLE by_team (team text PRIMARY KEY, n bigint)")
    t = task(source="src", destination="by_team", keys=["team"], query=query)

    report = run_project(project(pg, pg, [t], max_rows_per_run=ROWS // 2))

    assert report.error is not None
    assert report.error.code == 2500
    assert _content(pg, "by_team", "team") == []


def test_max_error_rate_is_a_share_of_the_rows_the_query_returned(pg: Harness) -> None:
    # one of the seven groups cannot be written: 1/7 of the output, 1/1000 of the source
    query = "SELECT team, CASE WHEN team = 'team3' THEN NULL ELSE count(*) END AS n FROM source "
    query += "GROUP BY team"
    pg.execute("CREATE TABLE by_team (team text PRIMARY KEY, n bigint NOT NULL)")
    t = task(source="src", destination="by_team", keys=["team"], query=query)

    report = run_project(project(pg, pg, [t], max_error_rate=0.1))

    assert report.error is not None
    assert report.error.code == 2501, report.message()
    assert "1 of 7 rows failed" in str(report.error)
    assert report.totals.failed == 1


def test_a_filter_query_runs_incrementally_and_commits_the_watermark_once(pg: Harness) -> None:
    query = "SELECT id, upper(name) AS name FROM source WHERE id % 3 <> 0"
    check = "SELECT id, upper(name) FROM source WHERE id % 3 <> 0"
    pg.execute("CREATE TABLE dst (id bigint PRIMARY KEY, name text)")
    t = task(
        source="src",
        destination="dst",
        query=query,
        source_extra={"incremental": {"cursorField": "seq"}},
    )
    p = project(pg, pg, [t])

    first = run_project(p)
    _conserved(first)
    assert first.totals.read == ROWS
    last = str(ROWS * 10 - 10)  # below the largest value, whose rows are read again
    assert first.tasks[0].watermark == last
    assert pg.execute(STATE) == [(last,)]
    assert _content(pg, "dst", "id, name") == _answer(pg, check)

    pg.execute(
        f"INSERT INTO src SELECT g, 'team0', 'new@example.org', 1, 'n' || g, g * 10 "
        f"FROM generate_series({ROWS + 1}, {ROWS + 250}) g"
    )
    pg.execute(f"UPDATE src SET name = 'changed', seq = {(ROWS + 300) * 10} WHERE id = 1")
    second = run_project(p)
    _conserved(second)
    assert second.totals.read == 252  # only rows past the watermark (seq 10000 again)
    assert second.totals.updated == 1
    assert second.tasks[0].watermark == str((ROWS + 250) * 10)
    assert _content(pg, "dst", "id, name") == _answer(pg, check)

    third = run_project(p)
    _conserved(third)
    assert (third.totals.read, third.totals.unchanged) == (1, 1)


def test_a_run_that_fails_midway_commits_no_watermark_and_a_rerun_converges(
    pg: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    query = "SELECT id, name FROM source WHERE id % 3 <> 0"
    pg.execute("CREATE TABLE dst (id bigint PRIMARY KEY, name text)")
    incremental = {"incremental": {"cursorField": "seq"}}
    t = task(source="src", destination="dst", query=query, source_extra=incremental)
    p = project(pg, pg, [t])
    real_merge = PostgresConnector.merge
    merges = 0

    def failing(self: PostgresConnector, *args: Any, **kw: Any) -> Any:
        nonlocal merges
        merges += 1
        if merges == 4:
            raise RuntimeError("destination went away")
        return real_merge(self, *args, **kw)

    monkeypatch.setattr(PostgresConnector, "merge", failing)
    failed = run_project(p)
    monkeypatch.undo()

    assert failed.error is not None
    assert failed.error.code == 2400
    [(written,)] = pg.execute("SELECT count(*) FROM dst")
    assert written == 3 * BATCH  # three output batches were committed
    assert pg.execute("SELECT to_regclass('_syncline_state')") == [(None,)] or (
        pg.execute(STATE) == []
    )

    rerun = run_project(p)
    _conserved(rerun)
    assert rerun.totals.read == ROWS  # re-read from the old (absent) watermark
    assert rerun.totals.unchanged == written  # re-upserted idempotently
    assert _content(pg, "dst", "id, name") == _answer(pg, query)
    assert pg.execute(STATE) == [(str(ROWS * 10 - 10),)]


def test_a_query_that_stops_reading_early_commits_a_watermark_no_unread_row_shares(
    tmp_path: Path,
) -> None:
    """LIMIT without ORDER BY: DuckDB stops pulling the (ordered) source after a batch.
    The watermark is the largest cursor value below that batch's last one, which may go
    on in the unread rows; the next run starts there and skips nothing."""
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    src, dst = sqlite_harness(tmp_path / "a"), sqlite_harness(tmp_path / "b")
    spec = src.spec.model_copy(deep=True)
    spec.options.batch_size = BATCH
    src = dataclasses.replace(src, spec=spec)
    rows = 20 * BATCH
    ids = pa.array(range(1, rows + 1), pa.int64())
    src.create("src", pa.table({"id": ids, "seq": pc.divide(ids, 7)}), keys=["id"])
    dst.create("dst", pa.table({"id": ids, "seq": ids}).slice(0, 0), keys=["id"])
    query = "SELECT id, seq FROM source LIMIT 5"
    incremental = {"incremental": {"cursorField": "seq"}}
    p = project(
        src, dst, [task(source="src", destination="dst", query=query, source_extra=incremental)]
    )

    first = run_project(p)
    _conserved(first)
    assert first.totals.read < rows  # the query stopped the read
    last_read = first.totals.read // 7  # seq of the last row read, which may go on
    assert first.tasks[0].watermark == str(last_read - 1)

    second = run_project(p)
    _conserved(second)
    assert min(r["seq"] for r in dst.content("dst")[5:]) == last_read  # nothing skipped
