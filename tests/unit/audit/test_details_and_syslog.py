"""What leaves Syncline in a record: no secret values; RFC 5424 framing."""

from __future__ import annotations

import json

import pytest

from syncline.audit.chain import build_record
from syncline.audit.config import parse_config
from syncline.audit.redact import scrub_details
from syncline.audit.syslog import format_message, frame
from syncline.errors import SynclineError

CANARY = "canary-Zq8v3KpL-secret"


def test_credential_keys_and_known_secret_values_are_masked() -> None:
    details = {
        "password": CANARY,
        "credentials": {"username": "admin", "passwordSecretRef": {"name": "pg", "key": "pw"}},
        "spec": {"credentials": {"secretRef": {"name": "db"}}, "note": f"dsn=pg://u:{CANARY}@h"},
        "headers": [{"Authorization": "Bearer abc"}],
        "count": 3,
    }
    clean = scrub_details(details, secrets=[CANARY])
    text = json.dumps(clean)
    assert CANARY not in text
    assert "Bearer abc" not in text
    assert clean["spec"]["credentials"] == {"secretRef": {"name": "db"}}
    assert clean["credentials"] == {
        "username": "***",
        "passwordSecretRef": {"name": "pg", "key": "pw"},
    }
    assert clean["password"] == "***"
    assert clean["count"] == 3
    assert scrub_details({"secretRef": {"name": "db"}}) == {"secretRef": {"name": "db"}}


def test_a_message_is_rfc5424_with_octet_counting() -> None:
    record = build_record(
        seq=7,
        prev_hash="0" * 64,
        time="2026-11-22T06:00:00.000000Z",
        actor="system:serviceaccount:x:y",
        action="schedule.set",
        target='builtin/"a"]',
        result="Success",
        details={"text": "two\nlines"},
    )
    message = format_message(record, "host")
    assert message.startswith(b"<109>1 2026-11-22T06:00:00.000000Z host syncline - schedule.set [")
    assert b'seq="7"' in message
    assert b'target="builtin/\\"a\\"\\]"' in message
    framed = frame(message)
    length, _, rest = framed.partition(b" ")
    assert int(length) == len(rest) == len(message)
    body = message[message.index(b"] ") + 2 :]
    assert json.loads(body)["hash"] == record.hash


def test_config_is_validated() -> None:
    with pytest.raises(SynclineError) as err:
        parse_config({"retentionDays": 0})
    assert err.value.code == 2703
    with pytest.raises(SynclineError) as err:
        parse_config({"syslog": {"address": "h:6514", "caPem": "not a pem"}})
    assert err.value.code == 2708
    with pytest.raises(SynclineError) as err:
        parse_config({"syslog": {"address": "no-port", "caPem": "x"}})
    assert err.value.code == 2703
