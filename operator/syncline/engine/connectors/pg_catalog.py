"""The PostgreSQL catalog queries: tables, columns and unique indexes of one schema."""

from __future__ import annotations

COLUMNS = """
SELECT c.table_name, c.column_name, c.data_type, c.is_nullable = 'YES',
       c.numeric_precision, c.numeric_scale
FROM information_schema.columns c JOIN information_schema.tables t
  ON t.table_schema = c.table_schema AND t.table_name = c.table_name
WHERE c.table_schema = %s AND c.table_name = ANY(%s)
ORDER BY c.table_name, c.ordinal_position
"""
UNIQUE = """
SELECT t.relname, array_agg(a.attname ORDER BY k.ord)
FROM pg_index i
JOIN pg_class t ON t.oid = i.indrelid
JOIN pg_namespace n ON n.oid = t.relnamespace
CROSS JOIN LATERAL unnest(i.indkey) WITH ORDINALITY AS k(attnum, ord)
JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = k.attnum
WHERE n.nspname = %s AND t.relname = ANY(%s) AND i.indisunique AND i.indpred IS NULL
GROUP BY t.relname, i.indexrelid
"""
TABLES = """
SELECT table_name FROM information_schema.tables
WHERE table_schema = %s AND table_type IN ('BASE TABLE', 'VIEW') ORDER BY table_name
"""


def type_name(data_type: str, precision: int | None, scale: int | None) -> str:
    """numeric keeps its precision (it decides the Arrow decimal type)."""
    if data_type == "numeric" and precision is not None:
        return f"numeric({precision},{scale or 0})"
    return data_type
