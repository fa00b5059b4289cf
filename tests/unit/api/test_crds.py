"""The generated CRDs: structural, described, current, and as strict as the models."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from syncline.api import KINDS, crdgen
from tests.support.crd_schema import CRDS, schemas, validate
from tests.support.examples import invalid_cases, syncline_objects

SCHEMAS = schemas()


def test_crds_directory_is_current() -> None:
    assert crdgen.stale_files(CRDS) == []


def test_stale_check_notices_a_hand_edit(tmp_path: Any) -> None:
    crdgen.write(tmp_path)
    edited = tmp_path / crdgen.file_name(KINDS[0])
    edited.write_text(edited.read_text().replace("syncline", "syncl1ne", 1))
    assert crdgen.stale_files(tmp_path) == [edited.name]


@pytest.mark.parametrize(("where", "obj"), list(syncline_objects()))
def test_every_example_validates_against_its_crd(where: str, obj: dict[str, Any]) -> None:
    assert validate(obj, SCHEMAS[obj["kind"]]) == []


@pytest.mark.parametrize(("name", "obj", "field"), list(invalid_cases()))
def test_invalid_examples_are_rejected_naming_the_field(
    name: str, obj: dict[str, Any], field: str
) -> None:
    violations = validate(obj, SCHEMAS[obj["kind"]])
    assert violations, f"{name} was accepted"
    assert field in [v.path for v in violations]


def _walk(node: dict[str, Any], path: str) -> Iterator[tuple[str, dict[str, Any]]]:
    yield path, node
    for name, sub in node.get("properties", {}).items():
        yield from _walk(sub, f"{path}.{name}")
    if isinstance(node.get("items"), dict):
        yield from _walk(node["items"], f"{path}[]")
    if isinstance(node.get("additionalProperties"), dict):
        yield from _walk(node["additionalProperties"], f"{path}{{}}")


@pytest.mark.parametrize("kind", sorted(SCHEMAS))
def test_schema_is_structural_and_fully_described(kind: str) -> None:
    for path, node in _walk(SCHEMAS[kind], kind):
        assert "type" in node, f"{path} has no type"
        assert not {"$ref", "anyOf", "oneOf", "title", "$defs"} & set(node), path
        assert node.get("type") != "null", path
        # The API server forbids anything but `type` on the root metadata schema.
        described = path.count(".") and path != f"{kind}.metadata"
        if described and not path.endswith(("[]", "{}")):
            assert node.get("description"), f"{path} has no description"


def test_named_lists_merge_by_key_under_server_side_apply() -> None:
    tasks = SCHEMAS["IntegrationProject"]["properties"]["spec"]["properties"]["tasks"]
    assert tasks["x-kubernetes-list-type"] == "map"
    assert tasks["x-kubernetes-list-map-keys"] == ["name"]
    mappings = tasks["items"]["properties"]["mappings"]
    assert mappings["x-kubernetes-list-map-keys"] == ["destination"]


@pytest.mark.parametrize("kind", KINDS, ids=lambda k: k.KIND)
def test_crd_names_columns_and_scope(kind: Any) -> None:
    crd = crdgen.crd_for(kind)
    names = crd["spec"]["names"]
    assert names["categories"] == ["syncline"]
    assert names["shortNames"]
    version = crd["spec"]["versions"][0]
    assert version["subresources"] == {"status": {}}
    assert version["additionalPrinterColumns"][-1]["name"] == "Age"
    expected_scope = "Cluster" if kind.KIND == "ClusterIntegrationTemplate" else "Namespaced"
    assert crd["spec"]["scope"] == expected_scope
