"""PostgreSQL → OData (CAP) and back in the real cluster: engine pods reach a CAP server on this
machine through the node's address, authenticate with a bearer token from a Secret,
and upsert through $batch; the re-run sends no write request."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import ROWS, World, table_hash
from tests.e2e.test_runs import _run_to_end
from tests.fixtures.cluster import ControlPlane
from tests.fixtures.odata import ODataServer, start_odata_server, stop_odata_server

pytestmark = [pytest.mark.integration, pytest.mark.e2e]

MODEL = """service Test @(path: '/odata') {
  @cds.query.limit: { default: 100, max: 100 }
  entity items { key id : Integer64; name : String; qty : Integer; }
  entity SynclineState { key scope : String(400); watermark : String(400); }
}
"""


@pytest.fixture
def cap_items(tmp_path: Path) -> Iterator[ODataServer]:
    model = tmp_path / "items.cds"
    model.write_text(MODEL)
    server = start_odata_server(model=[model])
    try:
        yield server
    finally:
        stop_odata_server(server)


def test_postgres_to_odata_runs_in_the_cluster_and_reruns_without_writes(
    world: World, control_plane: ControlPlane, cap_items: ODataServer
) -> None:
    host = control_plane.serve_to_pods(f"odata-{cap_items.port}", cap_items.port)
    cluster = world.cluster
    cluster.secret("cap-creds", {"token": cap_items.token})
    world.canaries.append(cap_items.token)
    odata = {
        "type": "odata",
        "endpoint": {"url": f"http://{host}:{cap_items.port}/odata"},
        "credentials": {"secretRef": {"name": "cap-creds"}},
        "options": {"batchOperations": 50, "stateEntitySet": "SynclineState"},
    }
    cluster.create("connections", "cap", odata, "Connection")
    cluster.wait_ready("connections", "cap", timeout=90)
    members = [
        {"name": "src", "connectionRef": {"name": "src"}},
        {"name": "dst", "connectionRef": {"name": "cap"}},
    ]
    cluster.create("connectionsets", "to-cap", {"connections": members}, "ConnectionSet")
    task: dict[str, Any] = {
        "name": "items",
        "source": {"connection": "src", "entity": "items"},
        "destination": {"connection": "dst", "entity": "items", "keys": ["id"]},
    }
    spec = {"connectionSetRef": {"name": "to-cap"}, "tasks": [task]}
    cluster.create("integrationprojects", "to-cap", spec, "IntegrationProject")
    cluster.wait_ready("integrationprojects", "to-cap", timeout=90)

    first = _run_to_end(world, "to-cap", timeout=180)
    assert (first["result"], first["read"], first["inserted"]) == ("Completed", ROWS, ROWS)
    assert len(cap_items.rows("items")) == ROWS
    cap_items.reset_stats()
    second = _run_to_end(world, "to-cap", timeout=180)
    assert (second["result"], second["unchanged"], second["upserts"]) == ("Completed", ROWS, 0)
    assert cap_items.write_requests() == 0

    # And back: OData (CAP) → PostgreSQL in the cluster, paged through @odata.nextLink.
    back = [
        {"name": "cap", "connectionRef": {"name": "cap"}},
        {"name": "dst", "connectionRef": {"name": "dst"}},
    ]
    cluster.create("connectionsets", "from-cap", {"connections": back}, "ConnectionSet")
    pull: dict[str, Any] = {
        "name": "items",
        "source": {"connection": "cap", "entity": "items"},
        "destination": {"connection": "dst", "entity": "items", "keys": ["id"]},
    }
    spec = {"connectionSetRef": {"name": "from-cap"}, "tasks": [pull]}
    cluster.create("integrationprojects", "from-cap", spec, "IntegrationProject")
    cluster.wait_ready("integrationprojects", "from-cap", timeout=90)
    pulled = _run_to_end(world, "from-cap", timeout=180)
    assert (pulled["result"], pulled["read"], pulled["inserted"]) == ("Completed", ROWS, ROWS)
    assert table_hash(world.destination, "items") == table_hash(world.source, "items")
    again = _run_to_end(world, "from-cap", timeout=180)
    assert (again["result"], again["unchanged"], again["upserts"]) == ("Completed", ROWS, 0)
