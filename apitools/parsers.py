"""The API's one body parser: DRF's JSON parser, hardened.

Python's JSON decoder recurses once per nesting level; a body of a few kilobytes of `[[[[…` hits
the interpreter's recursion limit and raises `RecursionError`, which DRF does not treat as a parse
error — it became a `500`. Such a body is malformed input: `400 validation_error`.
"""

from __future__ import annotations

from typing import Any

from rest_framework import parsers
from rest_framework.exceptions import ParseError


class JSONParser(parsers.JSONParser):
    def parse(self, stream: Any, media_type: str | None = None, parser_context: Any = None) -> Any:
        try:
            return super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise ParseError("JSON parse error - nested too deeply.") from None
