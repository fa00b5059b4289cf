"""Values between Arrow and OData JSON: payloads, filter literals, comparison.

Bodies are parsed with ``Decimal`` for every JSON number, so a decimal the service
sends as a number keeps its digits. Timestamps are compared at millisecond precision:
services commonly keep no more (CAP stores milliseconds), and comparing microseconds
would make every unchanged record look changed on every run.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from decimal import Decimal, InvalidOperation
from typing import Any

import pyarrow as pa

from syncline.engine.connectors.odata_metadata import bare_type
from syncline.errors import SynclineError


def payload_value(value: Any, edm: str) -> Any:
    """A Python value (from Arrow) as the JSON value OData expects for ``edm``."""
    if value is None:
        return None
    if edm == "Edm.DateTimeOffset":
        return _timestamp_text(_as_datetime(value))
    if edm == "Edm.Date":
        return (value.date() if isinstance(value, datetime) else value).isoformat()
    if edm == "Edm.Decimal":
        return str(value) if isinstance(value, Decimal) else str(Decimal(str(value)))
    if edm in ("Edm.Int16", "Edm.Int32", "Edm.Int64", "Edm.Byte", "Edm.SByte"):
        return int(value)
    if edm in ("Edm.Double", "Edm.Single"):
        return float(value)
    if edm == "Edm.Boolean":
        return bool(value)
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, bytes):
        return value.hex()
    if isinstance(value, Decimal):
        return str(value)
    return value if isinstance(value, str | int | float | bool) else str(value)


def comparable(value: Any, edm: str) -> Any:
    """A canonical form of a payload or response value, so equal values compare equal."""
    if value is None:
        return None
    try:
        if edm == "Edm.Decimal" or edm in ("Edm.Double", "Edm.Single"):
            return Decimal(str(value)).normalize()
        if edm in ("Edm.Int16", "Edm.Int32", "Edm.Int64", "Edm.Byte", "Edm.SByte"):
            return int(value)
        if edm == "Edm.DateTimeOffset":
            moment = _as_datetime(value)
            return moment.replace(microsecond=moment.microsecond // 1000 * 1000)
        if edm == "Edm.Date":
            return date.fromisoformat(str(value)[:10])
    except (InvalidOperation, ValueError):
        return value
    return value


def arrow_value(value: Any, arrow: pa.DataType) -> Any:
    """A response value as the Python value Arrow builds ``arrow`` from."""
    if value is None:
        return None
    if pa.types.is_timestamp(arrow):
        return _as_datetime(value)
    if pa.types.is_date(arrow):
        return date.fromisoformat(str(value)[:10])
    if pa.types.is_decimal(arrow):
        return Decimal(str(value))
    if pa.types.is_integer(arrow):
        return int(value)
    if pa.types.is_floating(arrow):
        return float(value)
    if pa.types.is_boolean(arrow):
        return bool(value)
    if pa.types.is_string(arrow) and not isinstance(value, str):
        return str(value) if not isinstance(value, dict | list) else _json_text(value)
    return value


def filter_literal(text: str, catalog_type: str, *, entity: str, field: str) -> str:
    """A watermark (text) as an OData URL literal of the cursor's type."""
    edm = bare_type(catalog_type)
    if edm in ("Edm.Int16", "Edm.Int32", "Edm.Int64", "Edm.Byte", "Edm.SByte"):
        return str(int(Decimal(text)))
    if edm in ("Edm.Decimal", "Edm.Double", "Edm.Single"):
        return format(Decimal(text), "f")
    if edm == "Edm.String":
        return "'" + text.replace("'", "''") + "'"
    if edm == "Edm.Date":
        return date.fromisoformat(text[:10]).isoformat()
    if edm == "Edm.DateTimeOffset":
        return _timestamp_text(_as_datetime(text))
    if edm == "Edm.TimeOfDay":
        return time.fromisoformat(text).isoformat()
    if edm == "Edm.Guid":
        return text.strip().lower()
    raise SynclineError(
        "ODataCursorTypeUnsupported", entity=entity, field=field, edm_type=catalog_type
    )


def key_literal(value: Any, edm: str) -> str:
    """A key value as it appears in an entity's address (``Customers(ID=5)``)."""
    if edm == "Edm.String":
        return "'" + str(value).replace("'", "''") + "'"
    if edm == "Edm.DateTimeOffset":
        return _timestamp_text(_as_datetime(value))
    if edm == "Edm.Date":
        return payload_value(value, edm)  # type: ignore[no-any-return]
    if edm == "Edm.Boolean":
        return "true" if value else "false"
    if isinstance(value, Decimal):
        return format(value, "f")
    return str(value)


def _as_datetime(value: Any) -> datetime:
    """Naive timestamps are UTC (the engine carries naive values as UTC wall time)."""
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, date):
        moment = datetime(value.year, value.month, value.day)
    else:
        text = str(value).strip().replace(" ", "T", 1)
        if text.endswith("Z"):
            text = text[:-1] + "+00:00"
        moment = datetime.fromisoformat(_seven_digits_to_six(text))
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def _seven_digits_to_six(text: str) -> str:
    """Python reads at most six fraction digits; OData allows up to twelve."""
    head, dot, rest = text.partition(".")
    if not dot:
        return text
    digits = "".join(c for c in rest[:12] if c.isdigit())
    zone = rest[len(digits) :]
    return f"{head}.{digits[:6].ljust(6, '0')}{zone}"


def _timestamp_text(moment: datetime) -> str:
    text = moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S")
    if moment.microsecond:
        text += f".{moment.microsecond:06d}".rstrip("0")
    return text + "Z"


def _json_text(value: Any) -> str:
    import json

    return json.dumps(value, default=str, sort_keys=True)
