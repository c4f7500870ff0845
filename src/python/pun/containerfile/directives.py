"""Parser directives (`# escape=`, `# syntax=`) at the top of a Containerfile."""

from __future__ import annotations

import re
from pun.records import Record

TYPE_CHECKING = False  # typing is imported for mypy only: see pun.records
if TYPE_CHECKING:
    from typing import Dict, Optional

_DIRECTIVE = re.compile(r"^#\s*([a-zA-Z][a-zA-Z0-9]*)\s*=\s*(.+?)\s*$")
_KNOWN = ("escape", "syntax", "check")


class Directives(Record):
    escape: str = "\\"
    syntax: Optional[str] = None


class DirectiveError(ValueError):
    def __init__(self, message: str, line: int) -> None:
        super().__init__(message)
        self.line = line


def read_directives(text: str) -> Directives:
    """BuildKit reads directives only from the leading comment lines, up to the first line that
    is not one (a blank line, another comment or an instruction ends them)."""
    found: Dict[str, str] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        match = _DIRECTIVE.match(line)
        if not match:
            break
        key = match.group(1).lower()
        if key not in _KNOWN:
            break
        if key in found:
            raise DirectiveError(f"only one {key} parser directive can be used", number)
        found[key] = match.group(2)
        if key == "escape" and found[key] not in ("\\", "`"):
            raise DirectiveError(
                f"invalid escape token {found[key]!r} does not match [\\`]", number
            )
    return Directives(escape=found.get("escape", "\\"), syntax=found.get("syntax"))
