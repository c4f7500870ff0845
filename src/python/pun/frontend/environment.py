"""The build as BuildKit describes it to a frontend process: environment variables.

`BUILDKIT_FRONTEND_OPT_<i>=<key>=<value>` for every frontend option (numbered in random
order), `BUILDKIT_SESSION_ID`, `BUILDKIT_WORKERS` (JSON) and `BUILDKIT_EXPORTEDPRODUCT`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Dict, Mapping, Optional, Tuple

from pun.diagnostics import error
from pun.frontend.detect import EXPORTED_PRODUCT, OPT_PREFIX, SESSION_ID, WORKERS
from pun.platform import InvalidPlatform, Platform, parse_platform


@dataclass(frozen=True)
class FrontendEnvironment:
    opts: Mapping[str, str] = field(default_factory=dict)
    session_id: str = ""
    # Platforms of the daemon's workers, first worker first: the default build platform.
    worker_platforms: Tuple[Platform, ...] = ()
    product: str = ""


def read_environment(environ: Mapping[str, str]) -> FrontendEnvironment:
    opts: Dict[str, str] = {}
    for name, value in environ.items():
        if name.startswith(OPT_PREFIX):
            key, _, opt_value = value.partition("=")
            opts[key] = opt_value
    return FrontendEnvironment(
        opts=opts,
        session_id=environ.get(SESSION_ID, ""),
        worker_platforms=_worker_platforms(environ.get(WORKERS, "")),
        product=environ.get(EXPORTED_PRODUCT, ""),
    )


def _worker_platforms(text: str) -> Tuple[Platform, ...]:
    if not text.strip():
        return ()
    try:
        workers = json.loads(text)
    except ValueError as exc:
        raise error(f"{WORKERS} is not valid JSON: {exc}") from None
    found = []
    for worker in workers if isinstance(workers, list) else ():
        for spec in (worker.get("platforms") or ()) if isinstance(worker, dict) else ():
            platform = _platform(spec)
            if platform is not None:
                found.append(platform)
    return tuple(found)


def _platform(spec: Any) -> Optional[Platform]:
    if not isinstance(spec, dict) or not spec.get("os") or not spec.get("architecture"):
        return None
    text = f"{spec['os']}/{spec['architecture']}"
    if spec.get("variant"):
        text += f"/{spec['variant']}"
    try:
        return parse_platform(text)
    except InvalidPlatform:
        return None
