"""Random ids in the format of BuildKit's identity.NewID (used for `local.unique`)."""

from __future__ import annotations

import os

_DIGITS = "0123456789abcdefghijklmnopqrstuvwxyz"
ID_LENGTH = 25


def new_id() -> str:
    """17 random bytes with the top bit set, in base 36, first digit dropped, 25 characters."""
    raw = bytearray(os.urandom(17))
    raw[0] |= 0x80
    number = int.from_bytes(bytes(raw), "big")
    digits = []
    while number:
        number, rest = divmod(number, 36)
        digits.append(_DIGITS[rest])
    return "".join(reversed(digits))[1 : 1 + ID_LENGTH]
