"""Operator settings: from the environment, overridable by `syncline operator` flags.

The handlers read the current settings through :func:`current`, so tests and the CLI
can configure the operator before kopf starts without import-time globals elsewhere.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from syncline import __version__
from syncline.scheduling.cronjob import EngineSettings

DEFAULT_IMAGE = f"ghcr.io/syncline/syncline:{__version__}"  # never :latest: runs must repeat
DEFAULT_ENGINE_SERVICE_ACCOUNT = "syncline-engine"
DEFAULT_SCHEDULED_PROJECT_QUOTA = 50


@dataclass(frozen=True, slots=True)
class OperatorSettings:
    """Everything an operator deployment can tune."""

    namespaces: tuple[str, ...] = ()
    """Namespaces to watch; empty means the whole cluster."""
    engine_image: str = DEFAULT_IMAGE
    engine_service_account: str = DEFAULT_ENGINE_SERVICE_ACCOUNT
    engine_cluster_role: str = "syncline-engine"
    manage_engine_identity: bool = True
    """Create each project namespace's engine ServiceAccount and RoleBinding (off: apply
    manifests/tenant per namespace yourself)."""
    image_pull_policy: str = "IfNotPresent"
    engine_memory: str = "1Gi"
    """Memory of a run pod when its project sets no spec.limits.memory."""
    scheduled_project_quota: int = DEFAULT_SCHEDULED_PROJECT_QUOTA
    """Most projects with an active schedule per namespace; the next gets 2502."""
    connection_timeout_seconds: float = 15.0
    """Longest a connection check or catalog discovery may take."""
    rediscovery_seconds: float = math.inf
    """How old a Connection's catalog may get before it is discovered again; by default
    only the built-in schedule ``connection-recheck`` re-checks healthy Connections."""
    retry_seconds: float = 60.0
    """How soon a Connection that is not Ready is checked again (a Secret may have appeared:
    the operator never watches Secrets, it only reads the one referenced)."""
    liveness_endpoint: str | None = None
    """kopf's health endpoint, e.g. http://0.0.0.0:8080/healthz."""
    metrics_address: str = "0.0.0.0:9464"
    """host:port of the Prometheus /metrics endpoint; empty disables it."""
    retention_sweep_seconds: float = math.inf
    """How often each project's runs are checked against its retention period; by default
    only the built-in schedule ``history-cleanup`` does (its cron can be changed live)."""
    housekeeping_tick_seconds: float = 10.0
    """How often the built-in schedules are checked (and audit records forwarded)."""
    smtp_url: str = ""
    """smtp://host:port (upgraded with STARTTLS when the server offers it) or
    smtps://host:port; empty: the operator sends no email (projects asking for it say so)."""
    smtp_from: str = ""
    """The sender of notification emails, e.g. ``Syncline <syncline@example.com>``."""
    smtp_secret: str = ""
    """``namespace/name`` of a Secret with keys username and password (the SMTP login);
    empty: no login."""
    smtp_ca_file: str = ""
    """PEM file of the CAs that sign the SMTP server's certificate; empty: the system's."""
    notification_timeout_seconds: float = 10.0
    """Longest one SMTP or webhook attempt may take."""
    notification_attempts: int = 4
    """Attempts per notification (timeouts, refused connections, HTTP 5xx, SMTP 4xx)."""
    notification_backoff_seconds: float = 1.0
    """Wait before the second attempt; doubled before each further one."""

    @property
    def engine(self) -> EngineSettings:
        return EngineSettings(
            image=self.engine_image,
            service_account=self.engine_service_account,
            image_pull_policy=self.image_pull_policy,
            memory=self.engine_memory,
        )

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> OperatorSettings:
        """Settings from ``SYNCLINE_*`` variables (the Deployment sets them)."""
        env = os.environ if env is None else env
        base = cls()
        namespaces = env.get("SYNCLINE_WATCH_NAMESPACES", "")
        return cls(
            namespaces=tuple(n.strip() for n in namespaces.split(",") if n.strip()),
            engine_image=env.get("SYNCLINE_ENGINE_IMAGE", base.engine_image),
            engine_service_account=env.get(
                "SYNCLINE_ENGINE_SERVICE_ACCOUNT", base.engine_service_account
            ),
            engine_cluster_role=env.get("SYNCLINE_ENGINE_CLUSTER_ROLE", base.engine_cluster_role),
            manage_engine_identity=env.get("SYNCLINE_MANAGE_ENGINE_IDENTITY", "true").lower()
            not in ("false", "0", "no"),
            image_pull_policy=env.get("SYNCLINE_IMAGE_PULL_POLICY", base.image_pull_policy),
            engine_memory=env.get("SYNCLINE_ENGINE_MEMORY", base.engine_memory),
            scheduled_project_quota=int(
                env.get("SYNCLINE_SCHEDULED_PROJECT_QUOTA", base.scheduled_project_quota)
            ),
            connection_timeout_seconds=float(
                env.get("SYNCLINE_CONNECTION_TIMEOUT_SECONDS", base.connection_timeout_seconds)
            ),
            rediscovery_seconds=float(
                env.get("SYNCLINE_REDISCOVERY_SECONDS", base.rediscovery_seconds)
            ),
            retry_seconds=float(env.get("SYNCLINE_RETRY_SECONDS", base.retry_seconds)),
            liveness_endpoint=env.get("SYNCLINE_LIVENESS_ENDPOINT") or None,
            metrics_address=env.get("SYNCLINE_METRICS_ADDRESS", base.metrics_address),
            retention_sweep_seconds=float(
                env.get("SYNCLINE_RETENTION_SWEEP_SECONDS", base.retention_sweep_seconds)
            ),
            housekeeping_tick_seconds=float(
                env.get("SYNCLINE_HOUSEKEEPING_TICK_SECONDS", base.housekeeping_tick_seconds)
            ),
            smtp_url=env.get("SYNCLINE_SMTP_URL", base.smtp_url).strip(),
            smtp_from=env.get("SYNCLINE_SMTP_FROM", base.smtp_from).strip(),
            smtp_secret=env.get("SYNCLINE_SMTP_SECRET", base.smtp_secret).strip(),
            smtp_ca_file=env.get("SYNCLINE_SMTP_CA_FILE", base.smtp_ca_file).strip(),
            notification_timeout_seconds=float(
                env.get("SYNCLINE_NOTIFICATION_TIMEOUT_SECONDS", base.notification_timeout_seconds)
            ),
            notification_attempts=int(
                env.get("SYNCLINE_NOTIFICATION_ATTEMPTS", base.notification_attempts)
            ),
            notification_backoff_seconds=float(
                env.get("SYNCLINE_NOTIFICATION_BACKOFF_SECONDS", base.notification_backoff_seconds)
            ),
        )

    def with_overrides(self, **changes: Any) -> OperatorSettings:
        """A copy with the given (non-None) fields replaced; CLI flags use it."""
        return replace(self, **{k: v for k, v in changes.items() if v is not None})


_current: list[OperatorSettings] = []


def configure(settings: OperatorSettings) -> None:
    """Make ``settings`` the ones handlers see (called before the operator starts)."""
    _current[:] = [settings]


def current() -> OperatorSettings:
    """The configured settings, or those from the environment if nobody configured any."""
    if not _current:
        _current.append(OperatorSettings.from_env())
    return _current[0]
