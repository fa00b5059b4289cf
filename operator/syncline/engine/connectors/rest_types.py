"""The Arrow types of declared REST fields, shared by the connector and the planner.

Kept apart from ``rest`` so that planning a SQL step from a catalog (``arrow_types``)
does not load the HTTP stack.
"""

from __future__ import annotations

import pyarrow as pa

from syncline.api.connection import RestFieldType

REST_ARROW_TYPES: dict[RestFieldType, pa.DataType] = {
    RestFieldType.STRING: pa.string(),
    RestFieldType.INTEGER: pa.int64(),
    RestFieldType.NUMBER: pa.float64(),
    RestFieldType.BOOLEAN: pa.bool_(),
    RestFieldType.TIMESTAMP: pa.timestamp("us"),
    RestFieldType.DATE: pa.date32(),
}


def rest_arrow_type(type_name: str) -> pa.DataType:
    """The Arrow type of a declared REST field type (text for an unknown name)."""
    try:
        return REST_ARROW_TYPES[RestFieldType(type_name)]
    except ValueError:
        return pa.string()
