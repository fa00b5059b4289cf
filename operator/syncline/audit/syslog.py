"""Audit records as RFC 5424 syslog messages, sent over TLS with octet counting.

RFC 5425 (syslog over TLS) frames each message as ``MSG-LEN SP SYSLOG-MSG`` (octet
counting, also RFC 6587), so a record containing newlines can never be split or merged
with another. The receiver is verified against the configured CA and its certificate
must carry the configured name (default: the address's host).

A message carries the record's seq, hash and prev_hash as structured data, and the
whole record as canonical JSON in MSG, so the receiver's copy can verify the chain on its
own and tampering inside the cluster shows against it.
"""

from __future__ import annotations

import socket
import ssl
from collections.abc import Iterable

from syncline.audit.chain import AuditRecord, canonical
from syncline.audit.config import SyslogTarget

FACILITY_LOG_AUDIT = 13
"""RFC 5424 facility 13: "log audit"."""
SEVERITY_NOTICE = 5
SEVERITY_WARNING = 4
SD_ID = "syncline@32473"
"""Structured-data ID: name@<private enterprise number>; 32473 is the number RFC 5612
reserves for documentation, used until Syncline registers its own."""
APP_NAME = "syncline"


def format_message(record: AuditRecord, hostname: str = "-") -> bytes:
    """One RFC 5424 message (without framing) for ``record``."""
    severity = SEVERITY_NOTICE if record.result == "Success" else SEVERITY_WARNING
    pri = FACILITY_LOG_AUDIT * 8 + severity
    msgid = _printable(record.action, 32)
    params = " ".join(
        f'{name}="{_sd_escape(value)}"'
        for name, value in (
            ("seq", str(record.seq)),
            ("hash", record.hash),
            ("prevHash", record.prev_hash),
            ("actor", record.actor),
            ("target", record.target),
            ("result", record.result),
        )
    )
    header = f"<{pri}>1 {record.time} {_printable(hostname, 255)} {APP_NAME} - {msgid}"
    return f"{header} [{SD_ID} {params}] ".encode() + canonical(record.to_json())


def frame(message: bytes) -> bytes:
    """Octet-counting framing: the length in bytes, a space, the message."""
    return str(len(message)).encode() + b" " + message


def _printable(text: str, limit: int) -> str:
    """PRINTUSASCII (33..126) only, as header fields require; ``-`` when empty."""
    cleaned = "".join(c if 33 <= ord(c) <= 126 else "_" for c in text)[:limit]
    return cleaned or "-"


def _sd_escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("]", "\\]")


def tls_context(target: SyslogTarget) -> ssl.SSLContext:
    """Verify the receiver with the configured CA only (not the system's), TLS 1.2+."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_verify_locations(cadata=target.ca_pem)
    context.check_hostname = True
    context.verify_mode = ssl.CERT_REQUIRED
    return context


def send(
    target: SyslogTarget,
    records: Iterable[AuditRecord],
    hostname: str = "-",
    timeout: float = 10.0,
) -> int:
    """Send ``records`` in one TLS connection; the number sent. Raises OSError/SSLError on
    any failure (the caller keeps its position and tries again later)."""
    context = tls_context(target)
    sent = 0
    with (
        socket.create_connection((target.host, target.port), timeout=timeout) as raw,
        context.wrap_socket(raw, server_hostname=target.server_name or target.host) as tls,
    ):
        for record in records:
            tls.sendall(frame(format_message(record, hostname)))
            sent += 1
    return sent
