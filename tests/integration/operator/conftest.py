"""Fixtures for operator tests: a real control plane, real PostgreSQL, a real operator."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from kubernetes import client

from syncline.devcluster.databases import DatabaseAccess
from tests.integration.operator.harness import Cluster, OperatorProcess

CANARY = "canary-Zq8v3KpL-secret"
"""A password no log, status or event may ever contain."""


@pytest.fixture
def cluster(kube_api: client.ApiClient, namespace: str) -> Cluster:
    return Cluster(kube_api, namespace)


@pytest.fixture
def start_operator(
    kubeconfig_path: Path, namespace: str, tmp_path: Path
) -> Iterator[Callable[..., OperatorProcess]]:
    """Start (and always stop) `syncline operator` processes watching the test namespace."""
    started: list[OperatorProcess] = []

    def start(entry: list[str] | None = None, **env: str) -> OperatorProcess:
        log = tmp_path / f"operator-{len(started)}.log"
        process = OperatorProcess(kubeconfig_path, namespace, log, entry, **env).start()
        started.append(process)
        return process

    yield start
    for process in started:
        process.stop()
        lines = [line for line in process.text().splitlines() if "Timer " not in line]
        print(f"--- {process.log.name} (last 80 lines)")  # shown by pytest when a test fails
        print("\n".join(lines[-80:]))


@pytest.fixture
def warehouse(pg_db: DatabaseAccess) -> DatabaseAccess:
    """A database with source and destination tables, whose password is the canary."""
    with psycopg.connect(pg_db.dsn, autocommit=True) as conn:
        conn.execute(f"ALTER ROLE {pg_db.user} PASSWORD '{CANARY}'")
        conn.execute("CREATE TABLE crm_customers (id int PRIMARY KEY, email text, name text)")
        conn.execute("CREATE TABLE dwh_customers (id int PRIMARY KEY, email text, name text)")
        conn.execute("CREATE TABLE crm_orders (order_no text PRIMARY KEY, total numeric)")
        conn.execute("CREATE TABLE dwh_orders (order_no text PRIMARY KEY, total numeric)")
    return dataclasses.replace(pg_db, password=CANARY, dsn="")


def postgres_connection(db: DatabaseAccess, secret: str, env: str) -> dict[str, Any]:
    return {
        "type": "postgresql",
        "environment": env,
        "endpoint": {"host": db.host, "port": db.port, "database": db.database},
        "credentials": {"secretRef": {"name": secret}},
    }


def connection_set() -> dict[str, Any]:
    return {
        "connections": [
            {"name": "crm", "connectionRef": {"name": "crm"}},
            {"name": "dwh", "connectionRef": {"name": "dwh"}},
        ],
        "integrationKeys": [{"connection": "dwh", "entity": "dwh_orders", "fields": ["order_no"]}],
    }


def project_spec(**extra: Any) -> dict[str, Any]:
    return {
        "connectionSetRef": {"name": "pair"},
        "schedule": {"every": 15, "unit": "minutes", "timeZone": "Europe/Kyiv"},
        "tasks": [
            {
                "name": "customers",
                "source": {"connection": "crm", "entity": "crm_customers"},
                "destination": {"connection": "dwh", "entity": "dwh_customers", "keys": ["id"]},
                "mappings": [
                    {"destination": "id", "source": "id"},
                    {"destination": "email", "source": "email"},
                    {"destination": "name", "source": "name"},
                ],
            },
            {
                "name": "orders",
                "source": {"connection": "crm", "entity": "crm_orders"},
                "destination": {"connection": "dwh", "entity": "dwh_orders"},
            },
        ],
        **extra,
    }


def make_world(cluster: Cluster, db: DatabaseAccess, password: str | None = None) -> None:
    """Secret, two Connections and the ConnectionSet (the quickstart's shape)."""
    cluster.secret("db-creds", {"username": db.user, "password": password or db.password})
    cluster.create(
        "connections", "crm", postgres_connection(db, "db-creds", "production"), "Connection"
    )
    cluster.create(
        "connections", "dwh", postgres_connection(db, "db-creds", "staging"), "Connection"
    )
    cluster.create("connectionsets", "pair", connection_set(), "ConnectionSet")
