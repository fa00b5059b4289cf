"""OData v4 services (Dataverse-shaped): source and sink over HTTP.

Source: entity sets, fields and keys from ``$metadata``; ``$select``, ``$filter`` (the
incremental cursor as ``cursor gt <literal>``) and ``$orderby`` pushed to the service;
server-driven paging through ``@odata.nextLink`` (asking ``Prefer: odata.maxpagesize``);
Arrow batches of at most ``batch_size`` records.

Sink: compare first, then upsert. The existing records with the batch's keys are read
(``$filter`` on the keys, in parallel chunks), equal records are counted unchanged and
not sent, and new or changed ones are PATCHed to the entity's key, which creates an
absent entity. PATCHes travel in JSON ``$batch`` requests of ``batchOperations``
independent operations (``odata_batch``); an operation the service refuses becomes a
reject with its key and 2016 while the others are written (``PartiallyWritten``, so the
writer does not bisect and re-send what was written).

OData has no transaction across requests, so the capabilities say
``transactional=False``: what a batch wrote stays written. The writer saves a batch's
watermark after ``merge`` returned, i.e. after every write of the batch answered, and
upserts are idempotent, so a re-run converges. The service keeps watermarks and rejects
only in the entity sets ``stateEntitySet`` and ``rejectsEntitySet`` name; without them no
watermark is kept (every run reads its source in full, sending only what differs) and
rejects are reported in the run only. See docs/connectors/odata.md.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, nullcontext
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any
from urllib.parse import quote, urljoin

import httpx
import pyarrow as pa

from syncline.api.connection import ConnectionSpec, Entity
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
from syncline.engine.connectors.odata_batch import (
    JSON_IEEE754,
    Operation,
    Outcome,
    batch_body,
    batch_outcomes,
    error_message,
)
from syncline.engine.connectors.odata_metadata import (
    EntitySet,
    edm_arrow_type,
    parse_metadata,
)
from syncline.engine.connectors.odata_values import (
    arrow_value,
    comparable,
    filter_literal,
    key_literal,
    payload_value,
)
from syncline.errors import SynclineError
from syncline.redaction import without_values

LOOKUP_FILTER_CHARS = 2500
"""A compare-first read's $filter is cut here, so URLs stay well under common limits."""
ROW_REJECTED_CODE = 2016
_QUERY_SAFE = "$,()'=:/"


class OdataConnector(Source, Sink):
    """Source and sink for an OData v4 service (endpoint.url is the service root)."""

    capabilities = Capabilities(
        source=True,
        sink=True,
        transactional=False,
        ordered_incremental=True,
        needs_unique_index=True,
    )

    def __init__(
        self,
        spec: ConnectionSpec,
        credentials: Mapping[str, str],
        *,
        timeout_seconds: float,
    ) -> None:
        self.url = (spec.endpoint.url or "").rstrip("/")
        options = spec.options
        self.max_page_size = options.max_page_size
        self.batch_operations = options.batch_operations
        self.state_entity_set = options.state_entity_set
        self.rejects_entity_set = options.rejects_entity_set
        secret = spec.credentials.secret_ref.name if spec.credentials else "(none)"
        self.settings = HttpSettings(
            base_url=self.url + "/",
            timeout_seconds=timeout_seconds,
            parallelism=options.parallelism,
            max_retries=options.max_retries,
            secret_name=secret,
        )
        self._auth = http_auth(spec, credentials, timeout_seconds=timeout_seconds)
        self._http: HttpClient | None = None
        self._sets: dict[str, EntitySet] | None = None

    @property
    def http(self) -> HttpClient:
        if self._http is None:
            if not self.url.startswith(("http://", "https://")):
                raise SynclineError(
                    "EndpointInvalid", field="spec.endpoint.url", detail="needs an http(s) URL"
                )
            self._http = HttpClient(
                self.settings, self._auth, headers={"OData-Version": "4.0", "Accept": JSON_IEEE754}
            )
        return self._http

    def close(self) -> None:
        if self._http is not None:
            self._http.close()
            self._http = None

    def check(self) -> None:
        self._sets = None
        self._entity_sets()

    # -- catalog ---------------------------------------------------------------------
    def _entity_sets(self) -> dict[str, EntitySet]:
        if self._sets is None:
            response = self.http.request("GET", "$metadata", headers={"Accept": "application/xml"})
            if not response.is_success:
                raise self.http.status_error(response)
            try:
                self._sets = parse_metadata(response.content)
            except Exception as err:  # XML the service sent that is no CSDL
                raise SynclineError(
                    "ODataMetadataInvalid", endpoint=self.http.endpoint, detail=str(err)[:200]
                ) from None
        return self._sets

    def _set(self, entity: str) -> EntitySet:
        found = self._entity_sets().get(entity)
        if found is None:
            raise not_found(entity, self.http.endpoint)
        return found

    def discover(self, limit: int = 200) -> tuple[list[Entity], int]:
        sets = sorted(self._entity_sets().values(), key=lambda s: s.name)
        return [s.to_entity() for s in sets[:limit]], len(sets)

    def describe(self, entity: str) -> Entity:
        return self._set(entity).to_entity()

    def arrow_schema(self, entity: str) -> pa.Schema:
        return pa.schema(
            [
                pa.field(p.name, edm_arrow_type(p.catalog_type), p.nullable)
                for p in self._set(entity).properties
            ]
        )

    # -- source ----------------------------------------------------------------------
    def read(
        self,
        entity: str,
        *,
        batch_size: int,
        cursor_field: str | None = None,
        after: str | None = None,
    ) -> Iterator[pa.RecordBatch]:
        entity_set = self._set(entity)
        schema = self.arrow_schema(entity)
        order = [cursor_field] if cursor_field else []
        order += [k for k in entity_set.keys if k not in order]
        params = {"$select": ",".join(schema.names)}
        if order:
            params["$orderby"] = ",".join(order)
        if where := self._past(entity_set, cursor_field, after):
            params["$filter"] = where
        page_size = self.max_page_size or min(batch_size, 5000)
        rows: list[dict[str, Any]] = []
        for page in self._pages(entity_set.name, params, page_size):
            rows.extend(page)
            while len(rows) >= batch_size:
                yield _to_batch(rows[:batch_size], schema)
                del rows[:batch_size]
        if rows:
            yield _to_batch(rows, schema)

    def _past(self, entity_set: EntitySet, cursor_field: str | None, after: str | None) -> str:
        if not cursor_field or after is None:
            return ""
        prop = entity_set.property(cursor_field)
        if prop is None:
            raise not_found(f"{entity_set.name}.{cursor_field}", self.http.endpoint)
        literal = filter_literal(
            after, prop.catalog_type, entity=entity_set.name, field=cursor_field
        )
        return f"{cursor_field} gt {literal}"

    def _pages(
        self, path: str, params: Mapping[str, str] | None, page_size: int | None
    ) -> Iterator[list[dict[str, Any]]]:
        """Every page's records, following ``@odata.nextLink`` (relative or absolute)."""
        headers = {"Prefer": f"odata.maxpagesize={page_size}"} if page_size else None
        url: str | None = with_query(path, params)
        while url is not None:
            response = self.http.request("GET", url, headers=headers)
            if not response.is_success:
                raise self.http.status_error(response)
            body = json.loads(response.content, parse_float=Decimal)
            yield list(body.get("value", []))
            link = body.get("@odata.nextLink")
            url = urljoin(str(response.url), link) if link else None

    def count(
        self,
        entity: str,
        *,
        cursor_field: str | None = None,
        after: str | None = None,
        at_most: int | None = None,
    ) -> int:
        """``$count`` with the same filter: one request, counted by the service."""
        entity_set = self._set(entity)
        where = self._past(entity_set, cursor_field, after)
        response = self.http.request(
            "GET",
            with_query(f"{entity_set.name}/$count", {"$filter": where} if where else None),
            headers={"Accept": "text/plain"},
        )
        if not response.is_success:
            raise self.http.status_error(response)
        found = int(response.text.strip())
        return found if at_most is None else min(found, at_most)

    # -- sink ------------------------------------------------------------------------
    def row_count(self, entity: str) -> int:
        return self.count(entity)

    def transaction(self) -> AbstractContextManager[None]:
        return nullcontext()

    def savepoint(self) -> AbstractContextManager[None]:
        return nullcontext()

    def merge(self, entity: str, batch: pa.RecordBatch, keys: Sequence[str]) -> MergeCounts:
        """Compare, then PATCH only new and changed records (see the module docstring)."""
        entity_set = self._set(entity)
        self._check_keys(entity_set, keys)
        types = {p.name: p.edm_type for p in entity_set.properties}
        names = [n for n in batch.schema.names if n in types]
        rows = batch.select(names).to_pylist()
        payloads = [{n: payload_value(row[n], types[n]) for n in names} for row in rows]
        existing = self._existing(entity_set, keys, payloads, names)
        counts = MergeCounts()
        operations: list[Operation] = []
        inserted: set[int] = set()
        for i, payload in enumerate(payloads):
            current = existing.get(_key_of(payload, keys, types))
            if current is None:
                inserted.add(i)
            elif all(
                comparable(payload[n], types[n]) == comparable(current.get(n), types[n])
                for n in names
            ):
                counts.unchanged += 1
                continue
            body = {n: v for n, v in payload.items() if n not in keys}
            operations.append(Operation(i, self._address(entity_set, payload, keys), body))
        if self.dry_run:
            outcomes = [Outcome(op.row, 200, "") for op in operations]
        else:
            outcomes = self._send(operations)
        refused: list[tuple[int, int, str, str]] = []
        for outcome in outcomes:
            if outcome.ok:
                if outcome.row in inserted:
                    counts.inserted += 1
                else:
                    counts.updated += 1
                continue
            refused.append(self._refusal(outcome, rows[outcome.row], names, entity))
        if refused:
            raise PartiallyWritten(counts, refused)
        return counts

    def _check_keys(self, entity_set: EntitySet, keys: Sequence[str]) -> None:
        if set(keys) != set(entity_set.keys) and not any(
            set(keys) == set(alt) for alt in entity_set.alternate_keys
        ):
            raise SynclineError(
                "NoUniqueIndexOnKeys", task="(merge)", entity=entity_set.name, keys=", ".join(keys)
            )

    def _address(self, entity_set: EntitySet, payload: dict[str, Any], keys: Sequence[str]) -> str:
        types = {p.name: p.edm_type for p in entity_set.properties}
        parts = ",".join(f"{k}={key_literal(payload[k], types[k])}" for k in keys)
        return f"{quote(entity_set.name)}({quote(parts, safe=chr(39) + '=,:.-')})"

    def _existing(
        self,
        entity_set: EntitySet,
        keys: Sequence[str],
        payloads: list[dict[str, Any]],
        names: list[str],
    ) -> dict[tuple[Any, ...], dict[str, Any]]:
        """The service's records with the batch's keys, by canonical key."""
        types = {p.name: p.edm_type for p in entity_set.properties}
        filters: list[str] = []
        current: list[str] = []
        for payload in payloads:
            one = " and ".join(f"{k} eq {key_literal(payload[k], types[k])}" for k in keys)
            current.append(f"({one})" if len(keys) > 1 else one)
            if sum(len(c) + 4 for c in current) > LOOKUP_FILTER_CHARS:
                filters.append(" or ".join(current))
                current = []
        if current:
            filters.append(" or ".join(current))
        select = ",".join(dict.fromkeys([*keys, *names]))

        def fetch(where: str) -> list[dict[str, Any]]:
            params = {"$select": select, "$filter": where}
            return [r for page in self._pages(entity_set.name, params, None) for r in page]

        found: dict[tuple[Any, ...], dict[str, Any]] = {}
        for records in self.http.map_parallel(fetch, filters):
            for record in records:
                found[_key_of(record, keys, types)] = record
        return found

    def _send(self, operations: list[Operation]) -> list[Outcome]:
        if not operations:
            return []
        if self.batch_operations <= 1:
            return self.http.map_parallel(self._patch_one, operations)
        size = self.batch_operations
        chunks = [operations[i : i + size] for i in range(0, len(operations), size)]
        return [o for chunk in self.http.map_parallel(self._post_batch, chunks) for o in chunk]

    def _patch_one(self, op: Operation) -> Outcome:
        response = self.http.request(
            "PATCH", op.url, content=_json_bytes(op.body), headers={"Content-Type": JSON_IEEE754}
        )
        if response.is_success:
            return Outcome(op.row, response.status_code, "")
        if response.status_code in (502, 503, 504):  # retried by the client already
            raise self.http.status_error(response)
        try:
            message = error_message(response.json())
        except ValueError:
            message = response.reason_phrase
        return Outcome(op.row, response.status_code, message)

    def _post_batch(self, operations: list[Operation]) -> list[Outcome]:
        response = self.http.request(
            "POST",
            "$batch",
            content=_json_bytes(batch_body(operations)),
            headers={
                "Content-Type": "application/json",
                "Accept": "application/json",
                "Prefer": "odata.continue-on-error",
            },
            idempotent=True,  # every operation is an upsert of the same values
        )
        if not response.is_success:
            raise self.http.status_error(response)
        try:
            answer = response.json()
        except ValueError:
            answer = None
        return batch_outcomes(operations, answer, endpoint=self.http.endpoint)

    def _refusal(
        self, outcome: Outcome, row: dict[str, Any], names: list[str], entity: str
    ) -> tuple[int, int, str, str]:
        said = outcome.error or f"HTTP {outcome.status}"
        values = [row[n] for n in names]
        public = (
            without_values(said, values, identifiers={*names, entity}) or f"HTTP {outcome.status}"
        )
        message = SynclineError("ODataRowRejected", status=outcome.status, detail=public[:300])
        stored = SynclineError("ODataRowRejected", status=outcome.status, detail=said[:300])
        return outcome.row, ROW_REJECTED_CODE, message.message, stored.message

    def lookup(
        self, entity: str, keys: Sequence[str], batch: pa.RecordBatch
    ) -> list[dict[str, Any]]:
        entity_set = self._set(entity)
        types = {p.name: p.edm_type for p in entity_set.properties}
        names = [n for n in batch.schema.names if n in types]
        payloads = [
            {n: payload_value(row[n], types[n]) for n in names} for row in batch.to_pylist()
        ]
        schema = self.arrow_schema(entity)
        found = self._existing(entity_set, keys, payloads, names)
        return [
            {n: arrow_value(record.get(n), schema.field(n).type) for n in names}
            for record in found.values()
        ]

    def quarantine(self, entity: str, rejects: Sequence[RowError]) -> None:
        """Into ``rejectsEntitySet`` when configured (one upsert per reject, keyed by a
        new Guid); otherwise rejects live in the run's report only."""
        if not rejects or self.dry_run or not self.rejects_entity_set:
            return
        now = _now_text()
        operations = [
            Operation(
                i,
                f"{quote(self.rejects_entity_set)}(id={uuid.uuid4()})",
                {
                    "rejectedAt": now,
                    "entitySet": entity,
                    "task": r.task,
                    "rowKey": r.key,
                    "field": r.field,
                    "code": r.code,
                    "message": r.message[:2000],
                },
            )
            for i, r in enumerate(rejects)
        ]
        failed = [o for o in self._send(operations) if not o.ok]
        if failed:
            raise SynclineError(
                "HttpRequestFailed",
                endpoint=self.http.endpoint,
                method="PATCH",
                path=self.rejects_entity_set,
                status=failed[0].status,
                detail=failed[0].error,
            )

    def load_watermark(self, scope: str) -> str | None:
        """From ``stateEntitySet``; None without one (every run then reads in full)."""
        if not self.state_entity_set:
            return None
        response = self.http.request("GET", self._state_address(scope))
        if response.status_code == 404:
            return None
        if not response.is_success:
            raise self.http.status_error(response)
        value = response.json().get("watermark")
        return str(value) if value is not None else None

    def save_watermark(self, scope: str, value: str) -> None:
        """Called after the batch's writes all answered (the writer saves it last), so a
        watermark never covers a record the service did not take."""
        if self.dry_run or not self.state_entity_set:
            return
        response = self.http.request(
            "PATCH",
            self._state_address(scope),
            content=_json_bytes({"watermark": value}),
            headers={"Content-Type": JSON_IEEE754},
        )
        if not response.is_success:
            raise self.http.status_error(response)

    def _state_address(self, scope: str) -> str:
        assert self.state_entity_set
        literal = "'" + scope.replace("'", "''") + "'"
        return f"{quote(self.state_entity_set)}(scope={quote(literal, safe=chr(39))})"

    def connection_lost(self, err: BaseException) -> SynclineError | None:
        if isinstance(err, SynclineError) and err.code in (2000, 2003):
            return err
        if isinstance(err, httpx.TransportError):
            return SynclineError("ConnectionUnreachable", endpoint=self.url, detail=str(err))
        return None


def with_query(path: str, params: Mapping[str, str] | None) -> str:
    """``path?$a=b`` with spaces as %20: OData services read ``+`` literally (CAP refuses it)."""
    if not params:
        return path
    return path + "?" + "&".join(f"{k}={quote(v, safe=_QUERY_SAFE)}" for k, v in params.items())


def _key_of(
    record: Mapping[str, Any], keys: Sequence[str], types: Mapping[str, str]
) -> tuple[Any, ...]:
    return tuple(comparable(record.get(k), types[k]) for k in keys)


def _to_batch(rows: list[dict[str, Any]], schema: pa.Schema) -> pa.RecordBatch:
    arrays = [
        pa.array([arrow_value(r.get(f.name), f.type) for r in rows], type=f.type) for f in schema
    ]
    return pa.RecordBatch.from_arrays(arrays, schema=schema)


def _now_text() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _json_bytes(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":"), default=str).encode()
