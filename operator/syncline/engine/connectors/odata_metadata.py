"""OData v4 ``$metadata`` (CSDL XML): entity sets, their properties, keys and Edm types.

The catalog names a field's type the way the service does, with its facets
(``Edm.Decimal(12,2)``, ``Edm.String(100)``), so the operator can derive the Arrow type
from the catalog alone (``edm_arrow_type``) exactly as the connector reads it. Navigation
properties are not fields (they are links to other entity sets); complex and enum types
travel as text.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass

import pyarrow as pa

from syncline.api.connection import Entity, EntityField

EDM_NS = "http://docs.oasis-open.org/odata/ns/edm"
_TYPE = re.compile(r"^(Edm\.\w+)(?:\((\d+|max)?(?:,(-?\d+|variable|floating))?\))?$")
_INTEGERS = {"Edm.Byte", "Edm.SByte", "Edm.Int16", "Edm.Int32", "Edm.Int64"}
_FLOATS = {"Edm.Double", "Edm.Single"}
ORDERED_TYPES = (
    _INTEGERS
    | _FLOATS
    | {
        "Edm.Decimal",
        "Edm.String",
        "Edm.Date",
        "Edm.DateTimeOffset",
        "Edm.TimeOfDay",
        "Edm.Guid",
    }
)
"""Types whose values ``gt`` orders, so they can be an incremental cursor."""


@dataclass(frozen=True)
class Property:
    name: str
    edm_type: str
    """The bare type (``Edm.Decimal``)."""
    catalog_type: str
    """The type with its facets, as the catalog shows it (``Edm.Decimal(12,2)``)."""
    nullable: bool


@dataclass(frozen=True)
class EntitySet:
    name: str
    properties: tuple[Property, ...]
    keys: tuple[str, ...]
    alternate_keys: tuple[tuple[str, ...], ...] = ()

    def property(self, name: str) -> Property | None:
        return next((p for p in self.properties if p.name == name), None)

    def to_entity(self) -> Entity:
        unique = [list(self.keys), *[list(k) for k in self.alternate_keys]] if self.keys else []
        return Entity(
            name=self.name,
            fields=[
                EntityField(name=p.name, type=p.catalog_type, nullable=p.nullable)
                for p in self.properties
            ],
            unique_keys=unique[:20],
        )


def parse_metadata(xml: bytes) -> dict[str, EntitySet]:
    """Entity sets by name. The document comes from the configured service, over the
    connection's own credentials; ElementTree resolves no external entities."""
    root = ET.fromstring(xml)  # noqa: S314 - the configured service's own metadata
    types: dict[str, ET.Element] = {}
    aliases: dict[str, str] = {}
    for schema in root.iter(f"{{{EDM_NS}}}Schema"):
        namespace = schema.get("Namespace", "")
        if alias := schema.get("Alias"):
            aliases[alias] = namespace
        for entity_type in schema.findall(f"{{{EDM_NS}}}EntityType"):
            types[f"{namespace}.{entity_type.get('Name')}"] = entity_type
    sets: dict[str, EntitySet] = {}
    for container in root.iter(f"{{{EDM_NS}}}EntityContainer"):
        for entity_set in container.findall(f"{{{EDM_NS}}}EntitySet"):
            type_name = _resolve(entity_set.get("EntityType", ""), aliases)
            found = types.get(type_name)
            name = entity_set.get("Name")
            if found is None or not name:
                continue
            sets[name] = _entity_set(name, found, types, aliases)
    return sets


def _resolve(name: str, aliases: dict[str, str]) -> str:
    prefix, _, rest = name.rpartition(".")
    return f"{aliases.get(prefix, prefix)}.{rest}" if prefix else name


def _entity_set(
    name: str, entity_type: ET.Element, types: dict[str, ET.Element], aliases: dict[str, str]
) -> EntitySet:
    """Properties and keys, following BaseType (keys are often declared on the base)."""
    chain = [entity_type]
    while (base := chain[-1].get("BaseType")) and (parent := types.get(_resolve(base, aliases))):
        if parent in chain:
            break
        chain.append(parent)
    properties: list[Property] = []
    keys: list[str] = []
    for element in reversed(chain):
        for ref in element.findall(f"{{{EDM_NS}}}Key/{{{EDM_NS}}}PropertyRef"):
            keys.append(ref.get("Name", ""))
        for prop in element.findall(f"{{{EDM_NS}}}Property"):
            properties.append(_property(prop))
    return EntitySet(name, tuple(properties), tuple(k for k in keys if k))


def _property(prop: ET.Element) -> Property:
    edm = prop.get("Type", "Edm.String")
    facets = ""
    if edm == "Edm.Decimal" and prop.get("Precision"):
        scale = prop.get("Scale")
        facets = f"({prop.get('Precision')}{',' + scale if scale else ''})"
    elif edm == "Edm.String" and prop.get("MaxLength"):
        facets = f"({prop.get('MaxLength')})"
    return Property(
        name=prop.get("Name", ""),
        edm_type=edm,
        catalog_type=edm + facets,
        nullable=prop.get("Nullable", "true") != "false",
    )


def edm_arrow_type(catalog_type: str) -> pa.DataType:
    """The Arrow type values of this catalog type travel as (text when unsure)."""
    match = _TYPE.match(catalog_type)
    if match is None:
        return pa.string()
    edm, first, second = match.groups()
    if edm in _INTEGERS:
        return pa.int64()
    if edm in _FLOATS:
        return pa.float64()
    if edm == "Edm.Boolean":
        return pa.bool_()
    if edm == "Edm.Date":
        return pa.date32()
    if edm == "Edm.DateTimeOffset":
        return pa.timestamp("us", "UTC")
    if edm == "Edm.Decimal" and first and first.isdigit():
        precision = int(first)
        scale = int(second) if second and second.lstrip("-").isdigit() else 0
        if precision <= 38 and 0 <= scale <= precision:
            return pa.decimal128(precision, scale)
    return pa.string()


def bare_type(catalog_type: str) -> str:
    """``Edm.Decimal`` from ``Edm.Decimal(12,2)``."""
    return catalog_type.split("(", 1)[0]
