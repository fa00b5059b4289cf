"""The Arrow schema an entity's batches have, worked out from its catalog type names.

A catalog (a Connection's status, or a connector's ``describe``) names each field's type
as the data system reports it. Planning the SQL step needs Arrow types, and the
operator has nothing but the catalog, so the operator and the engine both derive the
schema here, the way each connector reads that system: PostgreSQL and MySQL by
``common.arrow_type``; SQLite narrowed to what it stores (numbers stay typed, the rest
is text); files by parsing the Arrow type name their ``describe`` printed. The
connectors stay the authority on what they read: a contract test holds this to each
connector's own ``arrow_schema``.
"""

from __future__ import annotations

import re

import pyarrow as pa

from syncline.api.connection import ConnectionType, Entity
from syncline.engine.connectors.common import arrow_type
from syncline.engine.connectors.odata_metadata import edm_arrow_type
from syncline.engine.connectors.rest_types import rest_arrow_type

_TIMESTAMP = re.compile(r"timestamp\[(s|ms|us|ns)(?:, tz=(.+))?\]")
_DECIMAL = re.compile(r"decimal(32|64|128|256)\((\d+), (-?\d+)\)")
_FIXED_BINARY = re.compile(r"fixed_size_binary\[(\d+)\]")
_FIXED_LIST = re.compile(r"fixed_size_list<(.*)>\[(\d+)\]")
_DICTIONARY = re.compile(r"dictionary<values=(.*), indices=(\w+), ordered=([01])>")
_DECIMALS = {"32": pa.decimal32, "64": pa.decimal64, "128": pa.decimal128, "256": pa.decimal256}
_NOT_NULL = " not null"
_ENTRIES_NAME = re.compile(r" \('[^']*'\)$")


def catalog_schema(entity: Entity, system: ConnectionType) -> pa.Schema:
    """The schema the connector for ``system`` reads ``entity`` with (no system needed)."""
    fields = [(f.name, _system_type(f.type, system), f.nullable) for f in entity.fields]
    return pa.schema([pa.field(name, t, nullable) for name, t, nullable in fields])


def _system_type(type_name: str, system: ConnectionType) -> pa.DataType:
    if system is ConnectionType.FILE:
        return parse_arrow_type(type_name)
    if system is ConnectionType.ODATA:
        return edm_arrow_type(type_name)
    if system is ConnectionType.REST:
        return rest_arrow_type(type_name)
    t = arrow_type(type_name)
    if system is not ConnectionType.SQLITE:
        return t
    if pa.types.is_decimal(t):
        return pa.float64()
    if pa.types.is_integer(t) or pa.types.is_floating(t) or pa.types.is_boolean(t):
        return t
    return pa.string()


def parse_arrow_type(text: str) -> pa.DataType:
    """The Arrow type ``str(data_type)`` printed; text for a name it does not know."""
    text = text.strip()
    parsed = _parametrized(text) or _nested(text)
    if parsed is not None:
        return parsed
    try:
        return pa.type_for_alias(text)
    except (ValueError, KeyError):
        return pa.string()


def _parametrized(text: str) -> pa.DataType | None:
    if m := _TIMESTAMP.fullmatch(text):
        return pa.timestamp(m[1], m[2])
    if m := _DECIMAL.fullmatch(text):
        return _DECIMALS[m[1]](int(m[2]), int(m[3]))
    if m := _FIXED_BINARY.fullmatch(text):
        return pa.binary(int(m[1]))
    if m := _DICTIONARY.fullmatch(text):
        indices, values = parse_arrow_type(m[2]), parse_arrow_type(m[1])
        return pa.dictionary(indices, values, ordered=m[3] == "1")
    return None


def _nested(text: str) -> pa.DataType | None:
    if m := _FIXED_LIST.fullmatch(text):
        return pa.list_(_field(m[1]), int(m[2]))
    kind, _, rest = text.partition("<")
    if not rest.endswith(">") or kind not in ("list", "large_list", "struct", "map"):
        return None
    inner = rest[:-1]
    if kind == "map":  # one read back from Parquet also prints its entries' name: ('name')
        inner = _ENTRIES_NAME.sub("", inner)
    parts = _split(inner) if inner else []
    if kind == "struct":
        return pa.struct([_field(p) for p in parts])
    if kind == "map" and len(parts) in (2, 3):
        sort = parts[2:] == ["keys_sorted"]
        return pa.map_(parse_arrow_type(parts[0]), parse_arrow_type(parts[1]), keys_sorted=sort)
    if len(parts) != 1:
        return None
    return pa.large_list(_field(parts[0])) if kind == "large_list" else pa.list_(_field(parts[0]))


def _field(text: str) -> pa.Field:
    """``name: type`` with an optional ``not null``, as nested types print their children."""
    name, _, type_name = text.partition(": ")
    nullable = not type_name.endswith(_NOT_NULL)
    if not nullable:
        type_name = type_name[: -len(_NOT_NULL)]
    return pa.field(name, parse_arrow_type(type_name), nullable)


def _split(text: str) -> list[str]:
    """``text`` split at the top-level ``", "`` (not inside <>, () or [])."""
    parts, depth, start = [], 0, 0
    for i, char in enumerate(text):
        if char in "<([":
            depth += 1
        elif char in ">)]":
            depth -= 1
        elif depth == 0 and text.startswith(", ", i):
            parts.append(text[start:i])
            start = i + 2
    parts.append(text[start:])
    return parts
