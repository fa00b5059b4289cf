"""A project with every reference resolved: what the runner needs and nothing more.

The operator (from the Kubernetes API) and the local CLI (from YAML files) both build
this; the engine never looks anything up itself, so it runs the same in both places.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from syncline.api.connection import ConnectionSpec
from syncline.api.connectionset import ConnectionSet, IntegrationKey
from syncline.api.merge import effective_tasks
from syncline.api.project import Guardrails, IntegrationProject, Limits
from syncline.api.task import Task
from syncline.errors import SynclineError
from syncline.redaction import Redactor


@dataclass(frozen=True)
class ResolvedConnection:
    """One member of the ConnectionSet with its credential values (never logged)."""

    alias: str
    spec: ConnectionSpec
    credentials: Mapping[str, str]

    def __repr__(self) -> str:  # keep credential values out of tracebacks and logs
        return f"ResolvedConnection(alias={self.alias!r}, type={self.spec.type.value!r})"


@dataclass(frozen=True)
class ResolvedProject:
    """The effective tasks of a project and everything they refer to."""

    namespace: str
    name: str
    tasks: list[Task]
    connections: dict[str, ResolvedConnection]
    integration_keys: list[IntegrationKey]
    org_units: dict[str, str] | None
    limits: Limits
    guardrails: Guardrails = field(default_factory=Guardrails)

    def keys_for(self, task: Task) -> list[str]:
        """The task's destination.keys, else the ConnectionSet's key for that entity."""
        assert task.destination is not None
        if task.destination.keys:
            return list(task.destination.keys)
        for key in self.integration_keys:
            if (key.connection, key.entity) == (
                task.destination.connection,
                task.destination.entity,
            ):
                return list(key.fields)
        return []

    @property
    def redactor(self) -> Redactor:
        """Scrubs every credential value of the project's connections (all of them, in
        every task) from text the run publishes: status, report, log, CLI output."""
        return Redactor(v for c in self.connections.values() for v in c.credentials.values())

    def watermark_scope(self, task: Task) -> str:
        """Where a task's watermark is stored: unique per project and task."""
        return f"{self.namespace}/{self.name}/{task.name}"


def assemble(
    project: IntegrationProject,
    cset: ConnectionSet,
    connections: dict[str, ResolvedConnection],
    template_tasks: Sequence[Task],
) -> ResolvedProject:
    """A ResolvedProject from objects already read (from YAML files or the Kubernetes API).

    Both readers share this, so local mode and the run pod resolve a project the same way:
    the effective tasks (template merged with the project), the set's integration keys and
    the organization units of the project's chosen mapping (1100 when it does not exist).
    """
    spec = project.spec
    org_units = None
    if spec.organization_mapping:
        mapping = next(
            (m for m in cset.spec.organization_mappings if m.name == spec.organization_mapping),
            None,
        )
        if mapping is None:
            raise SynclineError(
                "InvalidOrganizationUnit",
                name=spec.organization_mapping,
                connection_set=cset.metadata.name,
            )
        org_units = dict(mapping.units)
    return ResolvedProject(
        namespace=project.metadata.namespace or "default",
        name=project.metadata.name or "",
        tasks=effective_tasks(spec, template_tasks),
        connections=connections,
        integration_keys=list(cset.spec.integration_keys),
        org_units=org_units,
        limits=spec.limits,
        guardrails=spec.guardrails,
    )
