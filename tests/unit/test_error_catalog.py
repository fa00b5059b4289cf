"""The error catalog: stable, unique, documented codes."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from syncline.errors import BY_CODE, CATALOG, Category, SynclineError, lookup, render_markdown

DOCS = Path(__file__).resolve().parents[2] / "docs" / "errors.md"

# Codes already published. A code may be added, never removed or given another name.
PUBLISHED = {
    1000: "InvalidRequest",
    1001: "NameAlreadyUsed",
    1002: "ItemNotFound",
    1009: "InvalidArgument",
    1014: "ParameterMissing",
    1015: "ParameterInvalid",
    1600: "InvalidCron",
    1601: "ScheduleWillNeverRun",
    1658: "RunCannotBeCancelled",
    1670: "PendingRunAlreadyExists",
    2200: "SourceFieldMissing",
    2204: "NoUniqueIndexOnKeys",
    2500: "MaxRowsPerRunExceeded",
    2502: "ScheduledProjectQuotaExceeded",
}


def test_codes_and_names_are_unique() -> None:
    assert len({e.code for e in CATALOG}) == len(CATALOG)
    assert len({e.name for e in CATALOG}) == len(CATALOG)


def test_published_codes_keep_their_meaning() -> None:
    assert {code: BY_CODE[code].name for code in PUBLISHED} == PUBLISHED


@pytest.mark.parametrize("entry", CATALOG, ids=lambda e: e.name)
def test_entry_is_well_formed(entry: object) -> None:
    from syncline.errors import ErrorSpec

    assert isinstance(entry, ErrorSpec)
    assert re.fullmatch(r"[A-Z][A-Za-z0-9]+", entry.name)
    assert 1000 <= entry.code <= 2999
    assert 200 <= entry.http_status <= 599
    assert isinstance(entry.category, Category)
    assert entry.message.strip()


def test_syncline_codes_sit_in_their_category_ranges() -> None:
    ranges = {
        Category.CONNECTION: range(2000, 2100),
        Category.SECRET: range(2100, 2200),
        Category.VALIDATION: range(2200, 2300),
        Category.ROW: range(2300, 2400),
        Category.LIMIT: range(2500, 2600),
        Category.AUDIT: range(2700, 2800),
        Category.AUTH: range(2800, 2900),
    }
    for entry in CATALOG:
        if entry.category in ranges:
            assert entry.code in ranges[entry.category], entry


def test_error_message_carries_code_name_and_parameters() -> None:
    err = SynclineError("SourceFieldMissing", task="products", field="uom", entity="items")
    assert (
        str(err)
        == "2200 SourceFieldMissing: Task products: source field uom does not exist in items."
    )
    assert err.as_dict() == {"code": 2200, "name": "SourceFieldMissing", "message": str(err)}


def test_a_missing_parameter_stays_visible_instead_of_crashing() -> None:
    assert "{field}" in lookup("ParameterMissing").format()


def test_docs_are_generated_from_the_catalog() -> None:
    assert DOCS.read_text() == render_markdown()
    for entry in CATALOG:
        assert f"| {entry.code} | {entry.name} |" in DOCS.read_text()
