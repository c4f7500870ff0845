"""Capabilities the daemon announces in Ping, and the ones pun's frontend cares about."""

from __future__ import annotations

from dataclasses import dataclass
from typing import FrozenSet, Iterable

# Gateway (frontend API) capabilities, as BuildKit names them.
PROTO_REFARRAY = "proto.refarray"  # results carry Ref messages, not bare ids
RESOLVE_IMAGE = "resolveimage"
READ_FILE = "readfile"
READ_DIR = "readdir"
WARNINGS = "gateway.warnings"
# What an old daemon that lists nothing is assumed to have (as BuildKit's Go client does).
FALLBACK_FRONTEND_CAPS = frozenset({"solve.base", "solve.inlinereturn", RESOLVE_IMAGE, READ_FILE})


@dataclass(frozen=True)
class Capabilities:
    frontend: FrozenSet[str]
    llb: FrozenSet[str]

    def supports(self, cap: str) -> bool:
        return cap in self.frontend

    def missing_llb(self, wanted: Iterable[str]) -> FrozenSet[str]:
        # An empty list means an old daemon that does not report LLB caps: assume all.
        if not self.llb:
            return frozenset()
        return frozenset(wanted) - self.llb
