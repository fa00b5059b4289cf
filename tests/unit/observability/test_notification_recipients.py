"""spec.notifications.email.to: entries that may hold comma-separated groups."""

from __future__ import annotations

import pytest

from syncline.observability.notifications.recipients import parse_recipients, split_group


def test_groups_split_on_commas_and_each_address_is_mailed_once() -> None:
    parsed = parse_recipients(
        ["ops@example.com, data-team@example.com", "OPS@example.com", "dana@example.org,"]
    )
    assert parsed.addresses == ("ops@example.com", "data-team@example.com", "dana@example.org")
    assert parsed.invalid == ()


def test_display_names_are_accepted_and_dropped() -> None:
    parsed = parse_recipients(['"Doe, Jane" <jane@example.com>, Ops Team <ops@example.com>'])
    assert parsed.addresses == ("jane@example.com", "ops@example.com")


@pytest.mark.parametrize(
    "bad",
    [
        "ops@",
        "@example.com",
        "ops example.com",
        "ops@localhost",
        "ops@exa mple.com",
        "ops@example.com\r\nBcc: victim@example.com",
        "Ops <ops@example.com",
        "<>",
    ],
)
def test_invalid_addresses_are_2601_and_do_not_stop_the_others(bad: str) -> None:
    parsed = parse_recipients(["good@example.com", bad])
    assert parsed.addresses == ("good@example.com",)
    assert [e.code for e in parsed.invalid] == [2601]


def test_the_error_names_the_offending_piece_only() -> None:
    parsed = parse_recipients(["ok@example.com, broken@, fine@example.net"])
    assert parsed.addresses == ("ok@example.com", "fine@example.net")
    assert [str(e) for e in parsed.invalid] == [
        "2601 InvalidRecipient: 'broken@' is not an email address."
    ]


def test_commas_inside_quotes_or_angle_brackets_do_not_split() -> None:
    assert split_group('"a, b" <x@example.com>, y@example.com') == [
        '"a, b" <x@example.com>',
        "y@example.com",
    ]
