"""The audit configuration: retention, file size, checkpoints and the syslog target.

Stored as JSON in the ConfigMap ``syncline-audit-config`` of the Syncline namespace; the
REST API and ``syncline audit`` read and change it through :func:`get_config` and
:func:`set_config` in :mod:`syncline.audit`. The syslog CA is a public certificate, so a
ConfigMap (not a Secret) is the right home for it.
"""

from __future__ import annotations

import ssl

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator
from pydantic.alias_generators import to_camel

from syncline.errors import SynclineError


class _Model(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid")


class SyslogTarget(_Model):
    """Where audit records are forwarded: RFC 5424 over TLS, octet-counted (RFC 5425)."""

    address: str = Field(description="host:port of the syslog receiver (TLS).")
    ca_pem: str = Field(description="PEM CA certificate(s) that sign the receiver's certificate.")
    server_name: str | None = Field(
        default=None, description="Name the receiver's certificate must carry; default: host."
    )
    enabled: bool = True

    @field_validator("address")
    @classmethod
    def _host_port(cls, value: str) -> str:
        host, sep, port = value.rpartition(":")
        if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
            raise ValueError("address must be host:port")
        return value

    @property
    def host(self) -> str:
        return self.address.rpartition(":")[0].strip("[]")

    @property
    def port(self) -> int:
        return int(self.address.rpartition(":")[2])


class AuditConfig(_Model):
    """How the audit log is kept."""

    retention_days: int = Field(default=365, ge=1, le=3650)
    """Sealed files whose newest record is older than this are deleted by rotation."""
    max_records_per_file: int = Field(default=500, ge=10, le=1500)
    """A file (one ConfigMap, 1 MiB at most) is sealed and a new one started when full."""
    checkpoint_every: int = Field(default=20, ge=1, le=1000)
    """A signed checkpoint every this many records (and at every seal and verification)."""
    syslog: SyslogTarget | None = None


def parse_config(data: object) -> AuditConfig:
    """A validated configuration, or 2703 (and 2708 when the CA cannot be loaded)."""
    try:
        config = AuditConfig.model_validate(data)
    except ValidationError as err:
        first = err.errors()[0]
        where = ".".join(str(p) for p in first.get("loc", ()))
        raise SynclineError("AuditConfigInvalid", detail=f"{where}: {first['msg']}") from err
    if config.syslog is not None:
        check_ca(config.syslog.ca_pem)
    return config


def check_ca(ca_pem: str) -> None:
    """2708 unless ``ca_pem`` holds at least one certificate TLS can verify against."""
    try:
        context = ssl.create_default_context(cadata=ca_pem)
    except (ssl.SSLError, ValueError) as err:
        raise SynclineError("SyslogCaInvalid", detail=type(err).__name__) from err
    if not context.cert_store_stats()["x509"]:
        raise SynclineError("SyslogCaInvalid", detail="no certificate found")
