"""One large JSON document read member by member, so memory follows the largest element
rather than the file: an OCEL JSON log is one object whose `events` and `objects` hold millions
of entries.

`members(path, streamed)` yields the top-level object's members in file order: a member named
in `streamed` whose value is an array or object comes as an iterator over its elements (an
object's as `(key, value)` pairs), every other member as its decoded value. Each element is
decoded by the standard library's C decoder from a sliding buffer.
"""

from __future__ import annotations

import json
import re
from typing import Iterator

CHUNK = 1 << 20
LARGEST_ELEMENT = 256 << 20   # beyond this without a complete element, the file is not well formed
_SPACE = re.compile(r"[ \t\n\r]*")
_DECODER = json.JSONDecoder()


class JSONStreamError(ValueError):
    """Not the JSON expected; the message gives the character offset."""


class _Text:
    def __init__(self, f):
        self._f = f
        self.buf, self.pos, self.offset, self.eof = "", 0, 0, False   # offset: chars before buf

    def _fill(self) -> None:
        chunk = self._f.read(CHUNK)
        self.eof = not chunk
        self.offset += self.pos
        self.buf, self.pos = self.buf[self.pos:] + chunk, 0

    def peek(self) -> str:
        """The next character that is not white space ("" at the end)."""
        while True:
            self.pos = _SPACE.match(self.buf, self.pos).end()
            if self.pos < len(self.buf) or self.eof:
                return self.buf[self.pos:self.pos + 1]
            self._fill()

    def take(self, expected: str) -> None:
        found = self.peek()
        if found != expected:
            raise JSONStreamError(f"expected {expected!r} at character {self.offset + self.pos}, "
                                  f"found {found or 'the end of the file'!r}")
        self.pos += 1

    def value(self):
        """The next complete JSON value."""
        self.peek()
        while True:
            try:
                value, end = _DECODER.raw_decode(self.buf, self.pos)
            except json.JSONDecodeError as exc:
                if self.eof or len(self.buf) - self.pos > LARGEST_ELEMENT:
                    raise JSONStreamError(f"{exc.msg} at character {self.offset + exc.pos}") from None
                self._fill()
                continue
            if end == len(self.buf) and not self.eof:   # a number may go on in the next chunk
                self._fill()
                continue
            self.pos = end
            return value


def members(path, streamed: set[str]) -> Iterator[tuple[str, object]]:
    with open(path, encoding="utf-8-sig") as f:
        text = _Text(f)
        text.take("{")
        if text.peek() == "}":
            return
        while True:
            key = text.value()
            if not isinstance(key, str):
                raise JSONStreamError(f"expected a member name at character {text.offset + text.pos}")
            text.take(":")
            opening = text.peek()
            if key in streamed and opening in ("[", "{"):
                elements = _elements(text, opening)
                yield key, elements
                for _ in elements:   # what the reader left unread
                    pass
            else:
                yield key, text.value()
            if text.peek() == "}":
                return
            text.take(",")


def _elements(text: _Text, opening: str) -> Iterator:
    closing = "]" if opening == "[" else "}"
    text.take(opening)
    if text.peek() == closing:
        text.take(closing)
        return
    while True:
        if opening == "[":
            yield text.value()
        else:
            key = text.value()
            text.take(":")
            yield key, text.value()
        if text.peek() == closing:
            text.take(closing)
            return
        text.take(",")
