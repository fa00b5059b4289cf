"""What a project's Ready says beyond its verdict (no server needed)."""

from __future__ import annotations

from syncline.controllers.project import with_notes
from syncline.controllers.status import succeeded


def test_what_validation_left_to_the_run_start_is_said_in_ready() -> None:
    verdict = succeeded("Scheduled", "Runs at '0 * * * *' (UTC).")
    note = "Entity big of crm is beyond its Connection's truncated catalog; it is checked ..."
    noted = with_notes(verdict, [note])
    assert (noted.ready, noted.reason) == (True, "Scheduled")
    assert noted.message == f"Runs at '0 * * * *' (UTC). {note}"
    assert with_notes(verdict, []) is verdict
