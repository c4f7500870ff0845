"""Parser directives (`# escape=`, `# syntax=`) at the top of a Containerfile, as the plan
keeps them. BuildKit reads them while splitting lines, and so does pun (splitter.py);
`read_directives` is that reading alone, for text that is not split (a bunnyfile)."""

from __future__ import annotations

from pun.records import Record

TYPE_CHECKING = False  # typing is imported for mypy only: see pun.records
if TYPE_CHECKING:
    from typing import Optional


class Directives(Record):
    escape: str = "\\"
    syntax: Optional[str] = None


class DirectiveError(ValueError):
    def __init__(self, message: str, line: int) -> None:
        super().__init__(message)
        self.line = line


def read_directives(text: str) -> Directives:
    from pun.containerfile.splitter import SplitError, leading_directives

    try:
        escape, found = leading_directives(text)
    except SplitError as exc:
        raise DirectiveError(str(exc), exc.line) from None
    return Directives(escape=escape, syntax=dict(found).get("syntax"))
