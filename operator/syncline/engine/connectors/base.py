"""The connector interface: what every system Syncline talks to must offer.

A Source streams Arrow record batches (optionally only records whose cursor is past a
watermark). A Sink merges batches into an entity by integration keys inside
transactions it controls, and keeps the quarantine and the watermark next to the data
so all three commit together. Connectors declare what they can do as data
(``Capabilities``); the runner reads it instead of testing classes.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from syncline.api.connection import Entity
from syncline.api.run import RowError
from syncline.engine.partitions import KeyRange
from syncline.errors import SynclineError

# Arrow is imported where it is used: the operator probes connections through this
# module and must not load Arrow for that (tests/unit/test_operator_imports.py).
if TYPE_CHECKING:
    import pyarrow as pa

DEFAULT_BATCH_SIZE = 50_000


@dataclass(frozen=True)
class Capabilities:
    """What a connector supports; the runner plans around these flags."""

    source: bool
    sink: bool
    transactional: bool
    """Batches, rejects and watermark commit atomically (else only at close)."""
    ordered_incremental: bool
    """The source returns incremental reads ordered by the cursor field."""
    needs_unique_index: bool
    """Upserts rely on a unique index covering the integration keys."""


@dataclass
class MergeCounts:
    """What one merge did to the destination."""

    inserted: int = 0
    updated: int = 0
    unchanged: int = 0

    def __iadd__(self, other: MergeCounts) -> MergeCounts:
        self.inserted += other.inserted
        self.updated += other.updated
        self.unchanged += other.unchanged
        return self


class PartiallyWritten(Exception):  # noqa: N818 - an outcome, not only a failure
    """A sink without transactions wrote part of a batch and refused some rows.

    Such a sink cannot roll the written rows back, so bisecting the batch (as the
    writer does for transactional sinks) would send them again and miscount them.
    It reports instead what it wrote and which rows (by index in the batch) it refused,
    each with a catalog code and a message without values (``stored`` may have them).
    """

    def __init__(self, counts: MergeCounts, refused: list[tuple[int, int, str, str]]) -> None:
        super().__init__(f"{len(refused)} rows refused")
        self.counts = counts
        self.refused = refused
        """(row index, code, public message, stored message) per refused row."""


class Connector(ABC):
    """Shared by sources and sinks: reachability and the entity catalog."""

    capabilities: Capabilities

    @abstractmethod
    def check(self) -> None:
        """Raise a 2000-2003 SynclineError when the system cannot be used."""

    @abstractmethod
    def discover(self, limit: int = 200) -> tuple[list[Entity], int]:
        """Up to ``limit`` entities with fields and unique keys, and the total count."""

    @abstractmethod
    def describe(self, entity: str) -> Entity:
        """One entity's fields and unique keys; 2004 EntityNotFound when it is absent."""

    def arrow_schema(self, entity: str) -> pa.Schema:
        """The Arrow schema batches of ``entity`` have (used to plan the SQL step)."""
        raise NotImplementedError

    def close(self) -> None:  # noqa: B027 - most connectors have nothing to publish
        """Release connections; sinks without transactions publish their output here."""

    def connection_lost(self, err: BaseException) -> SynclineError | None:
        """2000 ConnectionUnreachable (2003 for a timeout) when ``err`` says the connection
        to the system broke (reset, closed, gone away): what it interrupted did not commit,
        and the connector connects afresh on its next use. None for any other error."""
        return None


class Source(Connector):
    """Streams an entity's records as Arrow batches; memory is bounded by batch_size."""

    @abstractmethod
    def read(
        self,
        entity: str,
        *,
        batch_size: int,
        cursor_field: str | None = None,
        after: str | None = None,
    ) -> Iterator[pa.RecordBatch]:
        """Every record, or with ``cursor_field`` those whose cursor > ``after``."""

    def count(
        self,
        entity: str,
        *,
        cursor_field: str | None = None,
        after: str | None = None,
        at_most: int | None = None,
    ) -> int | None:
        """How many records ``read`` with the same arguments would return, counting no
        further than ``at_most`` (whether a table is over a limit is known after limit + 1
        rows, whether it is empty after one). None when the source cannot tell cheaply:
        the runner then checks as it reads."""
        return None

    def key_bounds(self, entity: str, key: str) -> tuple[int | None, int | None]:
        """The smallest and largest value of the integer field ``key`` ((None, None) when
        the entity has none), to split a task over pods. This default reads the entity
        through; a source that can ask for them (``min``/``max`` over an index) should."""
        import pyarrow.compute as pc

        low: int | None = None
        high: int | None = None
        for batch in self.read(entity, batch_size=DEFAULT_BATCH_SIZE):
            column = batch.column(key)
            if column.null_count == len(column):
                continue
            bounds = pc.min_max(column)
            lo, hi = bounds["min"].as_py(), bounds["max"].as_py()
            low = lo if low is None else min(low, lo)
            high = hi if high is None else max(high, hi)
        return low, high

    def read_range(
        self,
        entity: str,
        key_range: KeyRange,
        *,
        batch_size: int,
        cursor_field: str | None = None,
        after: str | None = None,
    ) -> Iterator[pa.RecordBatch]:
        """``read``, only the records whose key lies in ``key_range`` (one pod's share of
        a split task). This default filters what ``read`` returns; a source that can
        filter (a WHERE on an indexed key) should, so each pod reads only its share."""
        rows = self.read(entity, batch_size=batch_size, cursor_field=cursor_field, after=after)
        return key_range.filter(rows)


class Sink(Connector):
    """Merges batches by keys. Called inside ``transaction()``; raises on rejection."""

    @abstractmethod
    def transaction(self) -> AbstractContextManager[None]:
        """Commit on success, roll back on error (a no-op scope for file sinks)."""

    @abstractmethod
    def savepoint(self) -> AbstractContextManager[None]:
        """A nested scope a failed merge rolls back alone, so good rows survive."""

    @abstractmethod
    def merge(self, entity: str, batch: pa.RecordBatch, keys: Sequence[str]) -> MergeCounts:
        """Upsert ``batch`` (unique keys) by ``keys``; unchanged rows are not rewritten."""

    def prepare(self, entity: str, batch: pa.RecordBatch) -> None:
        """Work on ``batch`` that needs no connection (encoding it for the wire), done
        on the reading thread ahead of ``merge`` so it overlaps the previous batch's
        write (``engine.write_behind``). ``merge`` must work without it too: a slice
        of a refused batch is merged unprepared."""

    @abstractmethod
    def quarantine(self, entity: str, rejects: Sequence[RowError]) -> None:
        """Keep failed rows for fixing and replay (table _syncline_rejects or a file)."""

    @abstractmethod
    def load_watermark(self, scope: str) -> str | None:
        """The committed watermark of ``scope`` (project/task), or None."""

    @abstractmethod
    def save_watermark(self, scope: str, value: str) -> None:
        """Store the watermark in the current transaction."""

    def lookup(
        self, entity: str, keys: Sequence[str], batch: pa.RecordBatch
    ) -> list[dict[str, Any]]:
        """Existing rows with the keys of ``batch``'s (few) rows, its columns only (for plan)."""
        raise NotImplementedError

    def row_count(self, entity: str) -> int | None:
        """How many rows the destination entity has (0 when it does not exist yet), for
        the guardrails; None when the destination cannot tell."""
        return None

    def rollback_only(self) -> None:
        """Make every later transaction roll back and keep no rejects or watermarks.

        Plan mode computes real counts but must leave the destination exactly as it was:
        no rows and no tables, not even a state or rejects table it would roll back."""
        self.dry_run = True

    dry_run: bool = False

    @property
    def row_rejections(self) -> tuple[type[BaseException], ...]:
        """Errors meaning "the destination refused these rows" (bisected to the bad rows),
        as opposed to errors meaning the destination itself failed. A property, so a sink
        can name Arrow's errors without importing Arrow before it writes."""
        return ()
