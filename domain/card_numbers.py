"""The one card-number (PAN) detector: what the API refuses in free text and what logs and Sentry
events redact (PCI DSS 3.3/3.4; docs/API.md, SECURITY.md "Card data").

A card number is 13-19 digits that pass the Luhn check, written with or without separators: any
run of characters that are neither letters nor digits counts as a separator (spaces of every
kind, tabs, dashes and en-dashes, dots, slashes, underscores), and the number may sit anywhere
inside a longer text (`"v1.4111 1111 1111 1111"`, `"card 4111-1111-1111-1111 declined"`).

The digits around separators form groups (`4111`, `1111`, …). A candidate is any sequence of
consecutive groups holding 13-19 digits, and any 13-19 digit window inside one long group; a
candidate that passes Luhn is a card number. Requiring group boundaries keeps free text such as
`12/03 14:00 - 3.50` from being refused by chance (one in ten digit strings passes Luhn).

Dates and times are not card numbers: an ISO date (`2026-12-03`) and a time of day with its
fraction and offset (`10:15:00.007+00:00`) are set aside before the search — a sale's
`client_created_at` with microseconds would otherwise pass Luhn one time in five.

`contains_digit_run` is the older, stricter rule kept for payment bodies and redaction: any run
of 13-19 digits grouped by single spaces or dashes, Luhn or not (a false positive there costs a
little debugging; a false negative costs PCI scope).
"""

from __future__ import annotations

import re
from collections.abc import Iterator

# A run of digit groups separated by anything that is neither a letter nor a digit (`[\W_]`:
# not a word character, or an underscore). The separator class excludes digits, so the pattern
# matches in linear time.
_GROUPED_DIGITS = re.compile(r"\d+(?:[\W_]+\d+)*")
_GROUP = re.compile(r"\d+")
# 13-19 digits, optionally grouped by single spaces or dashes; not inside a longer digit run,
# nor the digits of a decimal fraction (`0.0012967620000381`, a task's runtime).
DIGIT_RUN = re.compile(r"(?<!\d)(?<!\d\.)(?:\d[ -]?){12,18}\d(?!\d)")

# An ISO date, or a time of day (seconds, fraction and UTC offset optional): never a card number.
_DATE_OR_TIME = re.compile(
    r"(?<!\d)(?:\d{4}-\d{2}-\d{2}(?!\d)"
    r"|\d{1,2}:\d{2}(?::\d{2}(?:[.,]\d+)?)?(?:Z|[+-]\d{2}(?::?\d{2})?)?(?!\d))"
)

MIN_DIGITS = 13
MAX_DIGITS = 19


def luhn_valid(digits: str) -> bool:
    total = 0
    for index, char in enumerate(reversed(digits)):
        value = int(char)
        if index % 2:
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return total % 10 == 0


def _card_spans(text: str) -> Iterator[tuple[int, int]]:
    """(start, end) of every card number in `text`, by character offsets."""
    # Dates and times become letters of the same length (offsets stay), which break a run.
    text = _DATE_OR_TIME.sub(lambda m: "t" * len(m.group()), text)
    for run in _GROUPED_DIGITS.finditer(text):
        groups = [(m.start(), m.end(), m.group()) for m in _GROUP.finditer(text, *run.span())]
        if sum(len(g) for _, _, g in groups) < MIN_DIGITS:
            continue
        # Consecutive groups whose digits add up to 13-19.
        for first in range(len(groups)):
            digits = ""
            for last in range(first, len(groups)):
                digits += groups[last][2]
                if len(digits) > MAX_DIGITS:
                    break
                if len(digits) >= MIN_DIGITS and luhn_valid(digits):
                    yield groups[first][0], groups[last][1]
        # Windows inside one long group (`14111111111111111`: a `1` run into a card number).
        for start, _, group in groups:
            if len(group) <= MIN_DIGITS:
                continue
            for size in range(MIN_DIGITS, min(len(group), MAX_DIGITS) + 1):
                for offset in range(len(group) - size + 1):
                    if luhn_valid(group[offset : offset + size]):
                        yield start + offset, start + offset + size


def contains_card_number(text: str) -> bool:
    """True when `text` holds a Luhn-valid 13-19 digit number, with any separators."""
    if len(text) < MIN_DIGITS:  # the fast exit: most values are short
        return False
    return next(_card_spans(text), None) is not None


def contains_digit_run(text: str) -> bool:
    """The stricter rule for payment bodies: a card number, or any 13-19 digit run grouped by
    single spaces or dashes (Luhn or not)."""
    if len(text) < MIN_DIGITS:
        return False
    return DIGIT_RUN.search(text) is not None or contains_card_number(text)


def redact_card_numbers(text: str, replacement: str = "[REDACTED-PAN]") -> str:
    """Mask every card number (any separators, Luhn) and every 13-19 digit run."""
    if len(text) < MIN_DIGITS:
        return text
    text = DIGIT_RUN.sub(replacement, text)
    spans = sorted(set(_card_spans(text)))
    if not spans:
        return text
    parts: list[str] = []
    position = 0
    for start, end in spans:
        if start < position:  # overlaps the number just masked: widen that mask
            position = max(position, end)
            continue
        parts.append(text[position:start])
        parts.append(replacement)
        position = end
    parts.append(text[position:])
    return "".join(parts)
