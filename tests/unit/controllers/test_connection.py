"""Connection logic that needs no server: Secret keys, redaction, endpoints, re-checks."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from syncline.api.connection import ConnectionSpec
from syncline.controllers import connection, kube
from syncline.controllers.connection import (
    _scrubbed,
    describe_endpoint,
    describe_live,
    is_due,
    outcome_digest,
    required_credentials,
)
from syncline.errors import SynclineError
from syncline.redaction import redact

PG = ConnectionSpec.model_validate(
    {
        "type": "postgresql",
        "endpoint": {"host": "db.local", "port": 5432, "database": "crm"},
        "credentials": {"secretRef": {"name": "crm-db"}},
    }
)


def test_missing_secret_is_2100() -> None:
    with pytest.raises(SynclineError) as caught:
        required_credentials(PG, "crm-db", "team-a", None)
    assert str(caught.value) == "2100 SecretNotFound: Secret crm-db does not exist in team-a."


def test_missing_key_is_2101_naming_the_key() -> None:
    with pytest.raises(SynclineError) as caught:
        required_credentials(PG, "crm-db", "team-a", {"username": "app"})
    assert caught.value.code == 2101
    assert "no key password" in str(caught.value)
    assert "postgresql" in str(caught.value)


def test_only_the_needed_keys_are_passed_on() -> None:
    data = {"username": "app", "password": "pw-123456", "unrelated": "x"}
    assert required_credentials(PG, "crm-db", "team-a", data) == {
        "username": "app",
        "password": "pw-123456",
    }


def test_redaction_removes_every_credential_value_of_every_length() -> None:
    text = 'FATAL: password authentication failed for "app" using s3cr3t-canary'
    assert redact(text, ["s3cr3t-canary", "app"]) == (
        'FATAL: password authentication failed for "***" using ***'
    )
    assert redact("token abcdef in url", ["abcdef"]) == "token *** in url"


def test_a_failure_keeps_its_code_and_loses_short_credential_values() -> None:
    err = SynclineError("ConnectionUnreachable", endpoint="db:5432/ab", detail='role "ab" is gone')
    assert str(_scrubbed(PG, err, ["ab", "pw"])) == (
        '2000 ConnectionUnreachable: Cannot reach db:5432/***: role "***" is gone'
    )


def test_endpoint_descriptions_never_show_user_info_or_query() -> None:
    rest = ConnectionSpec.model_validate(
        {"type": "rest", "endpoint": {"url": "https://user:tok@api.example.com:8443/v1?key=zz"}}
    )
    assert describe_endpoint(rest) == "https://api.example.com:8443"
    assert describe_endpoint(PG) == "db.local:5432/crm"


def test_failing_connections_are_retried_sooner_than_ready_ones() -> None:
    now = datetime(2026, 5, 1, 12, tzinfo=UTC)
    checked = (now - timedelta(seconds=90)).strftime("%Y-%m-%dT%H:%M:%SZ")
    ready = {"lastCheckTime": checked, "conditions": [{"type": "Ready", "status": "True"}]}
    broken = {"lastCheckTime": checked, "conditions": [{"type": "Ready", "status": "False"}]}
    assert not is_due(ready, 600, now)
    assert is_due(broken, 600, now)
    assert is_due({}, 600, now)


def test_digest_changes_with_readiness_or_catalog_only() -> None:
    ready = [{"type": "Ready", "status": "True", "message": "a"}]
    same_ready = [{"type": "Ready", "status": "True", "message": "b"}]
    entities = [{"name": "orders", "fields": [{"name": "id", "type": "int"}]}]
    assert outcome_digest(ready, entities) == outcome_digest(same_ready, entities)
    assert outcome_digest(ready, entities) != outcome_digest(ready, [])
    assert outcome_digest(ready, entities) != outcome_digest(
        [{"type": "Ready", "status": "False"}], entities
    )


def test_a_connector_error_echoing_a_password_keeps_its_code_but_not_the_value() -> None:
    err = SynclineError("ConnectionUnreachable", endpoint="db:5432", detail="bad pw s3cr3t-x")
    scrubbed = _scrubbed(PG, err, ["s3cr3t-x"])
    assert scrubbed.name == "ConnectionUnreachable"
    assert str(scrubbed) == "2000 ConnectionUnreachable: Cannot reach db:5432: bad pw ***"


def _connection_obj(spec: ConnectionSpec) -> dict[str, Any]:
    return {"metadata": {"name": "crm", "namespace": "team-a"}, "spec": spec.to_wire()}


def test_an_entity_is_described_live_as_a_run_would_see_it(tmp_path: Path) -> None:
    with sqlite3.connect(tmp_path / "crm.db") as db:
        db.execute("CREATE TABLE customers (id INTEGER PRIMARY KEY, email TEXT)")
    lite = ConnectionSpec.model_validate(
        {"type": "sqlite", "endpoint": {"path": str(tmp_path / "crm.db")}}
    )
    entity = describe_live(_connection_obj(lite), "customers")
    assert [(f.name, f.type) for f in entity.fields] == [("id", "INTEGER"), ("email", "TEXT")]
    assert entity.unique_keys == [["id"]]
    with pytest.raises(SynclineError) as missing:
        describe_live(_connection_obj(lite), "clients")
    assert missing.value.code == 2004


def test_a_live_description_reads_the_secret_and_never_shows_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    secrets = {"crm-db": {"username": "app", "password": "pw-canary-77"}}
    monkeypatch.setattr(kube, "read_secret", lambda namespace, name: secrets.get(name))

    def echo(spec: ConnectionSpec, credentials: Any, entity: str, **_: Any) -> Any:
        raise SynclineError("ConnectionUnreachable", endpoint="db", detail=str(credentials))

    monkeypatch.setattr(connection, "describe_entity", echo)
    with pytest.raises(SynclineError) as refused:
        describe_live(_connection_obj(PG), "customers")
    assert refused.value.code == 2000
    assert "pw-canary-77" not in str(refused.value)
    secrets.clear()
    with pytest.raises(SynclineError) as absent:
        describe_live(_connection_obj(PG), "customers")
    assert str(absent.value) == "2100 SecretNotFound: Secret crm-db does not exist in team-a."
