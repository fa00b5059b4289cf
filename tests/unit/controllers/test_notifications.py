"""The operator's side of notifications that needs no API server: claims' first records,
configuration problems for Ready, the standing folded with lastRun, settings."""

from __future__ import annotations

from syncline.api.project import (
    EmailNotification,
    IntegrationProjectStatus,
    Notifications,
    Outcome,
)
from syncline.api.run import IntegrationRun, NotificationChannel, RunResult
from syncline.controllers.notifications import (
    configuration_problems,
    first_record,
    standing_fields,
)
from syncline.controllers.settings import OperatorSettings
from syncline.observability.notifications.policy import Decision, Occasion

SMTP = OperatorSettings(smtp_url="smtp://mail.example.com:587", smtp_from="s@example.com")
NO_SMTP = OperatorSettings()
EMAIL = Notifications(email=EmailNotification(to=["ops@example.com, dev@example.com"]))
DUE = Decision(NotificationChannel.EMAIL, "email", Occasion.CHANGED, "the result is now Error")


def test_a_due_email_is_claimed_as_pending() -> None:
    record = first_record(DUE, EMAIL, SMTP)
    assert (record["channel"], record["name"], record["result"]) == ("email", "email", "Pending")
    assert "code" not in record


def test_a_due_email_without_smtp_is_skipped_with_2602_not_dropped() -> None:
    record = first_record(DUE, EMAIL, NO_SMTP)
    assert (record["result"], record["code"]) == ("Skipped", 2602)
    assert "SYNCLINE_SMTP_URL is not set" in record["message"]


def test_a_due_email_without_one_valid_address_is_skipped_with_2601() -> None:
    nobody = Notifications(email=EmailNotification(to=["ops@, @example.com"]))
    record = first_record(DUE, nobody, SMTP)
    assert (record["result"], record["code"]) == ("Skipped", 2601)


def test_a_run_that_is_not_due_is_skipped_with_the_reason() -> None:
    quiet = Decision(NotificationChannel.EMAIL, "email", None, "Error again (3 runs in a row)")
    record = first_record(quiet, EMAIL, NO_SMTP)  # no 2602 for a mail that was not due
    assert (record["result"], record["message"]) == ("Skipped", "Error again (3 runs in a row)")
    assert "code" not in record


def test_ready_hears_about_email_without_smtp_and_bad_addresses() -> None:
    notifications = Notifications(email=EmailNotification(to=["ok@example.com, nope@"]))
    codes = [e.code for e in configuration_problems("team", notifications, NO_SMTP)]
    assert codes == [2602, 2601]
    assert configuration_problems("team", EMAIL, SMTP) == []
    assert configuration_problems("team", None, NO_SMTP) == []
    bad_secret = OperatorSettings(
        smtp_url="smtp://mail:25", smtp_from="s@example.com", smtp_secret="just-a-name"
    )
    problems = configuration_problems("team", EMAIL, bad_secret)
    assert [e.code for e in problems] == [2602]
    assert "namespace/name" in str(problems[0])


def _run(name: str, result: str) -> IntegrationRun:
    return IntegrationRun.model_validate(
        {
            "metadata": {"name": name, "namespace": "team"},
            "spec": {"projectRef": {"name": "p"}, "trigger": "schedule"},
            "status": {"result": result},
        }
    )


def test_the_fold_carries_the_standing_from_run_to_run() -> None:
    status = IntegrationProjectStatus()
    for number, result in enumerate(["Completed", "Error", "Error", "Completed"], start=1):
        fields = standing_fields(_run(f"p-{number}", result), status)
        status = IntegrationProjectStatus.model_validate(
            {
                "lastRun": {"name": f"p-{number}", "trigger": "schedule", "result": result},
                **fields,
            }
        )
    assert status.notifications is not None
    assert (status.notifications.run, status.notifications.outcome) == ("p-4", Outcome.RECOVERED)
    fields = standing_fields(_run("p-5", RunResult.COMPLETED.value), status)
    assert fields == {"notifications": {"run": "p-5", "outcome": "Completed", "consecutiveRuns": 2}}


def test_settings_read_the_smtp_server_and_delivery_bounds() -> None:
    settings = OperatorSettings.from_env(
        {
            "SYNCLINE_SMTP_URL": "smtps://mail.example.com:465",
            "SYNCLINE_SMTP_FROM": "Syncline <s@example.com>",
            "SYNCLINE_SMTP_SECRET": "syncline-system/smtp",
            "SYNCLINE_SMTP_CA_FILE": "/etc/ssl/mail-ca.pem",
            "SYNCLINE_NOTIFICATION_TIMEOUT_SECONDS": "3",
            "SYNCLINE_NOTIFICATION_ATTEMPTS": "2",
            "SYNCLINE_NOTIFICATION_BACKOFF_SECONDS": "0.5",
        }
    )
    assert (settings.smtp_url, settings.smtp_secret) == (
        "smtps://mail.example.com:465",
        "syncline-system/smtp",
    )
    assert settings.smtp_ca_file == "/etc/ssl/mail-ca.pem"
    assert (settings.notification_timeout_seconds, settings.notification_attempts) == (3.0, 2)
    assert settings.notification_backoff_seconds == 0.5
    defaults = OperatorSettings.from_env({})
    assert (defaults.smtp_url, defaults.notification_attempts) == ("", 4)
