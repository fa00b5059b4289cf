"""Per-field transforms on Arrow arrays, vectorised with pyarrow.compute where possible.

Each transform takes the column and returns the new column; a value it cannot
convert becomes null in the column and a RowProblem for that row, so one bad
value fails its row, never the batch. The problem's message names the field; the value
itself goes only to the rejects store.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import pyarrow as pa
import pyarrow.compute as pc

from syncline.api.task import ArithmeticOp, CastTarget, Transform, TransformType
from syncline.engine.rejects import with_value
from syncline.engine.transform.problems import Problems, RowProblem, note
from syncline.errors import SynclineError

CAST_TYPES: dict[CastTarget, pa.DataType] = {
    CastTarget.STRING: pa.string(),
    CastTarget.INTEGER: pa.int64(),
    CastTarget.FLOAT: pa.float64(),
    CastTarget.DECIMAL: pa.decimal128(38, 9),
    CastTarget.BOOLEAN: pa.bool_(),
    CastTarget.DATE: pa.date32(),
    CastTarget.TIMESTAMP: pa.timestamp("us"),
}


@dataclass
class Context:
    """What a transform may look at besides its own column."""

    field: str
    batch: pa.RecordBatch
    problems: Problems
    org_units: Mapping[str, str] | None
    source_alias: str
    destination_alias: str


def convert(arr: pa.Array, target: pa.DataType, ctx: Context) -> pa.Array:
    """Cast, turning values that do not convert into row problems (2300)."""
    if arr.type == target:
        return arr
    source = arr
    if pa.types.is_string(arr.type) and not pa.types.is_string(target):
        source = pc.utf8_trim_whitespace(arr)
    try:
        return pc.cast(source, target, safe=True)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        pass
    values: list[object] = []
    for i, value in enumerate(source.to_pylist()):
        try:
            values.append(pa.array([value], type=source.type).cast(target, safe=True)[0].as_py())
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            values.append(None)
            message = SynclineError(
                "ValueConversionFailed", field=ctx.field, target=str(target)
            ).message
            note(ctx.problems, i, RowProblem(2300, ctx.field, message, with_value(message, value)))
    return pa.array(values, type=target)


def _text(arr: pa.Array) -> pa.Array:
    return arr if pa.types.is_string(arr.type) else pc.cast(arr, pa.string())


def _default(arr: pa.Array, t: Transform, _ctx: Context) -> pa.Array:
    assert t.value is not None
    try:
        return pc.fill_null(arr, pa.scalar(t.value).cast(arr.type))
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return pc.fill_null(_text(arr), t.value)


def _value_map(arr: pa.Array, t: Transform, ctx: Context) -> pa.Array:
    mapping = t.map or {}
    text = _text(arr)
    index = pc.index_in(text, value_set=pa.array(list(mapping), pa.string()))
    mapped = pc.take(pa.array(list(mapping.values()), pa.string()), index)
    unmapped = pc.and_(pc.is_null(index), pc.is_valid(text))
    if t.fallback is not None:
        return pc.if_else(unmapped, pa.scalar(t.fallback), mapped)
    for i in pc.indices_nonzero(unmapped).to_pylist():
        value = text[i].as_py()
        message = SynclineError("ValueNotMapped", field=ctx.field).message
        note(ctx.problems, i, RowProblem(2304, ctx.field, message, with_value(message, value)))
    return mapped


def _concat(arr: pa.Array, t: Transform, ctx: Context) -> pa.Array:
    parts = [_text(arr)] + [_text(ctx.batch.column(name)) for name in t.fields or []]
    return pc.binary_join_element_wise(
        *parts, t.separator or "", null_handling="replace", null_replacement=""
    )


def _split(arr: pa.Array, t: Transform, _ctx: Context) -> pa.Array:
    assert t.separator is not None
    assert t.index is not None
    index = t.index
    out: list[str | None] = []
    for value in _text(arr).to_pylist():
        parts = value.split(t.separator) if value is not None else []
        out.append(parts[index] if -len(parts) <= index < len(parts) else None)
    return pa.array(out, pa.string())


def _extract(arr: pa.Array, t: Transform, _ctx: Context) -> pa.Array:
    pattern = re.compile(t.pattern or "")
    out: list[str | None] = []
    for value in _text(arr).to_pylist():
        found = pattern.search(value) if value is not None else None
        out.append(None if found is None else (found.group(1) if found.groups() else found[0]))
    return pa.array(out, pa.string())


def _cast(arr: pa.Array, t: Transform, ctx: Context) -> pa.Array:
    assert t.to is not None
    return convert(arr, CAST_TYPES[t.to], ctx)


def _date_format(arr: pa.Array, t: Transform, ctx: Context) -> pa.Array:
    if not (pa.types.is_timestamp(arr.type) or pa.types.is_date(arr.type)):
        arr = convert(arr, pa.timestamp("us"), ctx)
    if pa.types.is_date(arr.type):
        arr = pc.cast(arr, pa.timestamp("s"))
    return pc.strftime(arr, format=t.format or "%Y-%m-%d")


def _arithmetic(arr: pa.Array, t: Transform, ctx: Context) -> pa.Array:
    assert t.operand is not None
    if not (
        pa.types.is_integer(arr.type)
        or pa.types.is_floating(arr.type)
        or pa.types.is_decimal(arr.type)
    ):
        arr = convert(arr, pa.float64(), ctx)
    if t.op is ArithmeticOp.ROUND:
        return pc.round(arr, ndigits=int(t.operand))
    if pa.types.is_decimal(arr.type):
        arr = pc.cast(arr, pa.float64())
    operand = pa.scalar(t.operand, pa.float64())
    op = {
        ArithmeticOp.ADD: pc.add,
        ArithmeticOp.SUBTRACT: pc.subtract,
        ArithmeticOp.MULTIPLY: pc.multiply,
        ArithmeticOp.DIVIDE: pc.divide,
    }[t.op or ArithmeticOp.ADD]
    result: pa.Array = op(pc.cast(arr, pa.float64()), operand)
    return result


def _org_unit(arr: pa.Array, _t: Transform, ctx: Context) -> pa.Array:
    """The source's org unit becomes the destination's (e.g. USMF -> Sales-US)."""
    units = ctx.org_units
    if not units or ctx.destination_alias not in units:
        raise SynclineError("RequiredOrganizationUnit", field=ctx.field)
    target = units[ctx.destination_alias]
    mapping = {units[ctx.source_alias]: target} if ctx.source_alias in units else {}
    return _value_map(
        pc.fill_null(_text(arr), units.get(ctx.source_alias, target)),
        Transform(type=TransformType.VALUE_MAP, map=mapping or {target: target}),
        ctx,
    )


def _string_op(
    fn: Callable[[pa.Array], pa.Array],
) -> Callable[[pa.Array, Transform, Context], pa.Array]:
    return lambda arr, _t, _ctx: fn(_text(arr))


TRANSFORMS: dict[TransformType, Callable[[pa.Array, Transform, Context], pa.Array]] = {
    TransformType.DEFAULT: _default,
    TransformType.VALUE_MAP: _value_map,
    TransformType.TRIM: _string_op(pc.utf8_trim_whitespace),
    TransformType.UPPER: _string_op(pc.utf8_upper),
    TransformType.LOWER: _string_op(pc.utf8_lower),
    TransformType.CONCAT: _concat,
    TransformType.SPLIT: _split,
    TransformType.EXTRACT: _extract,
    TransformType.CAST: _cast,
    TransformType.DATE_FORMAT: _date_format,
    TransformType.ARITHMETIC: _arithmetic,
    TransformType.ORG_UNIT: _org_unit,
}


def apply_transform(arr: pa.Array, transform: Transform, ctx: Context) -> pa.Array:
    """One transform step on one column."""
    return TRANSFORMS[transform.type](arr, transform, ctx)
