"""The addresses of ``spec.notifications.email.to``: entries that may each hold a group.

An entry is one address or several separated by commas (``"ops@example.com,
data-team@example.com"``), as the seed's notification form takes them; an address may
carry a display name (``Ops <ops@example.com>``), which is dropped: mail goes to the bare
addresses. Every address is checked (2601 InvalidRecipient names the bad one) and each
is mailed once, however often it is listed.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from syncline.errors import SynclineError

_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_ADDRESS = re.compile(rf"[A-Za-z0-9.!#$%&'*+/=?^_`{{|}}~-]{{1,64}}@{_LABEL}(?:\.{_LABEL})+")
"""A plain ``local@domain.tld``: no quoted local parts, no IP literals, no bare host."""
_NAMED = re.compile(r'\s*(?:"[^"]*"|[^"<>]*)\s*<([^<>]*)>\s*')
"""``Display Name <address>`` or ``"Name, Quoted" <address>``."""


@dataclass(frozen=True, slots=True)
class Recipients:
    """Valid addresses (each once, in the order given) and one error per invalid one."""

    addresses: tuple[str, ...]
    invalid: tuple[SynclineError, ...]


def parse_recipients(entries: Iterable[str]) -> Recipients:
    """Split every entry into addresses and check each; empty pieces are ignored."""
    addresses: list[str] = []
    seen: set[str] = set()
    invalid: list[SynclineError] = []
    for entry in entries:
        for piece in split_group(entry):
            address = plain_address(piece)
            if address is None:
                invalid.append(SynclineError("InvalidRecipient", recipient=piece))
            elif address.lower() not in seen:
                seen.add(address.lower())
                addresses.append(address)
    return Recipients(tuple(addresses), tuple(invalid))


def split_group(entry: str) -> list[str]:
    """The comma-separated pieces of one entry; commas inside quotes or <> do not split."""
    pieces: list[str] = []
    current: list[str] = []
    quoted = angle = False
    for char in entry:
        if char == '"' and not angle:
            quoted = not quoted
        elif char == "<" and not quoted:
            angle = True
        elif char == ">" and not quoted:
            angle = False
        if char == "," and not quoted and not angle:
            pieces.append("".join(current))
            current = []
        else:
            current.append(char)
    pieces.append("".join(current))
    return [p.strip() for p in pieces if p.strip()]


def plain_address(piece: str) -> str | None:
    """The bare address of ``addr`` or ``Name <addr>``; None when it is not one."""
    if any(c in piece for c in "\r\n\0"):
        return None
    named = _NAMED.fullmatch(piece)
    candidate = named.group(1).strip() if named else piece.strip()
    return candidate if _ADDRESS.fullmatch(candidate) else None
