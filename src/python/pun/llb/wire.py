"""A small protobuf wire-format writer.

The Definition must come out byte-identical to Go's marshallers: gogo's (BuildKit v0.16: fields
in field-number order, oneofs at their own number) or Go protobuf's (v0.32: an Op's oneof last,
pun.llb.marshal orders that), map entries sorted bytewise with both key and
value written. Writing the bytes ourselves makes that independent of which protobuf runtime
(upb or pure Python) is installed, and keeps `import google.protobuf` off the CLI's hot path.
The field numbers used by callers are BuildKit's (`src/protos/pun/llb/pb/ops.proto`).
"""

from __future__ import annotations

TYPE_CHECKING = False  # typing is imported for mypy only: see pun.records
if TYPE_CHECKING:
    from typing import Iterable, List, Optional, Tuple

_VARINT, _LEN = 0, 2


_SMALL = [bytes((n,)) for n in range(0x80)]


def varint(value: int) -> bytes:
    if 0 <= value < 0x80:
        return _SMALL[value]
    if value < 0:
        value += 1 << 64  # negative int32/int64 are ten-byte two's-complement varints
    out = bytearray()
    while True:
        low = value & 0x7F
        value >>= 7
        if value:
            out.append(low | 0x80)
        else:
            out.append(low)
            return bytes(out)


class Message:
    """Accumulates one message's fields, in the order callers add them (the wire order)."""

    __slots__ = ("_parts",)

    def __init__(self) -> None:
        self._parts: List[bytes] = []

    def int64(self, number: int, value: int) -> "Message":
        if value:
            self._parts.append(varint(number << 3 | _VARINT) + varint(value))
        return self

    def int_always(self, number: int, value: int) -> "Message":
        """A scalar inside a oneof: present even when zero."""
        self._parts.append(varint(number << 3 | _VARINT) + varint(value))
        return self

    def flag(self, number: int, value: bool) -> "Message":
        return self.int64(number, 1 if value else 0)

    def raw(self, number: int, value: bytes, *, keep_empty: bool = False) -> "Message":
        if value or keep_empty:
            self._parts.append(varint(number << 3 | _LEN) + varint(len(value)) + value)
        return self

    def string(self, number: int, value: str) -> "Message":
        return self.raw(number, value.encode("utf-8"))

    def message(self, number: int, value: "Message") -> "Message":
        """A present sub-message: written even when empty (tag + zero length)."""
        return self.raw(number, value.encode(), keep_empty=True)

    def message_if(self, number: int, value: "Optional[Message]") -> "Message":
        return self if value is None else self.message(number, value)

    def string_map(self, number: int, entries: Iterable[Tuple[str, str]]) -> "Message":
        for key, value in sorted(entries, key=lambda kv: kv[0].encode("utf-8")):
            entry = Message()
            entry.raw(1, key.encode("utf-8"), keep_empty=True)
            entry.raw(2, value.encode("utf-8"), keep_empty=True)
            self.message(number, entry)
        return self

    def bool_map(self, number: int, entries: Iterable[Tuple[str, bool]]) -> "Message":
        for key, value in sorted(entries, key=lambda kv: kv[0].encode("utf-8")):
            entry = Message()
            entry.raw(1, key.encode("utf-8"), keep_empty=True)
            entry._parts.append(varint(2 << 3 | _VARINT) + varint(1 if value else 0))
            self.message(number, entry)
        return self

    def message_map(self, number: int, entries: Iterable[Tuple[str, "Message"]]) -> "Message":
        for key, value in sorted(entries, key=lambda kv: kv[0].encode("utf-8")):
            entry = Message()
            entry.raw(1, key.encode("utf-8"), keep_empty=True)
            entry.message(2, value)
            self.message(number, entry)
        return self

    def encode(self) -> bytes:
        return b"".join(self._parts)
