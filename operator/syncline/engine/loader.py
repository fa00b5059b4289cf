"""Local mode: read Syncline YAML (and Secret manifests) from files into a ResolvedProject.

The same objects a cluster would hold, read from disk instead of the API server, so
``syncline run -f`` runs exactly what ``kubectl apply -f`` would schedule. Credentials
come from environment variables named like the run pods' (``credential_env_var``) or
from Secret manifests in the same files. Relative sqlite/file paths are resolved against
the directory of the YAML file declaring the Connection, so examples run from anywhere.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from syncline.api.connection import Connection, credential_env_var, required_secret_keys
from syncline.api.connectionset import ConnectionSet
from syncline.api.project import IntegrationProject
from syncline.api.task import Task
from syncline.api.template import ClusterIntegrationTemplate, IntegrationTemplate
from syncline.engine.project import ResolvedConnection, ResolvedProject, assemble
from syncline.errors import SynclineError

KINDS: dict[str, Any] = {
    "Connection": Connection,
    "ConnectionSet": ConnectionSet,
    "IntegrationTemplate": IntegrationTemplate,
    "ClusterIntegrationTemplate": ClusterIntegrationTemplate,
    "IntegrationProject": IntegrationProject,
}


@dataclass
class Manifests:
    """Everything found in the files, by kind and name."""

    objects: dict[tuple[str, str], Any] = field(default_factory=dict)
    secrets: dict[str, dict[str, str]] = field(default_factory=dict)
    origins: dict[tuple[str, str], Path] = field(default_factory=dict)

    def get(self, kind: str, name: str) -> Any:
        found = self.objects.get((kind, name))
        if found is None:
            raise SynclineError("ItemNotFound", kind=kind, name=name)
        return found

    def names(self, kind: str) -> list[str]:
        return [n for k, n in self.objects if k == kind]


def _yaml_files(path: Path) -> Iterator[Path]:
    if path.is_file():
        yield path
        return
    if not path.is_dir():
        raise SynclineError("InvalidArgument", field="-f", detail=f"{path} does not exist")
    for candidate in sorted(path.rglob("*")):
        if candidate.suffix in (".yaml", ".yml") and candidate.is_file():
            yield candidate


def load_manifests(path: Path) -> Manifests:
    """Parse every document under ``path`` (a file, or a directory searched recursively)."""
    found = Manifests()
    for file in _yaml_files(path):
        for doc in yaml.safe_load_all(file.read_text(encoding="utf-8")):
            if isinstance(doc, dict):
                _add(found, doc, file)
    return found


def _add(found: Manifests, doc: dict[str, Any], file: Path) -> None:
    kind = doc.get("kind", "")
    name = (doc.get("metadata") or {}).get("name", "")
    if kind == "Secret":
        found.secrets[name] = _secret_values(doc)
        return
    model = KINDS.get(kind)
    if model is None or not str(doc.get("apiVersion", "")).startswith("syncline.dev/"):
        return
    try:
        found.objects[(kind, name)] = model.model_validate(doc)
    except ValidationError as err:
        detail = f"{file}: {kind} {name}: {err.errors()[0]['msg']}"
        raise SynclineError("InvalidRequest", detail=detail) from None
    found.origins[(kind, name)] = file


def _secret_values(doc: dict[str, Any]) -> dict[str, str]:
    values = {k: base64.b64decode(v).decode() for k, v in (doc.get("data") or {}).items()}
    values.update({k: str(v) for k, v in (doc.get("stringData") or {}).items()})
    return values


def resolve_project(found: Manifests, name: str | None, env: Mapping[str, str]) -> ResolvedProject:
    """The project ``name`` (or the only one) with connections, credentials and tasks."""
    project: IntegrationProject = found.get("IntegrationProject", _pick(found, name))
    spec = project.spec
    cset: ConnectionSet = found.get("ConnectionSet", spec.connection_set_ref.name)
    connections = {
        m.name: _connection(found, m.name, m.connection_ref.name, env)
        for m in cset.spec.connections
    }
    return assemble(project, cset, connections, _template_tasks(found, project))


def _pick(found: Manifests, name: str | None) -> str:
    names = found.names("IntegrationProject")
    if name is not None:
        return name
    if len(names) == 1:
        return names[0]
    detail = f"choose one of {', '.join(sorted(names))}" if names else "no IntegrationProject"
    raise SynclineError("InvalidArgument", field="--project", detail=detail)


def _template_tasks(found: Manifests, project: IntegrationProject) -> list[Task]:
    ref = project.spec.template_ref
    if ref is None:
        return []
    template = found.objects.get((ref.kind, ref.name))
    if template is None:
        raise SynclineError("TemplateNotFound", kind=ref.kind, name=ref.name)
    return list(template.spec.tasks)


def _connection(
    found: Manifests, alias: str, name: str, env: Mapping[str, str]
) -> ResolvedConnection:
    conn: Connection = found.get("Connection", name)
    spec = conn.spec
    path = spec.endpoint.path
    if path and not Path(path).is_absolute():
        base = found.origins[("Connection", name)].parent
        spec = spec.model_copy(deep=True)
        spec.endpoint.path = str((base / path).resolve())
    secret = found.secrets.get(spec.credentials.secret_ref.name, {}) if spec.credentials else {}
    credentials: dict[str, str] = {}
    for key in required_secret_keys(spec) if spec.credentials else ():
        value = env.get(credential_env_var(alias, key), secret.get(key))
        if value is None:
            raise SynclineError("CredentialMissing", key=key, connection=name)
        credentials[key] = value
    return ResolvedConnection(alias, spec, credentials)
