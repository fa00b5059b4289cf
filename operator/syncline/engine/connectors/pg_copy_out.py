"""``COPY … TO STDOUT`` read at libpq level, in chunks of every row already received.

PostgreSQL sends one protocol message per row. psycopg's ``Copy.read`` hands over one
message per call through a generator and its wait loop: about ten Python steps per row,
all holding the GIL. Profiling a 1M-row read (issue 14) found them at a fifth of the
process's samples, in the thread the writer needs the GIL from. Here a tight loop takes
every message libpq has already received (``PQgetCopyData`` in async mode, through
psycopg's documented ``psycopg.pq`` wrapper), joins them (up to ``CHUNK_BYTES``) and
hands them on; it waits — with the GIL released, in ``select`` — only when libpq has
nothing buffered and nothing is left to hand on. Waiting for a full chunk instead was
measured worse (4.5 against 3.3 client CPU-s per 1M rows): the reader then wakes for
every network packet, where handing on lets rows pile up while Arrow parses.

The protocol steps are the ones libpq documents for an asynchronous COPY OUT: send the
statement, take the COPY_OUT result, read data until ``-1``, then read the final
result(s). Stopping early cancels the statement and drains what is left, so the
connection is usable (and its transaction can roll back) afterwards.
"""

from __future__ import annotations

import select
from collections.abc import Generator, Iterator
from typing import Any

import psycopg
from psycopg import pq, sql
from psycopg.errors import error_from_result

CHUNK_BYTES = 1 << 20
"""At most this many bytes are joined into one chunk (Arrow parses blocks of a few MiB)."""


def copy_out(
    conn: psycopg.Connection[Any], statement: sql.Composable
) -> Generator[bytes, None, None]:
    """The output of ``statement`` (a ``COPY … TO STDOUT``) in chunks of whole rows."""
    pgconn = conn.pgconn
    pgconn.send_query(statement.as_bytes(conn))
    _flush(pgconn)
    first = _result(pgconn)
    if first is None or first.status != pq.ExecStatus.COPY_OUT:
        _finish(pgconn, first)
        raise psycopg.ProgrammingError("the statement is not a COPY … TO STDOUT")
    done = False
    try:
        yield from _chunks(pgconn)
        done = True
        _finish(pgconn, None)
    finally:
        if not done and pgconn.status == pq.ConnStatus.OK:
            _abandon(conn)


def _chunks(pgconn: pq.abc.PGconn) -> Iterator[bytes]:
    parts: list[bytes | memoryview] = []
    size = 0
    while True:
        nbytes, data = pgconn.get_copy_data(1)
        if nbytes > 0:
            parts.append(data)
            size += nbytes
            if size >= CHUNK_BYTES:
                yield b"".join(parts)
                parts, size = [], 0
        elif nbytes == 0:  # nothing buffered: hand on what there is, then wait
            if parts:
                yield b"".join(parts)
                parts, size = [], 0
            _wait(pgconn, readable=True)
            pgconn.consume_input()
        else:  # -1: the COPY ended (-2 raises in the wrapper)
            if parts:
                yield b"".join(parts)
            return


def _finish(pgconn: pq.abc.PGconn, failed: pq.abc.PGresult | None) -> None:
    """Read the remaining results; raise the first error among them (or ``failed``'s)."""
    error = failed if failed is not None and _is_error(failed) else None
    while (result := _result(pgconn)) is not None:
        if error is None and _is_error(result):
            error = result
    if error is not None:
        raise error_from_result(error, encoding=_encoding(pgconn))


def _abandon(conn: psycopg.Connection[Any]) -> None:
    """Stop a COPY that was not read to the end: cancel it and drain what was sent."""
    conn.cancel_safe()
    pgconn = conn.pgconn
    for _ in _chunks(pgconn):
        pass
    while _result(pgconn) is not None:
        pass  # the cancellation's error: expected, and the caller is leaving anyway


def _result(pgconn: pq.abc.PGconn) -> pq.abc.PGresult | None:
    while True:
        pgconn.consume_input()
        if not pgconn.is_busy():
            return pgconn.get_result()
        _wait(pgconn, readable=True)


def _flush(pgconn: pq.abc.PGconn) -> None:
    while pgconn.flush() == 1:
        _wait(pgconn, readable=False)


def _wait(pgconn: pq.abc.PGconn, *, readable: bool) -> None:
    fd = pgconn.socket
    select.select([fd] if readable else [], [] if readable else [fd], [])


def _is_error(result: pq.abc.PGresult) -> bool:
    return result.status not in (pq.ExecStatus.COMMAND_OK, pq.ExecStatus.TUPLES_OK)


def _encoding(pgconn: pq.abc.PGconn) -> str:
    """Python's name for the connection's client encoding (for error messages)."""
    name = (pgconn.parameter_status(b"client_encoding") or b"UTF8").decode()
    return "utf-8" if name.upper() in ("UTF8", "UNICODE") else name
