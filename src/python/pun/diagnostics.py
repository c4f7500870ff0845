"""Diagnostics that name a file and line and say what to do."""

from __future__ import annotations

from pun.records import Record

TYPE_CHECKING = False  # typing is imported for mypy only: see pun.records
if TYPE_CHECKING:
    from typing import Any, ClassVar, Iterable, Optional, Tuple


class Severity:
    """WARNING or ERROR: an enum in all but name (`.name`, `.value`); importing `enum` would
    cost `pun --LLB` ~0.5 ms."""

    __slots__ = ("name", "value")
    WARNING: ClassVar[Severity]
    ERROR: ClassVar[Severity]

    def __init__(self, name: str, value: str) -> None:
        self.name = name
        self.value = value

    def __repr__(self) -> str:
        return f"<Severity.{self.name}: {self.value!r}>"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Severity) and other.value == self.value

    def __hash__(self) -> int:
        return hash(self.value)

    def __reduce__(self) -> "Tuple[Any, Tuple[Any, str]]":
        return getattr, (Severity, self.name)


Severity.WARNING = Severity("WARNING", "warning")
Severity.ERROR = Severity("ERROR", "error")


class Diagnostic(Record):
    severity: Severity
    message: str
    path: str = ""
    line: Optional[int] = None
    hint: str = ""

    def render(self) -> str:
        # Where: `file:line`, or nothing for a problem with a flag or the environment (its
        # message names the flag, e.g. `--output`).
        where = self.path
        if self.line is not None:
            where = f"{where}:{self.line}" if where else f"line {self.line}"
        text = f"{where + ': ' if where else ''}{self.severity.value}: {self.message}"
        if self.hint:
            text += f"\n  hint: {self.hint}"
        return text


class PunError(Exception):
    """A user-facing failure: one or more error diagnostics, already worded for the user."""

    def __init__(self, diagnostics: Iterable[Diagnostic]) -> None:
        self.diagnostics: Tuple[Diagnostic, ...] = tuple(diagnostics)
        super().__init__("\n".join(d.render() for d in self.diagnostics))


def error(message: str, path: str = "", line: Optional[int] = None, hint: str = "") -> PunError:
    return PunError([Diagnostic(Severity.ERROR, message, path, line, hint)])


def warning(message: str, path: str = "", line: Optional[int] = None, hint: str = "") -> Diagnostic:
    return Diagnostic(Severity.WARNING, message, path, line, hint)


def write_diagnostics(diagnostics: Iterable[Diagnostic]) -> None:
    """Every diagnostic to stderr, one rendering each: stdout is for data only."""
    import sys

    sys.stderr.write("".join(d.render() + "\n" for d in diagnostics))
