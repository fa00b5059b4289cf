"""The SMTP and webhook clients against real servers on loopback ports (no cluster)."""

from __future__ import annotations

import socket
import threading
from email.message import EmailMessage

import pytest

from syncline.devcluster.databases import free_port
from syncline.observability.notifications.delivery import DeliveryError, with_retries
from syncline.observability.notifications.smtp import (
    SmtpLogin,
    SmtpServer,
    send_mail,
)
from syncline.observability.notifications.webhook import post_json
from tests.fixtures.notifications import SMTP_PASSWORD, SMTP_USER, MailServer, Receiver

pytestmark = pytest.mark.integration
LOGIN = SmtpLogin(SMTP_USER, SMTP_PASSWORD)


def _message() -> EmailMessage:
    message = EmailMessage()
    message["Subject"], message["From"] = "test", "syncline@example.com"
    message["To"] = "a@example.com, b@example.com"
    message.set_content("hello")
    return message


def _server(smtp: MailServer, ca: bool = True) -> SmtpServer:
    ca_file = str(smtp.ca_file) if ca else None
    return SmtpServer(smtp.host, smtp.port, False, "Syncline <syncline@example.com>", ca_file)


def test_mail_goes_over_starttls_with_the_login_to_every_recipient(smtp_server: MailServer) -> None:
    recipients = ["a@example.com", "b@example.com"]
    detail = send_mail(_server(smtp_server), LOGIN, _message(), recipients, timeout=5)
    assert detail == f"accepted by {smtp_server.url} for 2 recipients"
    [mail] = smtp_server.inbox.wait_for(1)
    assert (mail.tls, mail.authenticated) == (True, True)
    assert mail.recipients == ("a@example.com", "b@example.com")
    assert mail.sender == "syncline@example.com"


def test_a_wrong_password_is_final_and_not_echoed(smtp_server: MailServer) -> None:
    wrong = SmtpLogin(SMTP_USER, "not-the-password")
    with pytest.raises(DeliveryError) as caught:
        send_mail(_server(smtp_server), wrong, _message(), ["a@example.com"], timeout=5)
    assert not caught.value.retryable
    assert "rejected the login (535)" in caught.value.detail
    assert "not-the-password" not in caught.value.detail
    assert smtp_server.inbox.mails == []


def test_an_untrusted_certificate_is_final(smtp_server: MailServer) -> None:
    with pytest.raises(DeliveryError) as caught:
        send_mail(_server(smtp_server, ca=False), LOGIN, _message(), ["a@example.com"], 5)
    assert not caught.value.retryable
    assert "not trusted" in caught.value.detail


def test_a_server_that_is_down_is_retried_then_given_up() -> None:
    down = SmtpServer("127.0.0.1", free_port(), False, "s@example.com")
    delivery = with_retries(
        lambda: send_mail(down, None, _message(), ["a@example.com"], timeout=2),
        attempts=3,
        backoff_seconds=0.05,
    )
    assert (delivery.sent, delivery.attempts) == (False, 3)
    assert delivery.detail.startswith(f"cannot reach smtp://127.0.0.1:{down.port}")


def test_a_login_is_never_sent_without_tls() -> None:
    """A server that offers no STARTTLS (a bare socket speaking SMTP) gets no login."""
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    said: list[bytes] = []

    def serve() -> None:
        conn, _ = listener.accept()
        with conn:
            conn.sendall(b"220 plain ESMTP\r\n")
            while data := conn.recv(1024):
                said.append(data)
                if data.upper().startswith(b"EHLO"):
                    conn.sendall(b"250-plain\r\n250 AUTH PLAIN LOGIN\r\n")
                elif data.upper().startswith(b"QUIT"):
                    conn.sendall(b"221 bye\r\n")
                    return
                else:
                    conn.sendall(b"250 ok\r\n")

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    plain = SmtpServer("127.0.0.1", port, False, "s@example.com")
    with pytest.raises(DeliveryError) as caught:
        send_mail(plain, LOGIN, _message(), ["a@example.com"], timeout=5)
    thread.join(5)
    listener.close()
    assert not caught.value.retryable
    assert "never sent in clear" in caught.value.detail
    assert not any(b"AUTH" in line.upper() for line in said)
    assert SMTP_PASSWORD.encode() not in b"".join(said)


def test_a_webhook_answering_500_twice_then_200_is_delivered_on_the_third_try(
    receiver: Receiver,
) -> None:
    receiver.answer("/hook", 500, 500)
    delivery = with_retries(
        lambda: post_json(receiver.url("/hook?token=abc"), {"n": 1}, timeout=2),
        attempts=4,
        backoff_seconds=0.05,
    )
    assert (delivery.sent, delivery.attempts) == (True, 3)
    assert delivery.detail == f"{receiver.url('')} answered HTTP 200"
    assert [r.body for r in receiver.got("/hook")] == [{"n": 1}] * 3
    assert receiver.got("/hook")[0].headers["Content-Type"] == "application/json; charset=utf-8"


def test_a_4xx_is_final_and_a_slow_receiver_is_a_timeout(receiver: Receiver) -> None:
    receiver.answer("/gone", 404)
    with pytest.raises(DeliveryError) as caught:
        post_json(receiver.url("/gone"), {}, timeout=2)
    assert (caught.value.retryable, caught.value.detail) == (
        False,
        f"{receiver.url('')} answered HTTP 404",
    )
    receiver.answer("/slow", 200, delays=(3.0,))
    with pytest.raises(DeliveryError) as slow:
        post_json(receiver.url("/slow"), {}, timeout=0.5)
    assert slow.value.retryable
    assert "did not answer in 0.5s" in slow.value.detail


def test_a_redirect_is_not_followed(receiver: Receiver) -> None:
    receiver.answer("/moved", 308)
    with pytest.raises(DeliveryError) as caught:
        post_json(receiver.url("/moved"), {}, timeout=2)
    assert (caught.value.retryable, caught.value.detail.endswith("HTTP 308")) == (False, True)
