"""Reading PostgreSQL fast: ``COPY (SELECT …) TO STDOUT`` parsed by Arrow's CSV reader.

Rows never become Python objects: the server streams CSV, Arrow parses it in C++ with
the column types taken from the catalog, so reading costs about as much as the COPY.
NULL is an unquoted empty field and an empty string a quoted one, which Arrow keeps
apart; booleans arrive as t/f and time zones are rendered as UTC with a ``Z``.
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Iterator

import pyarrow as pa
import pyarrow.csv as pacsv
from psycopg import sql

ROW_BYTES_GUESS = 300
"""Bytes per CSV row assumed when sizing parse blocks, so a block is about one batch."""
MAX_BLOCK_BYTES = 4 << 20
"""Bigger blocks parse no faster but cost memory (Arrow holds several in flight)."""


class CopyStream(io.RawIOBase):
    """A readable file over the chunks a COPY TO STDOUT yields (``pg_copy_out``).

    ``readinto`` fills the whole buffer it is given, so Arrow's block reads cost one
    call each, not one per row.
    """

    def __init__(self, chunks: Iterable[bytes | bytearray | memoryview]) -> None:
        self._chunks = iter(chunks)
        self._pending: bytes | bytearray | memoryview = b""
        self._offset = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        view = memoryview(buffer).cast("B")
        filled = 0
        while filled < len(view):
            if self._offset >= len(self._pending):
                chunk = next(self._chunks, None)
                if chunk is None:
                    break
                self._pending, self._offset = chunk, 0
            n = min(len(view) - filled, len(self._pending) - self._offset)
            view[filled : filled + n] = self._pending[self._offset : self._offset + n]
            filled += n
            self._offset += n
        return filled


def select_list(schema: pa.Schema) -> sql.Composed:
    """Columns rendered so Arrow parses them into the schema's types."""
    parts = []
    for field in schema:
        name = sql.Identifier(field.name)
        if pa.types.is_string(field.type):
            parts.append(sql.SQL("{}::text").format(name))
        elif pa.types.is_timestamp(field.type) and field.type.tz:
            parts.append(
                sql.SQL(
                    "to_char({} AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')"
                ).format(name)
            )
        else:
            parts.append(sql.SQL("{}").format(name))
    return sql.SQL(", ").join(parts)


def parse(stream: io.RawIOBase, schema: pa.Schema, batch_size: int) -> Iterator[pa.RecordBatch]:
    """Record batches of at most ``batch_size`` rows from a headerless CSV stream."""
    buffered = io.BufferedReader(stream, buffer_size=1 << 20)
    if not buffered.peek(1):
        return  # no rows (Arrow refuses an empty CSV rather than yielding nothing)
    reader = pacsv.open_csv(
        buffered,
        read_options=pacsv.ReadOptions(
            column_names=schema.names,
            block_size=min(max(batch_size * ROW_BYTES_GUESS, 1 << 20), MAX_BLOCK_BYTES),
        ),
        convert_options=pacsv.ConvertOptions(
            column_types=schema,
            strings_can_be_null=True,
            quoted_strings_can_be_null=False,
            true_values=["t"],
            false_values=["f"],
        ),
    )
    try:
        for block in reader:
            for offset in range(0, block.num_rows, batch_size):
                yield block.slice(offset, batch_size)
    finally:
        reader.close()
