"""A planned build on disk: the Definition and the image spec `generate()` returned.

`pun build --definition FILE --image-spec FILE` builds exactly what was planned elsewhere (the
Pants rule plans once, hashes these bytes and hands them to the sandboxed build), so nothing
parses the Containerfile a second time. The spec file also carries the source map, so build
errors still name the Containerfile line, and the rootfs request (PackPlan.rootfs) with the
context's ignore patterns, so the build process makes the rootfs artifact from its context.
"""

from __future__ import annotations

import json
from typing import Any, Dict, NamedTuple, Optional, Tuple

from pun.containerfile.plan import RootfsInclude, RootfsRequest
from pun.diagnostics import error
from pun.gojson import go_json_dumps
from pun.imagespec import ImageSpec

PLAN_VERSION = 1


class PlannedImage(NamedTuple):
    image: ImageSpec
    path: str  # the Containerfile, for messages
    source_map: Tuple[Tuple[str, int], ...]
    # The rootfs artifact to make (pun.rootfs.make) and the context's ignore patterns it obeys.
    rootfs: Optional[RootfsRequest] = None
    context_excludes: Tuple[str, ...] = ()


def spec_file_bytes(
    image: ImageSpec,
    path: str,
    source_map: Tuple[Tuple[str, int], ...],
    rootfs: Optional[RootfsRequest] = None,
    context_excludes: Tuple[str, ...] = (),
) -> bytes:
    """The `--image-spec` file: compact, sorted JSON, so the same plan gives the same bytes."""
    document: Dict[str, Any] = {
        "version": PLAN_VERSION,
        "image": image.to_json(),
        "containerfile": path,
        "source_map": [list(entry) for entry in source_map],
    }
    if rootfs is not None:
        document["rootfs"] = rootfs_to_json(rootfs)
        document["context_excludes"] = list(context_excludes)
    return go_json_dumps(document).encode("utf-8")


def rootfs_to_json(request: RootfsRequest) -> Dict[str, Any]:
    data = request._asdict()
    data["includes"] = [include._asdict() for include in request.includes]
    return data


def rootfs_from_json(data: Dict[str, Any]) -> RootfsRequest:
    includes = tuple(RootfsInclude(**include) for include in data["includes"])
    return RootfsRequest(**{**data, "includes": includes})


def read_spec_file(data: bytes, filename: str) -> PlannedImage:
    try:
        document = json.loads(data.decode("utf-8"))
        if document.get("version") != PLAN_VERSION:
            raise ValueError(f"version {document.get('version')!r}, expected {PLAN_VERSION}")
        return PlannedImage(
            image=ImageSpec.from_json(document["image"]),
            path=str(document.get("containerfile", "")),
            source_map=tuple((str(d), int(n)) for d, n in document.get("source_map", ())),
            rootfs=rootfs_from_json(document["rootfs"]) if document.get("rootfs") else None,
            context_excludes=tuple(str(p) for p in document.get("context_excludes", ())),
        )
    except (ValueError, KeyError, TypeError, AttributeError, UnicodeDecodeError) as exc:
        raise error(
            f"{filename} is not an image spec file: {exc}",
            hint="pass the file `pun.buildplan.spec_file_bytes` wrote for this definition",
        ) from None
