"""The audit log: files with their integrity data, verification, configuration.

RBAC names these as virtual resources of syncline.dev (cluster scope): ``auditlogs``
(`list`; `get` a file by name; `create auditlogs/verify` to run a verification) and
``auditconfigs`` (`get`, `update`). The API reads and writes the log with its own
ServiceAccount only after that check.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path

from syncline import audit
from syncline.audit.config import AuditConfig
from syncline.errors import SynclineError
from syncline.rest.auth import Access
from syncline.rest.deps import SUCCESS, CallerDep, ServicesDep
from syncline.rest.models import Body

LOGS, CONFIGS = "auditlogs", "auditconfigs"
router = APIRouter(tags=["audit"])
FileName = Annotated[str, Path(min_length=1, max_length=63, pattern=r"^[a-z0-9-]+$")]


class AuditFileSummary(Body):
    name: str
    first_seq: int | None = None
    last_seq: int | None = None
    records: int
    first_time: str | None = None
    last_time: str | None = None
    sealed: bool
    checkpoints: int


class AuditFileList(Body):
    items: list[AuditFileSummary]


class AuditFileDetail(Body):
    """One file: its records and the integrity data that chains and signs them."""

    name: str
    first_seq: int | None = None
    last_seq: int | None = None
    first_time: str | None = None
    last_time: str | None = None
    sealed: bool
    anchor: dict[str, Any]
    records: list[dict[str, Any]]
    checkpoints: list[dict[str, Any]]


class Verification(Body):
    """The outcome of verifying the whole log; ``firstBadSeq`` names the first record
    (or checkpoint) that was altered, removed or reordered."""

    ok: bool
    first_bad_seq: int | None = None
    reason: str = ""
    records_checked: int = 0
    checkpoints_checked: int = 0
    files_checked: int = 0
    error: str | None = None


@router.get("/api/v1/audit/logs", response_model=AuditFileList, summary="List audit log files")
def list_logs(caller: CallerDep, svc: ServicesDep) -> AuditFileList:
    svc.authorizer.require(caller, Access("list", LOGS))
    return AuditFileList(
        items=[
            AuditFileSummary.model_validate(f)
            for f in audit.list_files(svc.api, namespace=svc.system_namespace)
        ]
    )


@router.get(
    "/api/v1/audit/logs/{name}",
    response_model=AuditFileDetail,
    summary="Get an audit log file with its integrity data",
)
def get_log(name: FileName, caller: CallerDep, svc: ServicesDep) -> AuditFileDetail:
    svc.authorizer.require(caller, Access("get", LOGS, name=name))
    found = audit.read_file(svc.api, name, namespace=svc.system_namespace).to_json()
    return AuditFileDetail.model_validate({k: v for k, v in found.items() if k in _WIRE})


_WIRE = {f.alias or n for n, f in AuditFileDetail.model_fields.items()}


@router.post(
    "/api/v1/audit/verify", response_model=Verification, summary="Verify the whole audit log"
)
def verify(caller: CallerDep, svc: ServicesDep) -> Verification:
    """Checks every record's hash and link, every checkpoint's signature and the
    retention anchor; 200 either way, with ``ok`` and the first bad record."""
    svc.authorizer.require(caller, Access("create", LOGS, subresource="verify"))
    result = audit.verify(svc.api, namespace=svc.system_namespace)
    failure = result.error()
    outcome = SUCCESS if failure is None else f"{failure.code} {failure.name}"
    svc.record(caller, "audit.verify", "auditlogs", outcome)
    return Verification(
        ok=result.ok,
        first_bad_seq=result.first_bad_seq,
        reason=result.reason,
        records_checked=result.records_checked,
        checkpoints_checked=result.checkpoints_checked,
        files_checked=result.files_checked,
        error=str(failure) if failure else None,
    )


@router.get(
    "/api/v1/audit/config", response_model=AuditConfig, summary="Get the audit configuration"
)
def get_config(caller: CallerDep, svc: ServicesDep) -> AuditConfig:
    svc.authorizer.require(caller, Access("get", CONFIGS))
    return audit.get_config(svc.api, namespace=svc.system_namespace)


@router.put(
    "/api/v1/audit/config",
    response_model=AuditConfig,
    summary="Change the audit configuration (retention, syslog target and its CA)",
)
def set_config(body: AuditConfig, caller: CallerDep, svc: ServicesDep) -> AuditConfig:
    svc.authorizer.require(caller, Access("update", CONFIGS))
    summary = {"retentionDays": body.retention_days, "syslog": bool(body.syslog)}
    try:
        stored = audit.set_config(svc.api, body, namespace=svc.system_namespace)
    except SynclineError as err:
        svc.record(caller, "audit.config", "auditconfigs", f"{err.code} {err.name}", **summary)
        raise
    svc.record(caller, "audit.config", "auditconfigs", SUCCESS, **summary)
    return stored
