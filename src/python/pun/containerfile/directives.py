"""Parser directives (`# escape=`, `# syntax=`) at the top of a Containerfile, as the plan
keeps them. They are read where BuildKit reads them, while splitting lines (splitter.py)."""

from __future__ import annotations

from pun.records import Record

TYPE_CHECKING = False  # typing is imported for mypy only: see pun.records
if TYPE_CHECKING:
    from typing import Optional


class Directives(Record):
    escape: str = "\\"
    syntax: Optional[str] = None
