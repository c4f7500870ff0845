"""Whether this process was started by BuildKit as a gateway frontend.

Kept free of heavy imports: `pun` without `--LLB` checks this before importing grpc.
"""

from __future__ import annotations

from typing import Mapping

OPT_PREFIX = "BUILDKIT_FRONTEND_OPT_"
SESSION_ID = "BUILDKIT_SESSION_ID"
WORKERS = "BUILDKIT_WORKERS"
EXPORTED_PRODUCT = "BUILDKIT_EXPORTEDPRODUCT"


def started_by_buildkit(environ: Mapping[str, str]) -> bool:
    # The daemon always sets the session id and the worker list for a gateway frontend; the
    # options are there whenever the build has any. One of them is enough to tell.
    if SESSION_ID in environ or WORKERS in environ or EXPORTED_PRODUCT in environ:
        return True
    return any(key.startswith(OPT_PREFIX) for key in environ)
