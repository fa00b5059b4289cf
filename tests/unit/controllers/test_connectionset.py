"""ConnectionSet assessment from its spec and member Connections."""

from __future__ import annotations

from typing import Any

from syncline.api.connectionset import ConnectionSetSpec
from syncline.controllers.connectionset import assess_set


def _connection(env: str, ready: bool = True, generation: int = 1) -> dict[str, Any]:
    return {
        "metadata": {"generation": generation},
        "spec": {"type": "postgresql", "environment": env, "endpoint": {"host": "h"}},
        "status": {
            "observedGeneration": 1,
            "conditions": [
                {
                    "type": "Ready",
                    "status": "True" if ready else "False",
                    "reason": "Connected" if ready else "ConnectionUnreachable",
                    "message": "ok" if ready else "2000 ConnectionUnreachable: Cannot reach h",
                }
            ],
            "entityCount": 1,
            "entities": [
                {
                    "name": "customers",
                    "fields": [{"name": "id", "type": "int4"}, {"name": "email", "type": "text"}],
                }
            ],
        },
    }


def _spec(**extra: Any) -> ConnectionSetSpec:
    return ConnectionSetSpec.model_validate(
        {
            "connections": [
                {"name": "crm", "connectionRef": {"name": "crm-db"}},
                {"name": "dwh", "connectionRef": {"name": "dwh-db"}},
            ],
            **extra,
        }
    )


def test_ready_when_both_members_are_ready() -> None:
    members = {"crm": _connection("production"), "dwh": _connection("staging")}
    verdict, fields = assess_set("pair", _spec(), members)
    assert verdict.ready
    assert fields["environments"] == "production -> staging"
    assert [m["ready"] for m in fields["members"]] == [True, True]


def test_missing_member_names_the_field() -> None:
    verdict, _ = assess_set("pair", _spec(), {"crm": _connection("p"), "dwh": None})
    assert not verdict.ready
    assert "2006 ConnectionNotReady: Connection dwh-db" in verdict.message
    assert "spec.connections[1].connectionRef.name" in verdict.message


def test_member_not_ready_carries_its_reason() -> None:
    members = {"crm": _connection("p", ready=False), "dwh": _connection("s")}
    verdict, fields = assess_set("pair", _spec(), members)
    assert verdict.reason == "ConnectionNotReady"
    assert "Cannot reach h" in verdict.message
    assert fields["members"][0]["ready"] is False


def test_member_with_a_stale_verdict_is_not_ready() -> None:
    members = {"crm": _connection("p", generation=2), "dwh": _connection("s")}
    verdict, _ = assess_set("pair", _spec(), members)
    assert not verdict.ready


def test_organization_mappings_must_name_member_aliases() -> None:
    spec = _spec(organizationMappings=[{"name": "us", "units": {"crm": "USMF", "erp": "X"}}])
    verdict, _ = assess_set("pair", spec, {"crm": _connection("p"), "dwh": _connection("s")})
    assert verdict.reason == "ConnectionNotInSet"
    assert "spec.organizationMappings[0].units.erp" in verdict.message


def test_integration_keys_must_name_catalog_fields() -> None:
    spec = _spec(
        integrationKeys=[
            {"connection": "dwh", "entity": "customers", "fields": ["email"]},
            {"connection": "dwh", "entity": "customers", "fields": ["mail"]},
            {"connection": "dwh", "entity": "nope", "fields": ["id"]},
        ]
    )
    verdict, _ = assess_set("pair", spec, {"crm": _connection("p"), "dwh": _connection("s")})
    assert not verdict.ready
    assert "spec.integrationKeys[1].fields" in verdict.message
    assert "mail is not a field of dwh.customers" in verdict.message
    assert "2004 EntityNotFound: Entity nope does not exist in dwh" in verdict.message
    assert "integrationKeys[0]" not in verdict.message
