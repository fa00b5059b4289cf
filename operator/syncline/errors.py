"""The error catalog: one stable code for every failure Syncline reports.

Codes follow the discipline of UiPath Orchestrator's API response codes (seed 001):
a number that never changes meaning, a CamelCase name, an HTTP status for the REST
API, a message template and a category. The generic 1xxx codes are the seed's own
where they fit; Syncline's ranges start at 2000. A code, once published, is never
reused for something else: retire an entry by leaving it in place.

Every condition message, event, run record, CLI error and REST error carries
``"<code> <Name>: <message>"`` so users can search for the code.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from string import Formatter
from typing import Any


class Category(StrEnum):
    """Where a failure comes from; used to group docs/errors.md and metrics."""

    REQUEST = "request"
    ORGANIZATION = "organization"
    SCHEDULE = "schedule"
    RUN = "run"
    CONNECTION = "connection"
    SECRET = "secret"  # noqa: S105 - a category name, not a credential
    VALIDATION = "validation"
    ROW = "row"
    LIMIT = "limit"
    NOTIFICATION = "notification"
    AUDIT = "audit"
    AUTH = "auth"


@dataclass(frozen=True, slots=True)
class ErrorSpec:
    """One catalog entry. ``message`` is a ``str.format`` template."""

    code: int
    name: str
    http_status: int
    category: Category
    message: str

    def format(self, **params: Any) -> str:
        """Render ``"<code> <Name>: <message>"``; unknown placeholders stay visible."""
        return f"{self.code} {self.name}: {self.message.format_map(_Lenient(params))}"

    @property
    def placeholders(self) -> tuple[str, ...]:
        """The names the message template expects."""
        return tuple(f for _, f, _, _ in Formatter().parse(self.message) if f)


class _Lenient(dict[str, Any]):
    """A format mapping that leaves missing placeholders as ``{name}`` instead of raising."""

    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


def _e(code: int, name: str, http: int, cat: Category, message: str) -> ErrorSpec:
    return ErrorSpec(code, name, http, cat, message)


C = Category

CATALOG: tuple[ErrorSpec, ...] = (
    # -- generic request errors (seed 001) --------------------------------------------
    _e(1000, "InvalidRequest", 400, C.REQUEST, "Invalid request: {detail}"),
    _e(1001, "NameAlreadyUsed", 409, C.REQUEST, "The name {name} is already used."),
    _e(1002, "ItemNotFound", 404, C.REQUEST, "{kind} {name} was not found."),
    _e(1004, "ItemAlreadyExists", 409, C.REQUEST, "{kind} {name} already exists."),
    _e(1006, "ErrorInserting", 500, C.REQUEST, "Could not create {kind} {name}: {detail}"),
    _e(1007, "ErrorUpdating", 500, C.REQUEST, "Could not update {kind} {name}: {detail}"),
    _e(1008, "ErrorSendingEmail", 500, C.NOTIFICATION, "Could not send email: {detail}"),
    _e(1009, "InvalidArgument", 400, C.REQUEST, "Invalid argument {field}: {detail}"),
    _e(1012, "HasDependentItems", 409, C.REQUEST, "{kind} {name} is used by {dependents}."),
    _e(1013, "ItemIsInUse", 409, C.REQUEST, "{kind} {name} is in use."),
    _e(1014, "ParameterMissing", 400, C.REQUEST, "Required field {field} is missing."),
    _e(1015, "ParameterInvalid", 400, C.REQUEST, "Field {field} is invalid: {detail}"),
    _e(1016, "DuplicateReference", 400, C.REQUEST, "{field} lists {name} more than once."),
    _e(1017, "ForbiddenOperation", 403, C.REQUEST, "Operation not allowed: {detail}"),
    _e(1018, "MethodNotAllowed", 405, C.REQUEST, "{method} is not allowed on {path}."),
    _e(1019, "ContinueTokenInvalid", 400, C.REQUEST, "The continue token is not valid: {detail}"),
    _e(1020, "ContinueTokenExpired", 410, C.REQUEST, "The continue token expired; list again."),
    _e(1021, "InternalError", 500, C.REQUEST, "Internal error {reference}; see the API's log."),
    _e(1022, "KubernetesApiFailed", 502, C.REQUEST, "The Kubernetes API answered {status}."),
    _e(1300, "ServerConflict", 409, C.REQUEST, "{kind} {name} changed meanwhile; retry."),
    _e(1301, "ActionAlreadyPerformed", 409, C.REQUEST, "{action} was already done."),
    # -- organization units (seed 001) ------------------------------------------------
    _e(
        1100,
        "InvalidOrganizationUnit",
        400,
        C.ORGANIZATION,
        "Organization mapping {name} is not defined in ConnectionSet {connection_set}.",
    ),
    _e(
        1101,
        "RequiredOrganizationUnit",
        400,
        C.ORGANIZATION,
        "Field {field} needs an organization mapping; set spec.organizationMapping.",
    ),
    # -- schedules (seed 001) ---------------------------------------------------------
    _e(1600, "InvalidCron", 400, C.SCHEDULE, "Invalid cron expression {cron!r}: {detail}"),
    _e(
        1601,
        "ScheduleWillNeverRun",
        400,
        C.SCHEDULE,
        "Schedule {cron!r} can never fire: {detail}",
    ),
    _e(
        1602,
        "ScheduleNotExpressible",
        400,
        C.SCHEDULE,
        "Every {every} {unit} cannot be scheduled exactly with cron: {detail}",
    ),
    _e(1603, "InvalidTimeZone", 400, C.SCHEDULE, "Unknown time zone {time_zone!r}."),
    # -- runs (seed 001's job codes, renamed for runs) --------------------------------
    _e(1650, "LogUnavailable", 404, C.RUN, "The log of run {name} is no longer available."),
    _e(1658, "RunCannotBeCancelled", 409, C.RUN, "Run {name} is {result} and cannot be stopped."),
    _e(1666, "HasRunningRuns", 409, C.RUN, "Project {name} has a run in progress."),
    _e(
        1670,
        "PendingRunAlreadyExists",
        409,
        C.RUN,
        "Project {name} already has an active run ({run}); runs never overlap.",
    ),
    _e(1750, "LogMessageNotFound", 404, C.RUN, "Run {name} has no log entry {entry}."),
    # -- connections: 2000-2099 -------------------------------------------------------
    _e(2000, "ConnectionUnreachable", 503, C.CONNECTION, "Cannot reach {endpoint}: {detail}"),
    _e(
        2001,
        "AuthenticationFailed",
        502,
        C.CONNECTION,
        "{endpoint} rejected the credentials from Secret {secret}.",
    ),
    _e(
        2002,
        "UnsupportedConnectionType",
        400,
        C.CONNECTION,
        "Connection type {type!r} is not supported{detail}.",
    ),
    _e(2003, "ConnectionTimeout", 504, C.CONNECTION, "{endpoint} did not answer in {seconds}s."),
    _e(2004, "EntityNotFound", 404, C.CONNECTION, "Entity {entity} does not exist in {connection}"),
    _e(2005, "DiscoveryFailed", 502, C.CONNECTION, "Cannot list entities: {detail}"),
    _e(2006, "ConnectionNotReady", 409, C.CONNECTION, "Connection {name} is not Ready: {detail}"),
    _e(
        2007,
        "ConnectionSetNotReady",
        409,
        C.CONNECTION,
        "ConnectionSet {name} is not Ready: {detail}",
    ),
    _e(
        2008,
        "ConnectionNotInSet",
        400,
        C.CONNECTION,
        "{field} names connection {connection}, which ConnectionSet {connection_set} lacks.",
    ),
    _e(2009, "EndpointInvalid", 400, C.CONNECTION, "Endpoint field {field} is invalid: {detail}"),
    _e(
        2010,
        "CatalogTruncated",
        200,
        C.CONNECTION,
        "Connection {name} has {count} entities; status lists the first {limit}.",
    ),
    _e(2011, "QueryFailed", 502, C.CONNECTION, "{connection} failed a query: {detail}"),
    _e(
        2012,
        "TlsNotOffered",
        502,
        C.CONNECTION,
        "{endpoint} does not offer TLS, which sslMode {mode} requires: enable TLS on the"
        " server, or set spec.options.sslMode to prefer or disable on a network you trust.",
    ),
    # 2013-2029: the HTTP client and the OData connector
    _e(
        2013,
        "HttpThrottled",
        503,
        C.CONNECTION,
        "{endpoint} kept throttling requests (HTTP {status} with Retry-After) after"
        " {attempts} attempts; raise spec.options.maxRetries or lower parallelism.",
    ),
    _e(
        2014,
        "HttpRequestFailed",
        502,
        C.CONNECTION,
        "{endpoint} answered {method} {path} with HTTP {status}: {detail}",
    ),
    _e(2015, "ODataMetadataInvalid", 502, C.CONNECTION, "{endpoint}/$metadata: {detail}"),
    _e(
        2016,
        "ODataRowRejected",
        422,
        C.CONNECTION,
        "The OData service refused the row with HTTP {status}: {detail}",
    ),
    _e(
        2017,
        "ODataBatchInvalid",
        502,
        C.CONNECTION,
        "{endpoint}/$batch answered in a way Syncline cannot read: {detail}",
    ),
    _e(
        2018,
        "ODataCursorTypeUnsupported",
        400,
        C.CONNECTION,
        "Entity {entity}: cursor field {field} has Edm type {edm_type}, which has no"
        " ordered OData literal Syncline can filter on.",
    ),
    # 2030-2049: HTTP auth and the REST connector
    _e(2030, "HttpAuthInvalid", 400, C.CONNECTION, "spec.credentials.auth is invalid: {detail}"),
    _e(
        2031,
        "TokenEndpointFailed",
        502,
        C.CONNECTION,
        "Token endpoint {endpoint} did not issue a token: {detail}",
    ),
    _e(
        2032,
        "RestResponseInvalid",
        502,
        C.CONNECTION,
        "{endpoint} answered {entity} with {detail}",
    ),
    _e(
        2033,
        "RestUpsertNotConfigured",
        400,
        C.CONNECTION,
        "REST entity {entity} has no upsert path, so it cannot be a destination.",
    ),
    _e(
        2034,
        "RestEntityInvalid",
        400,
        C.CONNECTION,
        "REST entity {entity} is invalid: {detail}",
    ),
    # -- secrets: 2100-2199 -----------------------------------------------------------
    _e(2100, "SecretNotFound", 404, C.SECRET, "Secret {name} does not exist in {namespace}."),
    _e(
        2101,
        "SecretKeyMissing",
        400,
        C.SECRET,
        "Secret {name} has no key {key}, which a {type} connection needs.",
    ),
    _e(2102, "SecretForbidden", 403, C.SECRET, "Not allowed to read Secret {name}."),
    _e(2103, "CredentialMissing", 400, C.SECRET, "Credential {key} for {connection} is not set."),
    _e(
        2104,
        "SecretNotReadableByWriter",
        403,
        C.SECRET,
        "{user} may not read Secret {name} in {namespace}, so may not point a Connection at it"
        " (Syncline sends its credentials to the Connection's endpoint).",
    ),
    # -- mappings and validation before data moves: 2200-2299 -------------------------
    _e(
        2200,
        "SourceFieldMissing",
        400,
        C.VALIDATION,
        "Task {task}: source field {field} does not exist in {entity}.",
    ),
    _e(
        2201,
        "DestinationFieldUnknown",
        400,
        C.VALIDATION,
        "Task {task}: destination field {field} does not exist in {entity}.",
    ),
    _e(
        2202,
        "IntegrationKeyMissing",
        400,
        C.VALIDATION,
        "Task {task}: no integration keys for {entity}; set destination.keys.",
    ),
    _e(
        2203,
        "IntegrationKeyFieldUnknown",
        400,
        C.VALIDATION,
        "Task {task}: integration key {field} is not a field of {entity}.",
    ),
    _e(
        2204,
        "NoUniqueIndexOnKeys",
        400,
        C.VALIDATION,
        "Task {task}: {entity} has no unique index on ({keys}); define one for the "
        "integration keys so upserts cannot create duplicates.",
    ),
    _e(
        2205,
        "TransformInvalid",
        400,
        C.VALIDATION,
        "Task {task}: transform {transform} on {field} is invalid: {detail}",
    ),
    _e(2206, "QueryInvalid", 400, C.VALIDATION, "Task {task}: the SQL query is invalid: {detail}"),
    _e(2207, "TemplateNotFound", 404, C.VALIDATION, "{kind} {name} does not exist."),
    _e(2208, "TaskNameDuplicate", 400, C.VALIDATION, "Task name {task} is used more than once."),
    _e(
        2209,
        "MappingDestinationDuplicate",
        400,
        C.VALIDATION,
        "Task {task}: destination field {field} is mapped more than once.",
    ),
    _e(
        2210,
        "CursorFieldMissing",
        400,
        C.VALIDATION,
        "Task {task}: incremental cursor field {field} does not exist in {entity}.",
    ),
    _e(
        2211,
        "TaskIncomplete",
        400,
        C.VALIDATION,
        "Task {task}: {field} is required once template and project are merged.",
    ),
    _e(2212, "NoTasks", 400, C.VALIDATION, "Project {name} has no tasks to run."),
    _e(
        2213,
        "TemplateTypeMismatch",
        400,
        C.VALIDATION,
        "{kind} {name} expects a {expected} {part}, but {detail}.",
    ),
    _e(
        2214,
        "ScaleOutInvalid",
        400,
        C.VALIDATION,
        "Task {task} cannot be split over pods: {detail}.",
    ),
    # -- rows: 2300-2399 (a row error fails the row, not the run) ---------------------
    # Row messages name the key and the field, never a value: they reach status, Events
    # and the log. The rejects store keeps the values (see syncline.redaction).
    _e(
        2300,
        "ValueConversionFailed",
        422,
        C.ROW,
        "Field {field}: cannot convert the value to {target}.",
    ),
    _e(
        2301,
        "DuplicateKeyInBatch",
        200,
        C.ROW,
        "{count} records repeat an integration key within one batch; the last one wins.",
    ),
    _e(2302, "NullKey", 422, C.ROW, "Integration key field {field} is empty."),
    _e(2303, "RowRejected", 422, C.ROW, "The destination rejected the row: {detail}"),
    _e(2304, "ValueNotMapped", 422, C.ROW, "Field {field}: the value has no mapping."),
    # -- runs: 2400-2499 --------------------------------------------------------------
    _e(2400, "RunFailed", 500, C.RUN, "Run {name} failed: {detail}"),
    _e(2401, "RunTimedOut", 504, C.RUN, "Run {name} exceeded its timeout of {seconds}s."),
    _e(2402, "RunPodFailed", 500, C.RUN, "The pod of run {name} failed: {detail}"),
    _e(2403, "RunMarkedFailed", 200, C.RUN, "Run {name} was marked as failed by {user}."),
    _e(
        2404,
        "ConservationViolated",
        500,
        C.RUN,
        "Task {task}: read {read} records but accounted for {accounted}.",
    ),
    _e(2405, "RunNotFound", 404, C.RUN, "Run {name} does not exist."),
    _e(2406, "RunNotRunning", 409, C.RUN, "Run {name} is not running."),
    _e(2407, "WatermarkInvalid", 500, C.RUN, "Task {task}: stored watermark unusable: {detail}"),
    _e(
        2408,
        "RunPodKilled",
        500,
        C.RUN,
        "The pod of run {name} was killed ({detail}); if it ran out of memory, "
        "raise spec.limits.memory.",
    ),
    _e(
        2409,
        "RunCouldNotStart",
        500,
        C.RUN,
        "The pod of run {name} could not be created: {detail}",
    ),
    # -- limits and guardrails: 2500-2599 ---------------------------------------------
    _e(
        2500,
        "MaxRowsPerRunExceeded",
        413,
        C.LIMIT,
        "Task {task}: more than {limit} rows in one run; raise limits.maxRowsPerRun "
        "or use incremental export.",
    ),
    _e(
        2501,
        "MaxErrorRateExceeded",
        422,
        C.LIMIT,
        "Task {task}: {failed} of {read} rows failed, over limits.maxErrorRate {limit}.",
    ),
    _e(
        2502,
        "ScheduledProjectQuotaExceeded",
        429,
        C.LIMIT,
        "Namespace {namespace} already has {limit} scheduled projects (the quota).",
    ),
    _e(
        2503,
        "EmptySource",
        422,
        C.LIMIT,
        "Task {task}: a full read found no rows in the source while the destination's "
        "{entity} has {rows}; nothing was written (guardrails.emptySourceProtection).",
    ),
    _e(
        2504,
        "ChangedShareExceeded",
        422,
        C.LIMIT,
        "Task {task}: the run would insert or update {changed} of the {rows} rows of "
        "{entity} ({share}), over guardrails.maxChangedShare {limit}; nothing was written.",
    ),
    _e(
        2505,
        "RunErrorRateExceeded",
        422,
        C.LIMIT,
        "{errors} of the last {runs} finished runs of project {name} ended in Error; "
        "guardrails.maxRunErrorRate allows {allowed} in {window}.",
    ),
    _e(
        2506,
        "SuspendedByGuardrail",
        409,
        C.LIMIT,
        "Project {name} is suspended since run {run}: {cause} No scheduled run starts "
        "until it is resumed: `syncline resume {name}`, or a new syncline.dev/resume "
        "annotation value.",
    ),
    # -- notifications: 2600-2699 -----------------------------------------------------
    _e(2600, "NotificationFailed", 502, C.NOTIFICATION, "Notification {name} failed: {detail}"),
    _e(2601, "InvalidRecipient", 400, C.NOTIFICATION, "{recipient!r} is not an email address."),
    _e(
        2602,
        "EmailNotConfigured",
        503,
        C.NOTIFICATION,
        "spec.notifications.email is set, but the operator cannot send email: {detail}",
    ),
    _e(
        2603,
        "WebhookUrlInvalid",
        400,
        C.NOTIFICATION,
        "Webhook {name}: Secret {secret} {detail}",
    ),
    # -- audit: 2700-2799 -------------------------------------------------------------
    _e(2700, "AuditChainBroken", 500, C.AUDIT, "Audit record {seq} does not match its hash."),
    _e(2701, "AuditRecordNotFound", 404, C.AUDIT, "Audit record {seq} does not exist."),
    _e(2702, "SyslogForwardingFailed", 502, C.AUDIT, "Could not forward audit to {target}."),
    _e(2703, "AuditConfigInvalid", 400, C.AUDIT, "The audit configuration is invalid: {detail}"),
    _e(2704, "AuditFileNotFound", 404, C.AUDIT, "Audit log file {name} does not exist."),
    _e(2705, "AuditCheckpointInvalid", 500, C.AUDIT, "Audit checkpoint {seq} is not signed."),
    _e(2706, "AuditAppendContended", 503, C.AUDIT, "Could not append to the audit log: {detail}"),
    _e(2707, "AuditKeyUnavailable", 500, C.AUDIT, "The audit signing key is unusable: {detail}"),
    _e(2708, "SyslogCaInvalid", 400, C.AUDIT, "The syslog CA is not usable: {detail}"),
    _e(2709, "BuiltinScheduleNotFound", 404, C.SCHEDULE, "No built-in schedule {name}."),
    # -- API authentication and authorization: 2800-2899 ------------------------------
    _e(2800, "Unauthenticated", 401, C.AUTH, "A valid bearer token is required."),
    _e(2801, "Forbidden", 403, C.AUTH, "{user} may not {verb} {resource}."),
    _e(2810, "TokenReviewFailed", 503, C.AUTH, "Could not check the token: {detail}"),
    _e(2811, "AccessReviewFailed", 503, C.AUTH, "Could not check access: {detail}"),
)

BY_CODE: dict[int, ErrorSpec] = {e.code: e for e in CATALOG}
BY_NAME: dict[str, ErrorSpec] = {e.name: e for e in CATALOG}


def lookup(name: str) -> ErrorSpec:
    """The entry called ``name``; a typo is a programming error and raises KeyError."""
    return BY_NAME[name]


class SynclineError(Exception):
    """An error with a catalog code. Raise it with the entry's name and its parameters."""

    def __init__(self, name: str, /, **params: Any) -> None:
        self.spec = lookup(name)
        self.params = params
        super().__init__(self.spec.format(**params))

    @property
    def code(self) -> int:
        return self.spec.code

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def message(self) -> str:
        return str(self)

    def as_dict(self) -> dict[str, Any]:
        """The REST API's error body: ``{code, name, message}``."""
        return {"code": self.code, "name": self.name, "message": self.message}


def render_markdown() -> str:
    """docs/errors.md, generated from the catalog so the two cannot disagree."""
    lines = [
        "# Syncline error catalog",
        "",
        "<!-- Generated by `syncline errors --markdown`; do not edit by hand. -->",
        "",
        "Every failure Syncline reports carries one of these codes, in the form",
        "`<code> <Name>: <message>`. Codes never change meaning and are never reused.",
        "",
    ]
    for category in Category:
        entries = [e for e in CATALOG if e.category is category]
        if not entries:
            continue
        lines += [f"## {category.value.capitalize()}", "", "| Code | Name | HTTP | Message |"]
        lines.append("|---:|---|---:|---|")
        for e in sorted(entries, key=lambda e: e.code):
            lines.append(f"| {e.code} | {e.name} | {e.http_status} | {e.message} |")
        lines.append("")
    return "\n".join(lines)
