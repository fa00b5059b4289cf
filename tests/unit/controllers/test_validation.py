"""Project validation against catalogs, before any data moves (no server needed)."""

from __future__ import annotations

from typing import Any

from syncline.api.connection import Entity, EntityField
from syncline.api.project import IntegrationProjectSpec
from syncline.controllers.validation import ProjectInputs, ProjectPlan, plan_project
from syncline.errors import SynclineError
from syncline.scheduling.cronjob import CredentialSource

READY = {"type": "Ready", "status": "True", "reason": "Ok", "message": "ok"}


def _connection(
    entities: dict[str, list[str]], secret: str | None = "creds", name: str = "crm-db"
) -> dict[str, Any]:
    spec: dict[str, Any] = {"type": "postgresql", "endpoint": {"host": "h"}}
    if secret:
        spec["credentials"] = {"secretRef": {"name": secret}}
    return {
        "metadata": {"name": name, "namespace": "team-a", "generation": 1},
        "spec": spec,
        "status": {
            "observedGeneration": 1,
            "conditions": [READY],
            "entityCount": len(entities),
            "entities": [
                {"name": n, "fields": [{"name": f, "type": "text"} for f in fs]}
                for n, fs in entities.items()
            ],
        },
    }


SET = {
    "metadata": {"generation": 1},
    "spec": {
        "connections": [
            {"name": "crm", "connectionRef": {"name": "crm-db"}},
            {"name": "dwh", "connectionRef": {"name": "dwh-db"}},
        ],
        "organizationMappings": [{"name": "us", "units": {"crm": "US", "dwh": "Sales-US"}}],
        "integrationKeys": [{"connection": "dwh", "entity": "customers", "fields": ["id"]}],
    },
    "status": {"observedGeneration": 1, "conditions": [READY]},
}
CONNECTIONS = {
    "crm": _connection({"customers": ["id", "email", "unit"]}),
    "dwh": _connection({"customers": ["id", "email", "unit"]}, secret="dwh-creds", name="dwh-db"),
}


def _task(**changes: Any) -> dict[str, Any]:
    task: dict[str, Any] = {
        "name": "customers",
        "source": {"connection": "crm", "entity": "customers"},
        "destination": {"connection": "dwh", "entity": "customers"},
        "mappings": [{"destination": "email", "source": "email"}],
    }
    task.update(changes)
    return task


def _plan(
    tasks: list[dict[str, Any]] | None = None,
    template: dict[str, Any] | None = None,
    connection_set: dict[str, Any] | None = SET,
    **extra: Any,
) -> list[str]:
    spec = IntegrationProjectSpec.model_validate(
        {"connectionSetRef": {"name": "pair"}, "tasks": tasks or [], **extra}
    )
    inputs = ProjectInputs("proj", spec, connection_set, template, CONNECTIONS)
    return [str(e) for e in plan_project(inputs).errors]


def test_a_good_project_has_no_errors_and_gets_credentials_by_reference() -> None:
    spec = IntegrationProjectSpec.model_validate(
        {
            "connectionSetRef": {"name": "pair"},
            "tasks": [_task()],
            "schedule": {"cron": "0 * * * *"},
        }
    )
    plan = plan_project(ProjectInputs("proj", spec, SET, None, CONNECTIONS))
    assert plan.errors == []
    assert plan.schedule is not None
    assert plan.credentials == [
        CredentialSource("crm", "creds", ("username", "password")),
        CredentialSource("dwh", "dwh-creds", ("username", "password")),
    ]


def test_missing_source_field_names_task_and_field() -> None:
    task = _task(mappings=[{"destination": "email", "source": "mail"}])
    errors = _plan([task])
    assert any(
        e.startswith("2200 SourceFieldMissing: Task customers: source field mail") for e in errors
    )


def test_unknown_alias_and_entity() -> None:
    errors = _plan([_task(source={"connection": "erp", "entity": "customers"})])
    assert any(e.startswith("2008 ConnectionNotInSet") and "source.connection" in e for e in errors)
    errors = _plan([_task(source={"connection": "crm", "entity": "clients"})])
    assert any(e.startswith("2004 EntityNotFound: Entity clients") for e in errors)


def test_set_missing_or_not_ready_blocks_without_catalog_noise() -> None:
    errors = _plan([_task()], connection_set=None)
    assert errors == [
        "2007 ConnectionSetNotReady: ConnectionSet pair is not Ready: it does not exist "
        "(spec.connectionSetRef.name)"
    ]


def test_template_missing_and_no_tasks() -> None:
    errors = _plan(templateRef={"name": "blueprint"})
    assert "2207 TemplateNotFound: IntegrationTemplate blueprint does not exist." in errors
    assert "2212 NoTasks: Project proj has no tasks to run." in errors


def test_template_tasks_are_merged_and_validated() -> None:
    template = {"spec": {"tasks": [_task(mappings=[{"destination": "nope", "source": "email"}])]}}
    errors = _plan(templateRef={"name": "blueprint"}, template=template)
    assert any(e.startswith("2201 DestinationFieldUnknown") and "nope" in e for e in errors)
    incomplete = _plan(
        [{"name": "extra", "mappings": [{"destination": "email", "constant": "x"}]}],
        templateRef={"name": "blueprint"},
        template=template,
        excludedTasks=["customers"],
    )
    assert (
        "2211 TaskIncomplete: Task extra: source is required once template and project "
        "are merged." in incomplete
    )
    assert not any("nope" in e for e in incomplete)  # the excluded template task is gone


def test_organization_mapping_must_exist_and_org_unit_needs_one() -> None:
    assert any(
        e.startswith("1100 InvalidOrganizationUnit")
        for e in _plan([_task()], organizationMapping="emea")
    )
    org_task = _task(
        mappings=[{"destination": "unit", "source": "unit", "transforms": [{"type": "orgUnit"}]}]
    )
    assert any(e.startswith("1101 RequiredOrganizationUnit") for e in _plan([org_task]))
    assert _plan([org_task], organizationMapping="us") == []


def test_schedule_errors_join_the_others() -> None:
    task = _task(mappings=[{"destination": "email", "source": "mail"}])
    errors = _plan([task], schedule={"cron": "0 0 30 2 *"})
    assert any(e.startswith("2200") for e in errors)
    assert any(e.startswith("1601 ScheduleWillNeverRun") for e in errors)


def _truncated(listed: dict[str, list[str]], count: int) -> dict[str, Any]:
    """A Connection whose catalog lists ``listed`` but reports ``count`` entities in all."""
    connection = _connection(listed)
    connection["status"]["entityCount"] = count
    return connection


def _plan_with(
    connections: dict[str, Any], tasks: list[dict[str, Any]], describe: Any = None
) -> ProjectPlan:
    spec = IntegrationProjectSpec.model_validate(
        {"connectionSetRef": {"name": "pair"}, "tasks": tasks}
    )
    return plan_project(ProjectInputs("proj", spec, SET, None, connections, describe=describe))


BEYOND = {"crm": _truncated({"orders": ["id"]}, count=500), "dwh": CONNECTIONS["dwh"]}
"""crm lists 1 of its 500 entities: customers is beyond what status can hold."""


def test_an_entity_beyond_a_truncated_catalog_is_not_reported_missing() -> None:
    spec = IntegrationProjectSpec.model_validate(
        {"connectionSetRef": {"name": "pair"}, "tasks": [_task()]}
    )
    plan = plan_project(ProjectInputs("proj", spec, SET, None, BEYOND))
    assert plan.errors == []
    assert plan.notes == [
        "Entity customers of crm is beyond its Connection's truncated catalog; it is checked "
        "when a run starts."
    ]


def test_an_entity_missing_from_a_complete_catalog_is_2004_without_asking() -> None:
    def describe(connection: Any, entity: str) -> Entity:
        raise AssertionError("a complete catalog needs no live description")

    crm = {"crm": _connection({"orders": ["id"]}), "dwh": CONNECTIONS["dwh"]}
    plan = _plan_with(crm, [_task()], describe)
    assert [str(e) for e in plan.errors] == [
        "2004 EntityNotFound: Entity customers does not exist in crm"
    ]


def test_an_entity_beyond_the_catalog_is_described_live_once_and_validated() -> None:
    asked: list[tuple[str, str]] = []

    def describe(connection: Any, entity: str) -> Entity:
        asked.append((connection["metadata"]["name"], entity))
        fields = [EntityField(name=f, type="text") for f in ("id", "email")]
        return Entity(name=entity, fields=fields)

    twice = [_task(), _task(name="again", mappings=[{"destination": "email", "source": "unit"}])]
    plan = _plan_with(BEYOND, twice, describe)
    assert asked == [("crm-db", "customers")]
    assert [e.code for e in plan.errors] == [2200]
    assert "Task again: source field unit does not exist in customers" in str(plan.errors[0])
    assert plan.notes == []


def test_a_live_description_decides_missing_or_leaves_it_to_the_run() -> None:
    def absent(connection: Any, entity: str) -> Entity:
        raise SynclineError("EntityNotFound", entity=entity, connection="db.local/crm")

    def unreachable(connection: Any, entity: str) -> Entity:
        raise SynclineError("ConnectionUnreachable", endpoint="db.local", detail="refused")

    missing = _plan_with(BEYOND, [_task()], absent)
    assert [str(e) for e in missing.errors] == [
        "2004 EntityNotFound: Entity customers does not exist in crm"
    ]
    later = _plan_with(BEYOND, [_task()], unreachable)
    assert later.errors == []
    assert later.notes == [
        "Entity customers of crm is beyond its Connection's truncated catalog and could not be "
        "described (2000 ConnectionUnreachable: Cannot reach db.local: refused); it is checked "
        "when a run starts."
    ]


def test_a_column_the_sql_step_derives_can_be_mapped() -> None:
    task = _task(
        query="SELECT id, lower(email) AS contact FROM source",
        mappings=[{"destination": "email", "source": "contact"}],
    )
    assert _plan([task]) == []
    raw = _task(query="SELECT id FROM source")
    assert [e[:4] for e in _plan([raw])] == ["2200"]


def _typed_template(source: str | None, destination: str | None, tasks: list[Any]) -> Any:
    spec: dict[str, Any] = {"tasks": tasks}
    if source:
        spec["sourceType"] = source
    if destination:
        spec["destinationType"] = destination
    return {"spec": spec}


def test_template_types_are_checked_against_the_sets_connections() -> None:
    ref = {"templateRef": {"kind": "ClusterIntegrationTemplate", "name": "erp"}}
    matching = _typed_template("postgresql", "postgresql", [_task()])
    assert _plan(template=matching, **ref) == []
    wrong = _typed_template("mysql", "postgresql", [_task()])
    assert _plan(template=wrong, **ref) == [
        "2213 TemplateTypeMismatch: ClusterIntegrationTemplate erp expects a mysql source,"
        " but task customers reads from crm, a postgresql connection."
    ]
    # the project's own tasks are not the template's promise
    own = _task(name="extra")
    assert _plan([own], template=wrong, excludedTasks=["customers"], **ref) == [
        "2213 TemplateTypeMismatch: ClusterIntegrationTemplate erp expects a mysql source,"
        " but ConnectionSet pair has none."
    ]


def test_a_blank_template_needs_a_member_of_each_type() -> None:
    blank = _typed_template("postgresql", "file", [])
    errors = _plan([_task()], template=blank, templateRef={"name": "blank"})
    assert errors == [
        "2213 TemplateTypeMismatch: IntegrationTemplate blank expects a file destination,"
        " but ConnectionSet pair has none."
    ]
