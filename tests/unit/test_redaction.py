"""The one scrubber: secret values out of every text that leaves, row values out of status."""

from __future__ import annotations

import json
from urllib.parse import quote, quote_plus

import pytest

from syncline.errors import SynclineError
from syncline.redaction import ELIDED, MASK, Redactor, redact, without_values

# -- secret values ----------------------------------------------------------------------


def test_every_value_is_scrubbed_whatever_its_length() -> None:
    text = 'FATAL: password authentication failed for "app" using s3cr3t-canary'
    assert redact(text, ["s3cr3t-canary", "app"]) == (
        'FATAL: password authentication failed for "***" using ***'
    )
    assert redact("token abcdef in url", ["abcdef"]) == "token *** in url"
    assert redact("user x on host y", ["x"]) == "user *** on host y"


def test_very_short_values_are_scrubbed_too_even_inside_words() -> None:
    # One character is a poor password, but it is the user's: it must not leak.
    assert redact("pa-b", ["b"]) == "pa-***"
    assert "q" not in redact("quick quiet queue", ["q"]).lower()


def test_an_empty_set_or_empty_values_change_nothing() -> None:
    text = "2000 ConnectionUnreachable: Cannot reach db:5432: refused"
    assert redact(text, []) == text
    assert redact(text, [""]) == text
    assert not Redactor()
    assert not Redactor([""])
    assert Redactor(["x"])


def test_values_inside_urls_and_dsns_are_scrubbed_in_every_printed_form() -> None:
    secret = "p@ss w/rd:1"
    dsn = f"postgresql://app:{quote(secret, safe='')}@db:5432/crm"
    assert secret not in redact(dsn, [secret])
    assert redact(dsn, [secret]) == "postgresql://app:***@db:5432/crm"
    assert redact(f"?password={quote_plus(secret)}&x=1", [secret]) == "?password=***&x=1"
    conninfo = "host=db password='it\\'s' user=app"  # libpq quoting
    assert redact(conninfo, ["it's"]) == "host=db password='***' user=app"


def test_repr_and_json_quoted_values_are_scrubbed() -> None:
    secret = 'a"b\\c\td\u00e9'
    assert secret not in redact(repr({"password": secret}), [secret])
    assert repr(secret)[1:-1] not in redact(repr({"password": secret}), [secret])
    encoded = json.dumps({"password": secret})
    assert json.dumps(secret)[1:-1] not in redact(encoded, [secret])
    assert redact(encoded, [secret]) == '{"password": "***"}'


def test_case_folded_echoes_are_scrubbed() -> None:
    # psycopg's messages were lower-cased on their way into a detail once.
    assert redact('database "canaryxyz" does not exist', ["CanaryXYZ"]) == (
        'database "***" does not exist'
    )


def test_overlapping_values_leave_no_fragment() -> None:
    assert redact("xxabcdyy", ["abc", "bcd"]) == "xx***yy"
    assert redact("abcabc", ["abca", "cabc"]) == "***"
    assert redact("a*b", ["*"]) == "a***b"  # the mask itself is no secret


def test_a_catalog_prefix_survives_a_secret_hidden_in_it() -> None:
    text = "2000 ConnectionUnreachable: Cannot reach db: role a does not exist"
    scrubbed = redact(text, ["a"])
    assert scrubbed.startswith("2000 ConnectionUnreachable: ")
    assert "a" not in scrubbed.removeprefix("2000 ConnectionUnreachable: ").replace(MASK, "")


def test_an_error_keeps_its_code_and_template_and_loses_the_value() -> None:
    err = SynclineError(
        "ConnectionUnreachable", endpoint="db:5432/crm", detail='role "ab" does not exist'
    )
    clean = Redactor(["ab"]).error(err)
    assert (clean.code, clean.name) == (2000, "ConnectionUnreachable")
    assert (
        str(clean)
        == '2000 ConnectionUnreachable: Cannot reach db:5432/crm: role "***" does not exist'
    )
    assert Redactor(["zz"]).error(err) is err


def test_the_redactor_never_shows_its_values() -> None:
    assert "hunter2" not in repr(Redactor(["hunter2"]))
    assert "hunter2" not in str(Redactor(["hunter2"]))


# -- row values -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            'invalid input syntax for type bigint: "CanaryValue7"',
            f'invalid input syntax for type bigint: "{ELIDED}"',
        ),
        (
            "Incorrect integer value: 'CanaryValue7' for column `db_1`.`stage`.`amount` at row 1",
            f"Incorrect integer value: '{ELIDED}' for column `{ELIDED}`.`{ELIDED}`.`amount` "
            "at row 1",
        ),
        (  # MySQL truncates long values: the quoted prefix must go as well
            "Duplicate entry 'CanaryVal' for key 'email'",
            f"Duplicate entry '{ELIDED}' for key 'email'",
        ),
        (  # unquoted, standing alone
            "Integer value CanaryValue7 not in range",
            f"Integer value {ELIDED} not in range",
        ),
        ("value too long for type character varying(5)", None),
        (
            'null value in column "name" of relation "dst" violates not-null constraint',
            None,
        ),
        ("can't convert: it's broken", None),  # apostrophes in prose are no quotes
        ('unterminated "CanaryValue7 and the rest', f'unterminated "{ELIDED}'),
    ],
)
def test_row_values_leave_a_driver_message(text: str, expected: str | None) -> None:
    values = ["CanaryValue7", 42, None, "   "]
    identifiers = {"id", "name", "amount", "email", "dst"}
    assert without_values(text, values, identifiers=identifiers) == (expected or text)


def test_short_row_values_are_only_removed_where_they_stand_alone() -> None:
    text = "value too long for type character varying(5) at row 5"
    assert without_values(text, ["a", 5]) == (
        f"value too long for type character varying({ELIDED}) at row {ELIDED}"
    )


def test_a_row_value_equal_to_a_field_name_is_no_secret() -> None:
    text = 'null value in column "name" violates not-null constraint'
    assert without_values(text, ["name"], identifiers={"name"}) == text
