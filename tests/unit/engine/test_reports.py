"""What leaves the engine: reports, the JSON-lines log and row errors carry no secret and
no row value (row values go only to the rejects store)."""

from __future__ import annotations

import io
import json
import logging
from typing import Any

import pyarrow as pa
import pytest

from syncline.api.run import RowError, RunResult
from syncline.engine.logs import json_log
from syncline.engine.rejects import Reject
from syncline.engine.report import RunReport, TaskReport
from syncline.engine.writer import BatchWrite, rejection
from syncline.errors import SynclineError
from syncline.redaction import Redactor

SECRET = "Hunter2-canary"


def _failed_report() -> RunReport:
    task = TaskReport("copy", result=RunResult.ERROR)
    task.error = SynclineError(
        "ConnectionUnreachable",
        endpoint="db:5432/crm",
        detail=f'FATAL: role "{SECRET.lower()}" does not exist',
    )
    task.warnings.append(f"2301 DuplicateKeyInBatch: odd text {SECRET}")
    task.record_row_errors(
        [
            Reject(
                task="copy",
                key="id=1",
                field=None,
                code=2303,
                message=f"2303 RowRejected: The destination rejected the row: {SECRET}",
                stored_message="kept for the rejects store",
            )
        ]
    )
    report = RunReport(project="demo", tasks=[task])
    report.warnings.append(f"a warning naming {SECRET}")
    report.finish()
    return report


def test_a_report_keeps_codes_and_loses_the_secret() -> None:
    report = _failed_report()
    redactor = Redactor([SECRET, "crm-user"])
    status = report.to_status(redactor)
    text = report.to_json(redactor)
    assert SECRET.lower() not in text.lower()
    assert (status.error_code, status.result) == (2000, RunResult.ERROR)
    assert status.message is not None
    assert status.message.startswith("2000 ConnectionUnreachable: Cannot reach db:5432/crm: ")
    assert status.tasks[0].error == status.message
    assert status.tasks[0].warnings[0].startswith("2301 DuplicateKeyInBatch: ")
    assert status.row_errors[0].code == 2303
    assert json.loads(text)["errorCode"] == 2000


def test_row_errors_in_a_report_are_the_public_ones() -> None:
    report = _failed_report()
    (row_error,) = report.to_status().row_errors
    assert type(row_error) is RowError
    assert "kept for the rejects store" not in report.to_json()


def test_the_json_lines_log_loses_the_secret_in_messages_and_extras() -> None:
    out = io.StringIO()
    log = logging.getLogger("syncline.engine.test")
    with json_log(out, redactor=Redactor([SECRET])):
        log.info("connecting as %s", SECRET)
        log.error(
            "task invalid",
            extra={"error": f"2000 ConnectionUnreachable: x {SECRET}", "nested": [SECRET], "n": 3},
        )
    assert SECRET not in out.getvalue()
    entries = [json.loads(line) for line in out.getvalue().splitlines()]
    assert entries[1]["error"].startswith("2000 ConnectionUnreachable: ")
    assert entries[1]["n"] == 3


class _RejectedError(Exception):
    pass


@pytest.mark.parametrize(
    ("driver_text", "public_detail"),
    [
        (
            'invalid input syntax for type bigint: "Canary-7"\nCONTEXT: COPY line 1',
            'invalid input syntax for type bigint: "…"',
        ),
        (
            (1366, "Incorrect integer value: 'Canary-7' for column `db`.`stage`.`amount` at row 1"),
            "Incorrect integer value: '…' for column `…`.`…`.`amount` at row 1",
        ),
    ],
)
def test_a_rejected_row_shows_no_value_but_the_rejects_store_has_it(
    driver_text: Any, public_detail: str
) -> None:
    row = pa.RecordBatch.from_pydict(
        {"id": pa.array([7], pa.int64()), "amount": pa.array(["Canary-7"])}
    )
    job = BatchWrite("copy", "dst", ["id"], row, [])
    err = (
        _RejectedError(*driver_text)
        if isinstance(driver_text, tuple)
        else _RejectedError(driver_text)
    )
    reject = rejection(job, row, err)
    public, stored = reject.to_api(), reject.to_store()
    assert (public.key, public.code) == ("id=7", 2303)
    assert public.message == f"2303 RowRejected: The destination rejected the row: {public_detail}"
    assert "Canary-7" not in public.message
    assert "Canary-7" in stored.message
