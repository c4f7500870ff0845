"""Progress on stderr for the slow steps (hashing layers, pulls, pushes).

`auto` draws a single updating line on a TTY and stays silent otherwise, so logs and pipes stay
clean; `plain` writes one line when a step starts and one when it ends; `quiet` writes nothing.
Progress never touches stdout.
"""

from __future__ import annotations

import sys
import time
from typing import BinaryIO, Optional, TextIO

MODES = ("auto", "plain", "quiet")
_REDRAW_SECONDS = 0.2


def _mib(n: int) -> str:
    return f"{n / (1024 * 1024):.1f} MiB"


class Progress:
    def __init__(self, mode: str = "auto", stream: Optional[TextIO] = None) -> None:
        self._stream = stream if stream is not None else sys.stderr
        tty = bool(getattr(self._stream, "isatty", lambda: False)())
        self._mode = "tty" if mode == "auto" and tty else ("plain" if mode == "plain" else "quiet")
        self._name = ""
        self._total = 0
        self._done = 0
        self._started = 0.0
        self._drawn = 0.0

    @property
    def enabled(self) -> bool:
        return self._mode != "quiet"

    def start(self, name: str, total: int = 0) -> None:
        self._name, self._total, self._done = name, total, 0
        self._started = self._drawn = time.monotonic()
        if self._mode == "plain":
            size = f" ({_mib(total)})" if total else ""
            self._stream.write(f"#pun {name}{size}\n")
            self._stream.flush()
        elif self._mode == "tty":
            self._draw()

    def advance(self, n: int) -> None:
        self._done += n
        if self._mode == "tty" and time.monotonic() - self._drawn >= _REDRAW_SECONDS:
            self._draw()

    def finish(self) -> None:
        elapsed = time.monotonic() - self._started
        if self._mode == "plain":
            self._stream.write(f"#pun {self._name} done in {elapsed:.1f}s\n")
        elif self._mode == "tty":
            self._stream.write(f"\r\x1b[K{self._name} done in {elapsed:.1f}s\n")
        self._stream.flush()

    def note(self, text: str) -> None:
        if self._mode != "quiet":
            self._stream.write(("\r\x1b[K" if self._mode == "tty" else "#pun ") + text + "\n")
            self._stream.flush()

    def _draw(self) -> None:
        self._drawn = time.monotonic()
        amount = f"{_mib(self._done)} / {_mib(self._total)}" if self._total else _mib(self._done)
        self._stream.write(f"\r\x1b[K{self._name} {amount}")
        self._stream.flush()

    def wrap(self, handle: BinaryIO) -> "_Counting":
        return _Counting(handle, self)


class _Counting:
    """A reader that reports how much was read through it."""

    def __init__(self, handle: BinaryIO, progress: Progress) -> None:
        self._handle = handle
        self._progress = progress

    def read(self, n: int = -1) -> bytes:
        data = self._handle.read(n)
        self._progress.advance(len(data))
        return data
