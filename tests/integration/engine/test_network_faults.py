"""The network between the engine and its databases fails mid-run (a real TCP proxy).

The engine reaches PostgreSQL and MariaDB through toxiproxy (tests/fixtures/toxiproxy.py),
one proxy for the source connection and one for the destination, and the test breaks
them once some batches have committed: added latency, a TCP reset, a connection cut in
the middle of a batch. Whatever happens, the run ends Completed, or Error with a
connection code naming the side that failed (never a driver's exception text as 2400),
no batch is half written, nothing below the committed watermark is missing, and once
the network is healed a re-run leaves the destination equal to the source.
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from syncline.api.run import RunResult
from syncline.engine.project import ResolvedProject
from syncline.engine.report import RunReport
from syncline.engine.runner import run_project
from syncline.engine.writer import RETRY_PAUSES_SECONDS
from tests.fixtures.toxiproxy import Proxy
from tests.integration.engine.harness import Harness, mysql_harness, postgres_harness
from tests.integration.engine.projects import after_batches, project, task

pytestmark = pytest.mark.integration

KINDS = ["postgresql", "mysql"]
STATE = "SELECT watermark FROM _syncline_state"
LOST_CONNECTION = {2000, 2003}  # ConnectionUnreachable, ConnectionTimeout


@dataclasses.dataclass
class Route:
    """The database directly (to set up and check) and the engine's two proxied routes."""

    db: Harness
    source: Proxy
    destination: Proxy
    batch: int

    def project(self) -> ResolvedProject:
        incremental = {"incremental": {"cursorField": "seq"}}
        copy = task(source="src", destination="dst", source_extra=incremental)
        return project(self._via(self.source), self._via(self.destination), [copy])

    def _via(self, proxy: Proxy) -> Harness:
        spec = self.db.spec.model_copy(deep=True)
        spec.endpoint.host, spec.endpoint.port = "127.0.0.1", proxy.port
        spec.options.batch_size = self.batch
        return dataclasses.replace(self.db, spec=spec)

    def rows(self, table: str) -> list[tuple[Any, ...]]:
        return [tuple(r) for r in self.db.execute(f"SELECT id, seq, payload FROM {table}")]

    def digest(self, table: str) -> str:
        """Row count and a hash of the rows in key order: equal content, equal digest."""
        rows = sorted(self.rows(table))
        return f"{len(rows)}/{hashlib.sha256(repr(rows).encode()).hexdigest()[:16]}"


def _source(db: Harness, rows: int, payload_chars: int) -> None:
    """``rows`` records; ``seq`` (the cursor) repeats seven times, so batch boundaries fall
    inside runs of equal cursor values."""
    repeats = payload_chars // 32 + 1
    if db.kind == "postgresql":
        db.execute(
            f"CREATE TABLE src AS SELECT g::bigint AS id, (g / 7)::bigint AS seq, "
            f"left(repeat(md5(g::text), {repeats}), {payload_chars}) AS payload "
            f"FROM generate_series(1, {rows}) g"
        )
        db.execute("ALTER TABLE src ADD PRIMARY KEY (id)")
        db.execute("CREATE TABLE dst (id bigint PRIMARY KEY, seq bigint, payload text)")
        return
    db.execute("CREATE TABLE src (id bigint PRIMARY KEY, seq bigint, payload text)")
    db.execute(
        f"INSERT INTO src SELECT seq, seq DIV 7, LEFT(REPEAT(MD5(seq), {repeats}), "
        f"{payload_chars}) FROM seq_1_to_{rows}"
    )
    db.execute("CREATE TABLE dst (id bigint PRIMARY KEY, seq bigint, payload text)")


@pytest.fixture(params=KINDS)
def route(request: pytest.FixtureRequest, tcp_proxy: Callable[[int], Proxy]) -> Route:
    """A database of the parametrised kind with source and destination proxies."""
    if request.param == "postgresql":
        db = postgres_harness(request.getfixturevalue("pg_db"))
    else:
        db = mysql_harness(request.getfixturevalue("mariadb_db"))
    assert db.access is not None
    return Route(db, tcp_proxy(db.access.port), tcp_proxy(db.access.port), batch=250)


def _assert_failed_cleanly(route: Route, report: RunReport, proxy: Proxy) -> None:
    """Error with a connection code naming the proxy that failed; every row written is
    whole, and every source row at or below the committed watermark was written."""
    assert report.result is RunResult.ERROR, report.message()
    assert report.error is not None
    assert report.error.code in LOST_CONNECTION, report.message()
    assert f"127.0.0.1:{proxy.port}/" in report.message()
    assert "\n" not in report.message()
    written = route.rows("dst")
    assert 0 < len(written) < len(route.rows("src")), "the fault must land mid-run"
    assert set(written) <= set(route.rows("src")), "a row was written half or wrong"
    assert len(written) == report.totals.inserted
    [(mark,)] = route.db.execute(STATE)
    covered = route.db.execute(f"SELECT id FROM src WHERE seq <= {int(mark)}")
    assert {i for (i,) in covered} <= {r[0] for r in written}, "rows below the watermark lost"


def _assert_converges(route: Route) -> RunReport:
    """Healed, a re-run completes and the destination equals the source exactly."""
    route.source.heal()
    route.destination.heal()
    rerun = run_project(route.project())
    assert rerun.result is RunResult.COMPLETED, rerun.message()
    assert route.digest("dst") == route.digest("src")
    return rerun


def test_latency_on_both_sides_mid_run_still_converges(route: Route) -> None:
    _source(route.db, rows=1000, payload_chars=100)

    def slow_down() -> None:
        for proxy in (route.source, route.destination):
            proxy.add("latency", stream="downstream", latency=60, jitter=40)
            proxy.add("latency", stream="upstream", latency=20)

    report = run_project(route.project(), on_progress=after_batches(1, slow_down))
    assert report.result is RunResult.COMPLETED, report.message()
    assert report.totals.inserted == 1000
    assert route.digest("dst") == route.digest("src")
    assert route.source.toxics, "the latency must come mid-run"
    assert route.destination.toxics


class _Retries(logging.Handler):
    """Counts the engine's "sending the batch again" warnings; with ``heal`` set, the
    network heals at the first one (a brief outage)."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.count = 0
        self.heal: Proxy | None = None

    def emit(self, record: logging.LogRecord) -> None:
        if getattr(record, "code", None) in LOST_CONNECTION:
            self.count += 1
            if self.heal is not None:
                self.heal.heal()


@pytest.fixture
def retries() -> Iterator[_Retries]:
    handler = _Retries()
    engine_log = logging.getLogger("syncline.engine")
    engine_log.addHandler(handler)
    try:
        yield handler
    finally:
        engine_log.removeHandler(handler)


def test_destination_reset_mid_run_is_a_connection_error_then_converges(
    route: Route, retries: _Retries
) -> None:
    """The destination resets every connection, the new ones too: the batch is tried
    again on new connections, then the run ends in Error (2000) with what committed."""
    _source(route.db, rows=2000, payload_chars=100)

    def reset() -> None:
        route.destination.add("reset_peer", timeout=0)

    report = run_project(route.project(), on_progress=after_batches(2, reset))
    _assert_failed_cleanly(route, report, route.destination)
    assert retries.count == len(RETRY_PAUSES_SECONDS)
    assert len(route.rows("dst")) == 2 * route.batch  # the batch that failed left nothing
    _assert_converges(route)


def test_destination_cut_mid_batch_is_retried_and_the_run_completes(
    route: Route, retries: _Retries
) -> None:
    """The connection is cut while a batch is being sent (limit_data); the outage is
    brief, so the batch goes again on a new connection and the run completes."""
    _source(route.db, rows=2000, payload_chars=100)
    retries.heal = route.destination

    def cut() -> None:
        route.destination.add("limit_data", stream="upstream", bytes=4000)

    report = run_project(route.project(), on_progress=after_batches(2, cut))
    assert report.result is RunResult.COMPLETED, report.message()
    assert retries.count == 1
    c = report.totals
    assert (c.read, c.inserted, c.updated, c.unchanged) == (2000, 2000, 0, 0)
    assert route.digest("dst") == route.digest("src")


@pytest.mark.parametrize("fault", ["cut", "reset"])
def test_source_connection_lost_mid_read_is_an_error_then_converges(
    route: Route, fault: str
) -> None:
    """The source's connection dies while it streams rows: a read cannot resume in the
    middle of its snapshot, so the run ends in Error (2000) naming the source; the next
    run resumes from the committed watermark."""
    rows = 20_000
    _source(route.db, rows=rows, payload_chars=200)
    route.batch = 1000
    hook = None
    if fault == "cut":  # the connection closes once ~2.5MB of the ~4.4MB have gone through
        route.source.add("limit_data", stream="downstream", bytes=2_500_000)
    else:  # rows trickle in, and the connection is reset after the second batch
        route.source.add("bandwidth", stream="downstream", rate=1000)  # KB/s
        hook = after_batches(2, lambda: route.source.add("reset_peer", timeout=0))
    report = run_project(route.project(), on_progress=hook)
    _assert_failed_cleanly(route, report, route.source)
    rerun = _assert_converges(route)
    assert rerun.totals.read < rows  # resumed from the watermark, not from the start
