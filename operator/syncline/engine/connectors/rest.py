"""REST JSON APIs as a source: declared collections, read page by page into Arrow.

REST has no metadata document, so each collection is declared in the Connection
(``spec.options.rest.entities``: path, fields with JSON types, key). That declared
catalog is what the operator validates mappings against before any data moves; a
sample page could not be trusted for it (it may be empty, or lack optional members).

Responses carry their records at ``recordsPath`` (``data.items``: dotted members; the
body itself when absent). Pages follow one of the common styles: a next URL in the body
or in an RFC 8288 ``Link`` header, page numbers, offsets, or an opaque cursor token.
Records are gathered into Arrow batches of at most ``batch_size`` rows, so memory is
bounded by one page plus one batch whatever the collection's size.

Incremental reads send the watermark in the entity's ``cursorParam`` when it has one
(the server filters) and always filter client-side too, since APIs differ on whether
such a parameter means "after" or "from". All requests go through ``HttpClient`` (retries,
Retry-After shared by workers) with the auth of ``http_auth``.

An entity with an ``upsert`` path (``v1/customers/{id}``) is also a destination. REST
has no transactions and no bulk compare, so each record of a batch is first read at its
own URL (in parallel; 404 means absent), records equal to what the API holds are not
sent, and the others are PUT (or PATCHed) there: counts are true and an identical re-run
writes nothing. A record the API refuses (4xx) becomes a row error (2303) and the rest of
the batch is written (``PartiallyWritten``); a re-run converges since writes are
idempotent. Watermarks and rejects go to ``statePath`` and ``rejectsPath`` when the API
offers such places.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, nullcontext
from datetime import UTC, date, datetime
from decimal import Decimal
from string import Formatter
from typing import Any
from urllib.parse import quote, urljoin

import httpx
import pyarrow as pa
import pyarrow.compute as pc

from syncline.api.connection import (
    ConnectionSpec,
    Entity,
    EntityField,
    RestEntity,
    RestOptions,
    RestPagination,
    RestPaginationStyle,
    RestUpsert,
)
from syncline.api.run import RowError
from syncline.engine.connectors.base import (
    Capabilities,
    MergeCounts,
    PartiallyWritten,
    Sink,
    Source,
)
from syncline.engine.connectors.common import not_found
from syncline.engine.connectors.http_auth import http_auth
from syncline.engine.connectors.http_client import HttpClient, HttpSettings
from syncline.engine.connectors.rest_types import REST_ARROW_TYPES
from syncline.errors import SynclineError

MAX_PAGES = 1_000_000
"""A runaway paginator (a server repeating its next link) stops here with 2032."""


class RestConnector(Source, Sink):
    """Reads declared collections of a REST JSON API; writes those with an upsert path."""

    capabilities = Capabilities(
        source=True,
        sink=True,
        transactional=False,
        ordered_incremental=False,
        needs_unique_index=False,
    )

    def __init__(
        self, spec: ConnectionSpec, credentials: Mapping[str, str], *, timeout_seconds: float
    ) -> None:
        if not spec.endpoint.url:
            raise SynclineError(
                "EndpointInvalid", field="url", detail="a rest connection needs one"
            )
        self.spec = spec
        self.options = spec.options.rest or RestOptions()
        self.entities = {e.name: e for e in self.options.entities}
        settings = HttpSettings(
            base_url=spec.endpoint.url,
            timeout_seconds=timeout_seconds,
            parallelism=spec.options.parallelism,
            max_retries=spec.options.max_retries,
            secret_name=spec.credentials.secret_ref.name if spec.credentials else "(none)",
        )
        self.auth = http_auth(spec, credentials, timeout_seconds=timeout_seconds)
        """The requests' auth (an OAuth2 one keeps the token and counts token requests)."""
        self.http = HttpClient(settings, self.auth, headers={"Accept": "application/json"})

    # -- catalog ---------------------------------------------------------------------
    def check(self) -> None:
        """One request: the first page of the first collection, else the base URL."""
        if self.options.entities:
            first = self.options.entities[0]
            next(self._pages(first, after=None), None)
            return
        response = self.http.request("GET", "")
        if response.status_code >= 500:
            raise self.http.status_error(response)

    def discover(self, limit: int = 200) -> tuple[list[Entity], int]:
        entities = [self.describe(e.name) for e in self.options.entities[:limit]]
        return entities, len(self.options.entities)

    def describe(self, entity: str) -> Entity:
        declared = self._entity(entity)
        return Entity(
            name=declared.name,
            fields=[
                EntityField(name=f.name, type=f.type.value, nullable=f.nullable)
                for f in declared.fields
            ],
            unique_keys=[list(declared.key)] if declared.key else [],
        )

    def arrow_schema(self, entity: str) -> pa.Schema:
        declared = self._entity(entity)
        return pa.schema(
            [pa.field(f.name, REST_ARROW_TYPES[f.type], f.nullable) for f in declared.fields]
        )

    def _entity(self, name: str) -> RestEntity:
        found = self.entities.get(name)
        if found is None:
            raise not_found(name, self.http.endpoint)
        return found

    # -- reading ---------------------------------------------------------------------
    def read(
        self,
        entity: str,
        *,
        batch_size: int,
        cursor_field: str | None = None,
        after: str | None = None,
    ) -> Iterator[pa.RecordBatch]:
        declared = self._entity(entity)
        schema = self.arrow_schema(entity)
        if cursor_field is not None and cursor_field not in schema.names:
            raise SynclineError(
                "RestEntityInvalid", entity=entity, detail=f"no field {cursor_field} declared"
            )
        pending: list[dict[str, Any]] = []
        for records in self._pages(declared, after=after if cursor_field else None):
            pending.extend(records)
            while len(pending) >= batch_size:
                batch = self._filtered(declared, schema, pending[:batch_size], cursor_field, after)
                del pending[:batch_size]
                if batch.num_rows:
                    yield batch
        if pending:
            batch = self._filtered(declared, schema, pending, cursor_field, after)
            if batch.num_rows:
                yield batch

    def count(
        self,
        entity: str,
        *,
        cursor_field: str | None = None,
        after: str | None = None,
        at_most: int | None = None,
    ) -> int | None:
        """Counted by reading (REST has no count), stopping once ``at_most`` is reached."""
        total = 0
        for batch in self.read(entity, batch_size=1000, cursor_field=cursor_field, after=after):
            total += batch.num_rows
            if at_most is not None and total >= at_most:
                return at_most
        return total

    def close(self) -> None:
        self.http.close()

    # -- writing ---------------------------------------------------------------------
    def transaction(self) -> AbstractContextManager[None]:
        """No transactions over HTTP: each record is written when merged."""
        return nullcontext()

    def savepoint(self) -> AbstractContextManager[None]:
        return nullcontext()

    def merge(self, entity: str, batch: pa.RecordBatch, keys: Sequence[str]) -> MergeCounts:
        """Read each record at its URL, send only the new and changed ones."""
        upsert = self._upsert(entity)
        rows = batch.to_pylist()
        paths = [self._item_path(entity, upsert, row) for row in rows]
        existing = self.http.map_parallel(self._get_item, paths)
        held = self._as_batch_rows(entity, existing, batch.schema)
        counts = MergeCounts()
        writes: list[tuple[int, bool]] = []
        for index, (row, old, current) in enumerate(zip(rows, existing, held, strict=True)):
            if old is not None and current == row:
                counts.unchanged += 1
            else:
                writes.append((index, old is None))
        if self.dry_run:
            outcomes: list[tuple[int, str] | None] = [None] * len(writes)
        else:
            outcomes = self.http.map_parallel(
                lambda w: self._write(upsert, paths[w[0]], rows[w[0]]), writes
            )
        refused: list[tuple[int, int, str, str]] = []
        for (index, created), outcome in zip(writes, outcomes, strict=True):
            if outcome is None:
                if created:
                    counts.inserted += 1
                else:
                    counts.updated += 1
                continue
            status, said = outcome
            public = SynclineError("RowRejected", detail=f"{entity} answered HTTP {status}")
            stored = SynclineError("RowRejected", detail=f"HTTP {status}: {said}"[:300])
            refused.append((index, public.code, public.message, stored.message))
        if refused:
            raise PartiallyWritten(counts, refused)
        return counts

    def lookup(
        self, entity: str, keys: Sequence[str], batch: pa.RecordBatch
    ) -> list[dict[str, Any]]:
        upsert = self._upsert(entity)
        paths = [self._item_path(entity, upsert, row) for row in batch.to_pylist()]
        existing = self.http.map_parallel(self._get_item, paths)
        held = self._as_batch_rows(entity, existing, batch.schema)
        return [row for row in held if row is not None]

    def row_count(self, entity: str) -> int | None:
        return self.count(entity)

    def quarantine(self, entity: str, rejects: Sequence[RowError]) -> None:
        path = self.options.rejects_path
        if not rejects or path is None or self.dry_run:
            return
        for reject in rejects:
            response = self.http.request(
                "POST", path, json=reject.model_dump(mode="json"), idempotent=False
            )
            if not response.is_success:
                raise self.http.status_error(response)

    def load_watermark(self, scope: str) -> str | None:
        if self.options.state_path is None:
            return None
        response = self.http.request("GET", self._state_path(scope))
        if response.status_code == 404:
            return None
        if not response.is_success:
            raise self.http.status_error(response)
        value = _json(response, "watermark", self.http.endpoint)
        found = value.get("value") if isinstance(value, dict) else None
        return None if found is None else str(found)

    def save_watermark(self, scope: str, value: str) -> None:
        if self.options.state_path is None or self.dry_run:
            return
        response = self.http.request("PUT", self._state_path(scope), json={"value": value})
        if not response.is_success:
            raise self.http.status_error(response)

    def _state_path(self, scope: str) -> str:
        assert self.options.state_path is not None
        return self.options.state_path.replace("{scope}", quote(scope, safe=""))

    def _upsert(self, entity: str) -> RestUpsert:
        upsert = self._entity(entity).upsert
        if upsert is None:
            raise SynclineError("RestUpsertNotConfigured", entity=entity)
        return upsert

    def _item_path(self, entity: str, upsert: RestUpsert, row: dict[str, Any]) -> str:
        path = upsert.path
        for _, name, _, _ in Formatter().parse(upsert.path):
            if not name:
                continue
            if row.get(name) is None:
                raise SynclineError(
                    "RestEntityInvalid",
                    entity=entity,
                    detail=f"upsert path needs field {name}, which a record lacks",
                )
            path = path.replace("{" + name + "}", quote(str(row[name]), safe=""))
        return path

    def _get_item(self, path: str) -> dict[str, Any] | None:
        response = self.http.request("GET", path)
        if response.status_code == 404:
            return None
        if not response.is_success:
            raise self.http.status_error(response)
        body = _json(response, path, self.http.endpoint)
        if not isinstance(body, dict):
            raise SynclineError(
                "RestResponseInvalid", endpoint=self.http.endpoint, entity=path, detail="no object"
            )
        return body

    def _write(self, upsert: RestUpsert, path: str, row: dict[str, Any]) -> tuple[int, str] | None:
        """None when the API took the record, else its status and first words."""
        body = json.loads(json.dumps(row, default=_json_value))
        response = self.http.request(upsert.method, path, json=body)
        if response.is_success:
            return None
        if 400 <= response.status_code < 500:
            lines = response.text.strip().splitlines()
            return response.status_code, lines[0][:200] if lines else ""
        raise self.http.status_error(response)

    def _as_batch_rows(
        self, entity: str, existing: list[dict[str, Any] | None], schema: pa.Schema
    ) -> list[dict[str, Any] | None]:
        """What the API holds, typed like the batch (None for a record it cannot type)."""
        held: list[dict[str, Any] | None] = []
        for record in existing:
            if record is None:
                held.append(None)
                continue
            try:
                typed = records_to_batch(entity, [record], schema, self.http.endpoint)
            except SynclineError:
                held.append(None)  # not comparable: written again, which is harmless
                continue
            held.append(typed.to_pylist()[0])
        return held

    def _filtered(
        self,
        declared: RestEntity,
        schema: pa.Schema,
        records: list[dict[str, Any]],
        cursor_field: str | None,
        after: str | None,
    ) -> pa.RecordBatch:
        batch = records_to_batch(declared.name, records, schema, self.http.endpoint)
        if cursor_field is None or after is None:
            return batch
        column = batch.column(schema.get_field_index(cursor_field))
        try:
            bound = pa.scalar(after).cast(column.type)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as err:
            raise SynclineError(
                "RestEntityInvalid",
                entity=declared.name,
                detail=f"watermark {after!r} is no {column.type} like {cursor_field}",
            ) from err
        return batch.filter(pc.fill_null(pc.greater(column, bound), False))

    def _pages(self, entity: RestEntity, *, after: str | None) -> Iterator[list[dict[str, Any]]]:
        """The records of each page of ``entity``, in order, until the last page."""
        paging = entity.pagination or self.options.pagination
        records_path = entity.records_path or self.options.records_path
        params = dict(entity.params)
        if after is not None and entity.cursor_param:
            params[entity.cursor_param] = after
        if paging.page_size and paging.style is not RestPaginationStyle.NONE:
            params[paging.page_size_param] = str(paging.page_size)
        url: str | None = entity.path
        number, offset = paging.first_page, 0
        for _ in range(MAX_PAGES):
            if paging.style is RestPaginationStyle.PAGE_NUMBER:
                params[paging.page_param] = str(number)
            elif paging.style is RestPaginationStyle.OFFSET:
                params[paging.offset_param] = str(offset)
            assert url is not None
            # No params at all (not an empty mapping, which would drop a next link's query).
            response = self.http.request("GET", url, params=params or None)
            if not response.is_success:
                raise self.http.status_error(response)
            body = _json(response, entity.name, self.http.endpoint)
            records = _records(body, records_path, entity.name, self.http.endpoint)
            yield records
            url, params = self._next(paging, entity, response, body, records, url, params)
            if url is None:
                return
            number, offset = number + 1, offset + len(records)
        raise SynclineError(
            "RestResponseInvalid",
            endpoint=self.http.endpoint,
            entity=entity.name,
            detail=f"more than {MAX_PAGES} pages (does the next link repeat?)",
        )

    def _next(
        self,
        paging: RestPagination,
        entity: RestEntity,
        response: httpx.Response,
        body: Any,
        records: list[dict[str, Any]],
        url: str,
        params: dict[str, str],
    ) -> tuple[str | None, dict[str, str]]:
        """The next request (URL and parameters), or None after the last page."""
        style = paging.style
        if style is RestPaginationStyle.NONE:
            return None, params
        if style is RestPaginationStyle.NEXT_LINK or style is RestPaginationStyle.LINK_HEADER:
            if style is RestPaginationStyle.NEXT_LINK:
                link = _member(body, paging.next_path or "next")
            else:
                link = response.links.get("next", {}).get("url")
            if not link:
                return None, params
            # The link carries every parameter the server wants: send it as given.
            return urljoin(str(response.request.url), str(link)), {}
        if style is RestPaginationStyle.CURSOR:
            token = _member(body, paging.next_path or "nextCursor")
            if token in (None, "") or not records:
                return None, params
            return url, {**params, paging.cursor_param: str(token)}
        # pageNumber and offset: a short (or empty) page is the last one.
        if not records or (paging.page_size is not None and len(records) < paging.page_size):
            return None, params
        return url, params


def _json(response: httpx.Response, entity: str, endpoint: str) -> Any:
    try:
        return response.json()
    except ValueError as err:
        raise SynclineError(
            "RestResponseInvalid",
            endpoint=endpoint,
            entity=entity,
            detail="a body that is not JSON",
        ) from err


def _member(body: Any, path: str) -> Any:
    """The value at dotted ``path`` in ``body`` (None when any step is missing)."""
    value = body
    for step in path.split(".") if path else ():
        if not isinstance(value, dict):
            return None
        value = value.get(step)
    return value


def _records(body: Any, path: str | None, entity: str, endpoint: str) -> list[dict[str, Any]]:
    records = _member(body, path) if path else body
    if not isinstance(records, list) or not all(isinstance(r, dict) for r in records):
        where = f"at {path}" if path else "as the body"
        raise SynclineError(
            "RestResponseInvalid",
            endpoint=endpoint,
            entity=entity,
            detail=f"no array of JSON objects {where}",
        )
    return records


def records_to_batch(
    entity: str, records: list[dict[str, Any]], schema: pa.Schema, endpoint: str
) -> pa.RecordBatch:
    """JSON records as an Arrow batch of ``schema`` (undeclared members are ignored)."""
    columns = []
    for field in schema:
        values = [record.get(field.name) for record in records]
        try:
            columns.append(_column(values, field.type))
        except (pa.ArrowInvalid, pa.ArrowTypeError, ValueError, TypeError) as err:
            raise SynclineError(
                "RestResponseInvalid",
                endpoint=endpoint,
                entity=entity,
                detail=f"field {field.name} values that are no {field.type}",
            ) from err
    return pa.RecordBatch.from_arrays(columns, schema=schema)


def _column(values: list[Any], arrow: pa.DataType) -> pa.Array:
    if pa.types.is_timestamp(arrow):
        return pa.array([_timestamp(v) for v in values], arrow)
    if pa.types.is_date(arrow):
        return pa.array([None if v is None else date.fromisoformat(str(v)) for v in values], arrow)
    if pa.types.is_integer(arrow) and any(isinstance(v, bool | float) for v in values):
        raise ValueError("not integers")
    if pa.types.is_string(arrow):
        return pa.array([v if v is None or isinstance(v, str) else str(v) for v in values], arrow)
    return pa.array(values, arrow)


def _json_value(value: Any) -> Any:
    """JSON for what Arrow rows hold besides JSON's own types."""
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, bytes):
        return value.hex()
    return str(value)


def _timestamp(value: Any) -> datetime | None:
    """An ISO 8601 text as a naive UTC datetime (what a timestamp field holds)."""
    if value is None:
        return None
    parsed = datetime.fromisoformat(str(value))
    if parsed.tzinfo is not None:
        parsed = parsed.astimezone(UTC).replace(tzinfo=None)
    return parsed
