"""A planned build on disk: the Definition and the image spec `generate()` returned.

`pun build --definition FILE --image-spec FILE` builds exactly what was planned elsewhere (the
Pants rule plans once, hashes these bytes and hands them to the sandboxed build), so nothing
parses the Containerfile a second time. The spec file also carries the source map, so build
errors still name the Containerfile line.
"""

from __future__ import annotations

import json
from typing import Any, Dict, NamedTuple, Tuple

from pun.diagnostics import error
from pun.gojson import go_json_dumps
from pun.imagespec import ImageSpec

PLAN_VERSION = 1


class PlannedImage(NamedTuple):
    image: ImageSpec
    path: str  # the Containerfile, for messages
    source_map: Tuple[Tuple[str, int], ...]


def spec_file_bytes(image: ImageSpec, path: str, source_map: Tuple[Tuple[str, int], ...]) -> bytes:
    """The `--image-spec` file: compact, sorted JSON, so the same plan gives the same bytes."""
    document: Dict[str, Any] = {
        "version": PLAN_VERSION,
        "image": image.to_json(),
        "containerfile": path,
        "source_map": [list(entry) for entry in source_map],
    }
    return go_json_dumps(document).encode("utf-8")


def read_spec_file(data: bytes, filename: str) -> PlannedImage:
    try:
        document = json.loads(data.decode("utf-8"))
        if document.get("version") != PLAN_VERSION:
            raise ValueError(f"version {document.get('version')!r}, expected {PLAN_VERSION}")
        return PlannedImage(
            image=ImageSpec.from_json(document["image"]),
            path=str(document.get("containerfile", "")),
            source_map=tuple((str(d), int(n)) for d, n in document.get("source_map", ())),
        )
    except (ValueError, KeyError, TypeError, AttributeError, UnicodeDecodeError) as exc:
        raise error(
            f"{filename} is not an image spec file: {exc}",
            hint="pass the file `pun.buildplan.spec_file_bytes` wrote for this definition",
        ) from None
