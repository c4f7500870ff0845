"""One gzip member (RFC 1952) for a layer blob: ISA-L's deflate when `isal` is importable, zlib
otherwise.

ISA-L (python-isal's `isal_zlib`) deflates 10-20x faster than zlib at similar ratios, but has
only levels 0-3, so the zlib levels a user gives (`compression-level`, 0-9) map onto them:

    zlib level  0       1   2-3   4-6   7-9
    ISA-L level stored  0   1     2     3

Level 0 stays "no compression" (stored blocks, written by zlib: ISA-L has no stored level).
The deflate bytes depend on the library and its version (pun's lockfiles pin both); a given
library gives the same bytes for the same input, split into the same writes.

The header is the one Python's `gzip.GzipFile(filename="", mtime=0)` writes (no name, mtime
0, XFL by level, OS 255 "unknown"), so the zlib path gives the bytes pun wrote before ISA-L.
"""

from __future__ import annotations

import struct
import zlib
from types import ModuleType
from typing import Optional, Protocol

_isal: Optional[ModuleType]
try:
    from isal import isal_zlib as _isal
except ImportError:  # pragma: no cover - the lockfiles install isal; see the module docstring
    _isal = None

# Index: the zlib level asked for; value: the ISA-L level used (None: stored, through zlib).
ISAL_LEVELS = (None, 0, 1, 1, 2, 2, 2, 3, 3, 3)


class _Compressor(Protocol):
    def compress(self, data: bytes) -> bytes:
        ...

    def flush(self) -> bytes:
        ...


def engine(level: int) -> str:
    """Which library deflates at this zlib level, with the level it uses (for the README and
    diagnostics): `isal 2`, `zlib 0`."""
    isal_level = ISAL_LEVELS[level]
    if _isal is not None and isal_level is not None:
        return f"isal {isal_level}"
    return f"zlib {level}"


class GzipMember:
    """Feed bytes with `compress`; `header()` first, `finish()` last; concatenated, the three
    make the member."""

    def __init__(self, level: int) -> None:
        if not 0 <= level <= 9:
            raise ValueError(f"compression level {level} is not in 0-9")
        self._level = level
        isal_level = ISAL_LEVELS[level]
        self._compressor: _Compressor
        if _isal is not None and isal_level is not None:
            self._compressor = _isal.compressobj(isal_level, _isal.DEFLATED, -15)
            self._crc32 = _isal.crc32
        else:
            self._compressor = zlib.compressobj(level, zlib.DEFLATED, -zlib.MAX_WBITS)
            self._crc32 = zlib.crc32
        self._crc = 0
        self._size = 0

    def header(self) -> bytes:
        xfl = 2 if self._level == 9 else 4 if self._level == 1 else 0
        return b"\x1f\x8b\x08\x00" + struct.pack("<I", 0) + bytes((xfl, 255))

    def compress(self, data: bytes) -> bytes:
        self._crc = self._crc32(data, self._crc)
        self._size += len(data)
        return self._compressor.compress(data)

    def finish(self) -> bytes:
        trailer = struct.pack("<II", self._crc & 0xFFFFFFFF, self._size & 0xFFFFFFFF)
        return self._compressor.flush() + trailer


def isal_version() -> Optional[str]:
    if _isal is None:
        return None
    import isal

    return str(isal.__version__)
