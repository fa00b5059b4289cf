"""Bounded retries, the SMTP server setting and webhook targets (no network here)."""

from __future__ import annotations

import pytest

from syncline.errors import SynclineError
from syncline.observability.notifications.delivery import DeliveryError, with_retries
from syncline.observability.notifications.smtp import SmtpLogin, smtp_server
from syncline.observability.notifications.webhook import webhook_target


class _Flaky:
    """Fails ``failures`` times (retryable or not), then succeeds."""

    def __init__(self, failures: int, retryable: bool = True) -> None:
        self.failures, self.retryable, self.calls = failures, retryable, 0

    def __call__(self) -> str:
        self.calls += 1
        if self.calls <= self.failures:
            raise DeliveryError(f"failure {self.calls}", retryable=self.retryable)
        return "delivered"


def test_transient_failures_are_retried_with_doubling_backoff() -> None:
    waits: list[float] = []
    attempt = _Flaky(2)
    delivery = with_retries(attempt, attempts=4, backoff_seconds=1.0, sleep=waits.append)
    assert (delivery.sent, delivery.attempts, delivery.detail) == (True, 3, "delivered")
    assert waits == [1.0, 2.0]


def test_it_gives_up_after_the_bound() -> None:
    waits: list[float] = []
    attempt = _Flaky(99)
    delivery = with_retries(attempt, attempts=4, backoff_seconds=0.5, sleep=waits.append)
    assert (delivery.sent, delivery.attempts, attempt.calls) == (False, 4, 4)
    assert delivery.detail == "failure 4 (gave up after 4 attempts)"
    assert waits == [0.5, 1.0, 2.0]


def test_a_final_answer_is_not_retried() -> None:
    attempt = _Flaky(1, retryable=False)
    delivery = with_retries(attempt, sleep=lambda _: pytest.fail("no wait expected"))
    assert (delivery.sent, delivery.attempts) == (False, 1)


@pytest.mark.parametrize(
    ("url", "address", "tls"),
    [
        ("smtp://mail.example.com:587", "smtp://mail.example.com:587", False),
        ("smtp://mail.example.com", "smtp://mail.example.com:25", False),
        ("smtps://mail.example.com", "smtps://mail.example.com:465", True),
        ("smtps://127.0.0.1:2465", "smtps://127.0.0.1:2465", True),
    ],
)
def test_smtp_urls(url: str, address: str, tls: bool) -> None:
    server = smtp_server(url, "Syncline <syncline@example.com>")
    assert (server.address, server.implicit_tls) == (address, tls)
    assert server.envelope_sender == "syncline@example.com"


@pytest.mark.parametrize(
    ("url", "sender", "detail"),
    [
        ("", "a@example.com", "SYNCLINE_SMTP_URL is not set"),
        ("http://mail:25", "a@example.com", "must be smtp://host:port or smtps://host:port"),
        ("smtp://mail:notaport", "a@example.com", "must be smtp://host:port"),
        ("smtp://user:pw@mail:25", "a@example.com", "use SYNCLINE_SMTP_SECRET"),
        ("smtp://mail:25", "", "SYNCLINE_SMTP_FROM is not set"),
        ("smtp://mail:25", "syncline", "is not an email address"),
    ],
)
def test_an_unusable_smtp_setting_is_2602_saying_what_to_fix(
    url: str, sender: str, detail: str
) -> None:
    with pytest.raises(SynclineError) as caught:
        smtp_server(url, sender)
    assert caught.value.code == 2602
    assert detail in str(caught.value)
    assert "pw" not in str(caught.value)


def test_the_smtp_password_is_never_printed() -> None:
    assert "s3cret" not in repr(SmtpLogin("user", "s3cret"))


@pytest.mark.parametrize(
    ("url", "target"),
    [
        ("https://hooks.slack.com/services/T0/B0/XXXX", "https://hooks.slack.com"),
        ("http://127.0.0.1:8080/hook?token=abc", "http://127.0.0.1:8080"),
        (" https://example.webhook.office.com/x \n", "https://example.webhook.office.com"),
        ("ftp://example.com/x", None),
        ("hooks.slack.com/services/x", None),
        ("https://:80/x", None),
        ("http://host:99999/x", None),
    ],
)
def test_webhook_targets_name_scheme_and_host_only(url: str, target: str | None) -> None:
    assert webhook_target(url) == target
