"""The one scrubber for text that leaves Syncline: no secret values, no row values.

Two kinds of content must never reach a run's status, an Event, the JSON-lines run log
or the CLI's output, whatever a driver puts in its exception text:

**Secret values.** Every credential value of the connections in play (the operator: the
Connection's Secret; the engine: every credential of the run's ConnectionSet, i.e. the
``SYNCLINE_CRED_*`` environment of a run pod). :class:`Redactor` replaces each one with
``***`` whatever its length: a one-character password is a poor password but still the
user's. It also catches the forms drivers and libraries print values in: URL-encoded (DSNs,
query strings), ``repr``/JSON escaped, libpq conninfo quoting, and any letter case (some
messages are case-folded on their way). Overlapping values leave no fragment: every span
any value covers is masked as one. A leading catalog prefix (``"2000 ConnectionUnreachable:
"``) is public text and is kept, so the code survives even a secret like ``"a"``; for a
:class:`~syncline.errors.SynclineError`, :meth:`Redactor.error` scrubs the parameters
only, so the template's own words are never mangled.

**Row values.** A driver complaining about one row often quotes its values (``invalid
input syntax for type bigint: "4242 4242"``). Status, Events and the log name the row by
its integration key and the field only; the values go to the rejects store
(``_syncline_rejects`` or ``<entity>.rejects.jsonl``), which only someone with access to
the destination reads. :func:`without_values` makes the public form of such a message.

This module is pure: it imports nothing from Syncline but the error catalog.
"""

from __future__ import annotations

import json
import re
from collections.abc import Collection, Iterable
from datetime import date, datetime
from urllib.parse import quote, quote_plus

from syncline.errors import BY_NAME, SynclineError

MASK = "***"
"""What a secret value becomes."""
ELIDED = "…"
"""What a row value (or a quoted literal that may be one) becomes in public text."""

_CATALOG_PREFIX = re.compile(r"(\d{4}) ([A-Z][A-Za-z0-9]*): ")


class Redactor:
    """Replaces every secret value (and its printed forms) in a text with ``***``.

    Build one per run (or per Connection check) from the credential values in play; an
    empty one changes nothing. It never shows its values, not even in ``repr``.
    """

    __slots__ = ("_count", "_pattern")

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        values = {s for s in secrets if s}
        forms = {form for value in values for form in printed_forms(value)}
        self._count = len(values)
        self._pattern: re.Pattern[str] | None = None
        if forms:
            alternatives = "|".join(re.escape(f) for f in sorted(forms, key=len, reverse=True))
            # A lookahead finds every start position, overlapping matches included.
            self._pattern = re.compile(f"(?=({alternatives}))", re.IGNORECASE | re.DOTALL)

    def __bool__(self) -> bool:
        return self._pattern is not None

    def __repr__(self) -> str:
        return f"Redactor({self._count} values)"

    def __call__(self, text: str) -> str:
        """``text`` without any secret value; a leading catalog prefix is kept."""
        if self._pattern is None or not text:
            return text
        prefix = _CATALOG_PREFIX.match(text)
        if prefix and prefix.group(2) in BY_NAME:
            return prefix.group(0) + self._scrub(text[prefix.end() :])
        return self._scrub(text)

    def error(self, err: SynclineError) -> SynclineError:
        """The same catalog error (code, name, template) with its parameters scrubbed;
        ``err`` itself when no parameter holds a secret."""
        if self._pattern is None:
            return err
        clean: dict[str, object] = {}
        for name, value in err.params.items():
            text = str(value)
            scrubbed = self._scrub(text)
            clean[name] = value if scrubbed == text else scrubbed
        if all(clean[k] is v for k, v in err.params.items()):
            return err
        return SynclineError(err.name, **clean)

    def _scrub(self, text: str) -> str:
        assert self._pattern is not None
        spans: list[list[int]] = []
        for match in self._pattern.finditer(text):
            start, end = match.start(), match.start() + len(match.group(1))
            if spans and start <= spans[-1][1]:
                spans[-1][1] = max(spans[-1][1], end)
            else:
                spans.append([start, end])
        if not spans:
            return text
        out, cursor = [], 0
        for start, end in spans:
            out += [text[cursor:start], MASK]
            cursor = end
        out.append(text[cursor:])
        return "".join(out)


NO_SECRETS = Redactor()
"""A redactor that knows no secret (changes nothing)."""


def redact(text: str, secrets: Iterable[str]) -> str:
    """``text`` with every value of ``secrets`` replaced by ``***`` (see :class:`Redactor`)."""
    return Redactor(secrets)(text)


def printed_forms(value: str) -> set[str]:
    """``value`` as drivers and libraries may print it: as is, URL-encoded, escaped."""
    forms = {
        value,
        quote(value, safe=""),
        quote(value),
        quote_plus(value),
        repr(value)[1:-1],
        json.dumps(value)[1:-1],
        json.dumps(value, ensure_ascii=False)[1:-1],
        value.replace("\\", "\\\\").replace("'", "\\'"),  # libpq conninfo quoting
    }
    return {f for f in forms if f}


# -- row values ------------------------------------------------------------------------

_QUOTED = re.compile(r"""(?<!\w)(['"`])(.*?)(?:(\1)(?!\w)|$)""")
"""A quoted literal: an opening quote not glued to a word (so prose apostrophes are no
quotes), up to the same quote not followed by a word character, or to the end of the
text (a driver that truncated the message mid-literal)."""


def without_values(
    text: str, values: Iterable[object], *, identifiers: Collection[str] = ()
) -> str:
    """A driver's message about one row, fit for status, Events and the log.

    1. Every row value (its text forms, longest first) that stands alone, not inside a
       longer word, becomes ``…``: ``"4242 4242"``, ``at row 5``.
    2. Every quoted literal left (``'…'``, ``"…"``, ```…```) becomes ``…`` too, unless
       it is one of ``identifiers`` (the row's field names, the entity): drivers also
       quote values truncated (MySQL: 64/128/192 characters) or escaped, which step 1
       cannot recognise. Constraint expressions and names are lost with them; the full
       message is in the rejects store.

    Deliberately lossy: a value equal to a field name is kept (it says nothing the
    schema does not), and whitespace-only values are not searched for.
    """
    known = set(identifiers)
    forms = {f for v in values for f in _value_forms(v) if f.strip() and f not in known}
    for form in sorted(forms, key=len, reverse=True):
        text = re.sub(rf"(?<!\w){re.escape(form)}(?!\w)", ELIDED, text)

    def literal(match: re.Match[str]) -> str:
        quote_char, content, closing = match.group(1), match.group(2), match.group(3) or ""
        if content in known or content == ELIDED:
            return match.group(0)
        return f"{quote_char}{ELIDED}{closing}"

    return _QUOTED.sub(literal, text)


def _value_forms(value: object) -> set[str]:
    if value is None or isinstance(value, bytes | bytearray):
        return set()
    if isinstance(value, datetime | date):
        return {str(value), value.isoformat()}
    text = str(value)
    return {text, text.strip()}
