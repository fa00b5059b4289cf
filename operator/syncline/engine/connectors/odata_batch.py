"""OData v4 JSON ``$batch``: many upserts in one HTTP request, one result per operation.

The operations of a request are independent (no atomicity group) and the request asks
``Prefer: odata.continue-on-error``: a change set is all-or-nothing, so one refused row
would take every other row of its change set with it, while Syncline must write the rest
of the batch and report only the refused row. Each operation is a PATCH to the entity's
key, which creates the entity when it is absent (upsert) and is idempotent, so a
``$batch`` whose connection broke may be sent again.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from syncline.errors import SynclineError

JSON_IEEE754 = "application/json;IEEE754Compatible=true"
"""Decimals and 64-bit integers as strings, so no digit is lost on either side."""


@dataclass(frozen=True)
class Operation:
    """One upsert: the row's index in the Arrow batch, its address, its body."""

    row: int
    url: str
    body: dict[str, Any]


@dataclass(frozen=True)
class Outcome:
    """What the service answered one operation."""

    row: int
    status: int
    error: str
    """The service's error message ("" on success)."""

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300


def batch_body(operations: list[Operation]) -> dict[str, Any]:
    return {
        "requests": [
            {
                "id": str(i),
                "method": "PATCH",
                "url": op.url,
                "headers": {"content-type": JSON_IEEE754},
                "body": op.body,
            }
            for i, op in enumerate(operations)
        ]
    }


def batch_outcomes(operations: list[Operation], answer: Any, *, endpoint: str) -> list[Outcome]:
    """One outcome per operation, in order; 2017 when the answer does not cover them all."""
    responses = answer.get("responses") if isinstance(answer, dict) else None
    if not isinstance(responses, list):
        raise SynclineError("ODataBatchInvalid", endpoint=endpoint, detail="no responses array")
    by_id = {str(r.get("id")): r for r in responses if isinstance(r, dict)}
    outcomes = []
    for i, op in enumerate(operations):
        response = by_id.get(str(i))
        if response is None:
            raise SynclineError(
                "ODataBatchInvalid", endpoint=endpoint, detail=f"no response for operation {i}"
            )
        status = int(response.get("status", 0))
        outcomes.append(Outcome(op.row, status, error_message(response.get("body"))))
    return outcomes


def error_message(body: Any) -> str:
    """``error.message`` of an OData error body ("" when there is none)."""
    if isinstance(body, dict) and isinstance(body.get("error"), dict):
        message = body["error"].get("message")
        if isinstance(message, str):
            return message.strip().splitlines()[0] if message.strip() else ""
        if isinstance(message, dict) and isinstance(message.get("value"), str):
            return str(message["value"])
    return ""
