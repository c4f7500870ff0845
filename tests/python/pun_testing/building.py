"""Run `pun build` in-process for tests, with a private cache and captured stdout/stderr."""

from __future__ import annotations

import contextlib
import io
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, Iterator, List, Optional

from pun.cli.main import main


@dataclass(frozen=True)
class Run:
    code: int
    out: bytes
    err: str


@contextlib.contextmanager
def environment(values: Dict[str, Optional[str]]) -> Iterator[None]:
    saved = {k: os.environ.get(k) for k in values}
    try:
        for key, value in values.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def pun_build(argv: List[str], cache: Path, env: Optional[Dict[str, Optional[str]]] = None) -> Run:
    """`pun build ARGV` with XDG_CACHE_HOME=cache; BUILDKIT_HOST unset unless `env` sets it."""
    values: Dict[str, Optional[str]] = {
        "XDG_CACHE_HOME": str(cache),
        "BUILDKIT_HOST": None,
        "SOURCE_DATE_EPOCH": None,
    }
    values.update(env or {})
    out, err = io.BytesIO(), io.StringIO()
    with environment(values), _capture(out, err):
        code = main(["build", *argv])
    return Run(code, out.getvalue(), err.getvalue())


@contextlib.contextmanager
def _capture(out: io.BytesIO, err: io.StringIO) -> Iterator[None]:
    import sys

    wrapper = io.TextIOWrapper(out, encoding="utf-8", write_through=True)
    saved = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = wrapper, err
    try:
        yield
    finally:
        wrapper.flush()
        wrapper.detach()
        sys.stdout, sys.stderr = saved
