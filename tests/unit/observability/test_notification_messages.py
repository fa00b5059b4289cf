"""What a notification says: facts, first problems, how to see the log; no secret, no row data."""

from __future__ import annotations

from typing import Any

import pytest

from syncline.api.project import Outcome, WebhookFormat
from syncline.api.run import IntegrationRun, RunResult
from syncline.observability.notifications.mail import email_message
from syncline.observability.notifications.payloads import payload
from syncline.observability.notifications.policy import Occasion, Standing, standing_after
from syncline.observability.notifications.summary import RunSummary, summarize_run
from syncline.redaction import Redactor
from tests.support.notification_schemas import documented_schemas, schema_errors

SECRET = "hunter2-Secret"
ROW_KEY = "CUST-4242"


def _run(result: str = "Warning", **status: Any) -> IntegrationRun:
    base: dict[str, Any] = {
        "result": result,
        "startTime": "2025-05-04T02:00:01Z",
        "completionTime": "2025-05-04T02:00:13Z",
        "durationSeconds": 12.4,
        "read": 10,
        "inserted": 4,
        "updated": 2,
        "unchanged": 1,
        "filtered": 0,
        "failed": 3,
        "upserts": 6,
        "message": "10 read, 4 inserted, 2 updated, 1 unchanged, 0 filtered, 3 failed",
        "tasks": [{"name": "orders", "result": "Warning", "warnings": []}],
        "rowErrors": [
            {
                "task": "orders",
                "key": ROW_KEY,
                "field": "total",
                "code": 2300,
                "message": "2300 ValueConversionFailed: Field total: cannot convert the value"
                " to decimal.",
            }
        ]
        * 3,
    }
    base.update(status)
    return IntegrationRun.model_validate(
        {
            "metadata": {"name": "sync-1", "namespace": "sales"},
            "spec": {"projectRef": {"name": "sync"}, "trigger": "schedule"},
            "status": base,
        }
    )


def _summary(run: IntegrationRun, occasion: Occasion = Occasion.CHANGED) -> RunSummary:
    assert run.status is not None
    standing = standing_after(None, RunResult.COMPLETED, "sync-0", "sync-1", run.status.result)
    return summarize_run(run, standing, occasion, Redactor([SECRET]))


def _failed_run() -> IntegrationRun:
    error = f"2001 AuthenticationFailed: db:5432 rejected the credentials (password {SECRET})"
    return _run(
        "Error",
        errorCode=2001,
        message=error,
        tasks=[{"name": "orders", "result": "Error", "error": error}],
        rowErrors=[],
        read=0,
        failed=0,
    )


def test_row_errors_are_grouped_by_code_task_and_field_without_keys() -> None:
    summary = _summary(_run())
    assert summary.problems_total == 1
    problem = summary.problems[0]
    assert (problem.code, problem.name, problem.task, problem.field, problem.count) == (
        2300,
        "ValueConversionFailed",
        "orders",
        "total",
        3,
    )
    assert problem.line() == (
        "2300 ValueConversionFailed (task orders, field total, 3 rows): "
        "Field total: cannot convert the value to decimal."
    )


def test_a_failed_run_shows_its_error_once_naming_the_task_and_scrubbed() -> None:
    summary = _summary(_failed_run())
    assert [p.line() for p in summary.problems] == [
        "2001 AuthenticationFailed (task orders): db:5432 rejected the credentials (password ***)"
    ]
    assert SECRET not in summary.message


def test_only_the_first_five_problems_are_listed_and_all_are_counted() -> None:
    warnings = [f"2503 EmptySource: Task t{i}: the source returned no rows." for i in range(8)]
    summary = _summary(_run(warnings=warnings))
    assert len(summary.problems) == 5
    assert summary.problems_total == 9


def test_the_email_holds_the_facts_the_code_and_how_to_see_the_log() -> None:
    message = email_message(
        _summary(_failed_run()), "Syncline <syncline@example.com>", ["a@example.com"], 10
    )
    text = message.get_content()
    assert message["Subject"] == "[Syncline] sales/sync: Error (run sync-1)"
    assert message["To"] == "a@example.com"
    assert message["Auto-Submitted"] == "auto-generated"
    for fact in (
        "Project:    sync",
        "Namespace:  sales",
        "Run:        sync-1 (trigger: schedule)",
        "Result:     Error",
        "2001 AuthenticationFailed",
        "syncline runs logs sync-1 -n sales",
        "kubectl get integrationrun sync-1 -n sales -o yaml",
        "after every 10 runs",
    ):
        assert fact in text, fact
    assert SECRET not in message.as_string()


def test_a_reminder_says_how_long_the_result_has_held() -> None:
    run = _failed_run()
    standing = Standing("sync-1", RunResult.ERROR, Outcome.ERROR, 11)
    summary = summarize_run(run, standing, Occasion.REMINDER, Redactor([SECRET]))
    assert summary.headline == "sales/sync: still Error (11 runs in a row) (run sync-1)"
    text = email_message(summary, "s@example.com", ["a@example.com"], 10).get_content()
    assert text.startswith("Reminder: 11 runs in a row of project sync ended Error")


@pytest.mark.parametrize("fmt", list(WebhookFormat))
@pytest.mark.parametrize("run", [_run(), _failed_run(), _run("Completed", rowErrors=[])])
def test_every_webhook_body_matches_its_documented_schema(
    fmt: WebhookFormat, run: IntegrationRun
) -> None:
    body = payload(fmt, _summary(run))
    assert schema_errors(fmt.value, body) == []
    assert ROW_KEY not in str(body)
    assert SECRET not in str(body)


def test_the_doc_publishes_a_schema_for_every_format() -> None:
    assert set(documented_schemas()) == {f.value for f in WebhookFormat}


def test_the_generic_body_carries_every_fact() -> None:
    body = payload(WebhookFormat.GENERIC, _summary(_failed_run()))
    assert body["schema"] == "syncline.dev/run-notification/v1"
    assert body["outcome"] == "Error"
    assert body["project"] == {"namespace": "sales", "name": "sync"}
    assert body["run"]["completionTime"] == "2025-05-04T02:00:13Z"
    assert body["problems"][0]["code"] == 2001
    assert body["log"]["cli"] == "syncline runs logs sync-1 -n sales"


def test_slack_text_cannot_mention_or_link_anyone() -> None:
    run = _failed_run()
    assert run.status is not None
    run.status.message = "2400 RunFailed: Run x failed: <!channel> <http://evil|click> & more"
    run.status.tasks = []
    body = payload(WebhookFormat.SLACK, _summary(run))
    problems = body["blocks"][2]["text"]["text"]
    assert "&lt;!channel&gt;" in problems
    assert "<!channel>" not in problems
    assert "&amp; more" in problems


def test_teams_colours_the_title_by_outcome() -> None:
    failed = payload(WebhookFormat.TEAMS, _summary(_failed_run()))
    card = failed["attachments"][0]["content"]
    assert card["body"][0]["color"] == "Attention"
    warned = payload(WebhookFormat.TEAMS, _summary(_run()))
    assert warned["attachments"][0]["content"]["body"][0]["color"] == "Warning"
