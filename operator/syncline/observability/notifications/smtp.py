"""Sending one email through the operator's SMTP server, one attempt at a time.

The server is configured once for the operator: ``SYNCLINE_SMTP_URL`` is
``smtp://host:port`` (plain SMTP, upgraded with STARTTLS whenever the server offers it)
or ``smtps://host:port`` (TLS from the first byte), ``SYNCLINE_SMTP_FROM`` the sender, and
an optional Secret holds the login. Certificates are verified (against the system's CAs,
or ``SYNCLINE_SMTP_CA_FILE``), and a login is never sent over a connection without TLS.
"""

from __future__ import annotations

import smtplib
import socket
import ssl
from collections.abc import Sequence
from dataclasses import dataclass, field
from email.message import EmailMessage
from urllib.parse import urlsplit

from syncline.errors import SynclineError
from syncline.observability.notifications.delivery import DeliveryError
from syncline.observability.notifications.recipients import plain_address

DEFAULT_PORTS = {"smtp": 25, "smtps": 465}


@dataclass(frozen=True, slots=True)
class SmtpServer:
    """Where mail goes and who it is from."""

    host: str
    port: int
    implicit_tls: bool
    sender: str
    ca_file: str | None = None

    @property
    def address(self) -> str:
        """``smtp://host:port``: what messages name (the URL holds nothing else)."""
        return f"{'smtps' if self.implicit_tls else 'smtp'}://{self.host}:{self.port}"

    @property
    def envelope_sender(self) -> str:
        return plain_address(self.sender) or self.sender


@dataclass(frozen=True, slots=True)
class SmtpLogin:
    """The SMTP login from the operator's Secret; never printed."""

    username: str
    password: str = field(repr=False)


def smtp_server(url: str, sender: str, ca_file: str = "") -> SmtpServer:
    """The configured server; 2602 EmailNotConfigured saying what is missing or wrong."""

    def unusable(detail: str) -> SynclineError:
        return SynclineError("EmailNotConfigured", detail=detail)

    if not url:
        raise unusable("SYNCLINE_SMTP_URL is not set")
    parts = urlsplit(url)
    try:
        port = parts.port
    except ValueError:
        port = -1
    if parts.scheme not in DEFAULT_PORTS or not parts.hostname or port == -1:
        raise unusable("SYNCLINE_SMTP_URL must be smtp://host:port or smtps://host:port")
    if parts.username or parts.password:
        raise unusable("SYNCLINE_SMTP_URL must not hold a login; use SYNCLINE_SMTP_SECRET")
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        raise unusable("SYNCLINE_SMTP_URL must be only smtp://host:port or smtps://host:port")
    if not sender:
        raise unusable("SYNCLINE_SMTP_FROM is not set")
    if plain_address(sender) is None:
        raise unusable(f"SYNCLINE_SMTP_FROM {sender!r} is not an email address")
    return SmtpServer(
        host=parts.hostname,
        port=port or DEFAULT_PORTS[parts.scheme],
        implicit_tls=parts.scheme == "smtps",
        sender=sender,
        ca_file=ca_file or None,
    )


def send_mail(
    server: SmtpServer,
    login: SmtpLogin | None,
    message: EmailMessage,
    recipients: Sequence[str],
    timeout: float,
) -> str:
    """Hand ``message`` to the server for ``recipients``; what was done, or DeliveryError."""
    where = server.address
    try:
        refused = _transfer(server, login, message, recipients, timeout)
    except smtplib.SMTPAuthenticationError as err:
        raise DeliveryError(
            f"{where} rejected the login ({err.smtp_code})", retryable=False
        ) from None
    except smtplib.SMTPRecipientsRefused as err:
        codes = sorted({code for code, _ in err.recipients.values()})
        retry = all(400 <= code < 500 for code in codes)
        detail = f"{where} refused every recipient ({', '.join(map(str, codes))})"
        raise DeliveryError(detail, retryable=retry) from None
    except smtplib.SMTPResponseException as err:
        text = (
            err.smtp_error.decode("utf-8", "replace")
            if isinstance(err.smtp_error, bytes)
            else str(err.smtp_error)
        )
        detail = f"{where} answered {err.smtp_code} {' '.join(text.split())}"
        raise DeliveryError(detail, retryable=400 <= err.smtp_code < 500) from None
    except smtplib.SMTPNotSupportedError as err:
        raise DeliveryError(f"{where}: {err}", retryable=False) from None
    except smtplib.SMTPException as err:  # disconnected, no answer: try again
        raise DeliveryError(f"{where}: {type(err).__name__}: {err}", retryable=True) from None
    except ssl.SSLCertVerificationError as err:
        detail = f"{where} presented a certificate that is not trusted ({err.verify_message})"
        raise DeliveryError(detail, retryable=False) from None
    except TimeoutError:
        raise DeliveryError(f"{where} did not answer in {timeout:g}s", retryable=True) from None
    except OSError as err:  # refused, unreachable, reset, TLS handshake
        detail = f"cannot reach {where}: {err.strerror or err or type(err).__name__}"
        raise DeliveryError(detail, retryable=True) from None
    accepted = len(recipients) - len(refused)
    detail = f"accepted by {where} for {accepted} recipient{'s' if accepted != 1 else ''}"
    if refused:
        codes = sorted({code for code, _ in refused.values()})
        detail += f"; {len(refused)} refused ({', '.join(map(str, codes))})"
    return detail


def _transfer(
    server: SmtpServer,
    login: SmtpLogin | None,
    message: EmailMessage,
    recipients: Sequence[str],
    timeout: float,
) -> dict[str, tuple[int, bytes]]:
    context = ssl.create_default_context(cafile=server.ca_file)
    me = socket.gethostname()  # not getfqdn(): no DNS lookup that may hang
    client: smtplib.SMTP
    if server.implicit_tls:
        client = smtplib.SMTP_SSL(
            server.host, server.port, local_hostname=me, timeout=timeout, context=context
        )
    else:
        client = smtplib.SMTP(server.host, server.port, local_hostname=me, timeout=timeout)
    with client:
        client.ehlo()
        encrypted = server.implicit_tls
        if not encrypted and client.has_extn("starttls"):
            client.starttls(context=context)
            client.ehlo()
            encrypted = True
        if login is not None:
            if not encrypted:
                raise DeliveryError(
                    f"{server.address} does not offer STARTTLS, and the SMTP login is never "
                    "sent in clear (use smtps://, or a server with STARTTLS)",
                    retryable=False,
                )
            client.login(login.username, login.password)
        refused: dict[str, tuple[int, bytes]] = client.send_message(
            message, from_addr=server.envelope_sender, to_addrs=list(recipients)
        )
        return refused
