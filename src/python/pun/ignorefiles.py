"""Which ignore file a build uses: the one rule for `pun build`, `pun --LLB`, the frontend and
the Pants context. Kept free of imports so `pun --LLB` can look for one cheaply and load the
pattern matcher (`pun.dockerignore`) only when a file exists.

Order, first match wins: `<Containerfile>.dockerignore`, `<Containerfile>.containerignore`
beside the Containerfile, then the context's `.dockerignore`, `.containerignore`
(BuildKit `frontend/dockerui/config.go`; podman/buildah `pkg/parse/parse.go`).
"""

from __future__ import annotations

import os

DOCKERIGNORE = ".dockerignore"
CONTAINERIGNORE = ".containerignore"

TYPE_CHECKING = False  # typing is imported for mypy only: see pun.records
if TYPE_CHECKING:
    from typing import List, Optional


def ignore_file_candidates(context_dir: str, containerfile: "Optional[str]") -> "List[str]":
    """Paths to try, first match wins: beside the Containerfile, then the context root."""
    candidates: List[str] = []
    if containerfile and containerfile != "-":
        candidates += [containerfile + DOCKERIGNORE, containerfile + CONTAINERIGNORE]
    candidates += [
        os.path.join(context_dir, DOCKERIGNORE),
        os.path.join(context_dir, CONTAINERIGNORE),
    ]
    return candidates
