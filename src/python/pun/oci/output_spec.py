"""`--output` specs in buildctl's syntax: comma-separated key=value pairs, CSV-quoted.

    type=oci,dest=image.tar            an OCI image layout, as a tar
    type=docker,dest=image.tar[,name=REF]   a `docker load` tarball (also an OCI layout)
    type=local,dest=DIR                the root filesystem, as files
    type=image,name=REF[,push=true]    an image pushed to a registry

Values that contain a comma are quoted as in CSV: `"name=a:1,b:2"`.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from typing import Dict, Mapping, Optional, Tuple

from pun.diagnostics import PunError, error

TYPES = ("oci", "docker", "local", "image")
_HINT = "use e.g. type=oci,dest=image.tar (see pun build --help)"
_TRUE = frozenset({"1", "t", "true", "T", "TRUE", "True"})
_FALSE = frozenset({"0", "f", "false", "F", "FALSE", "False"})


@dataclass(frozen=True)
class OutputSpec:
    type: str
    attrs: Tuple[Tuple[str, str], ...] = ()

    def get(self, key: str, default: str = "") -> str:
        return dict(self.attrs).get(key, default)

    def flag(self, key: str, default: bool = False) -> bool:
        value = dict(self.attrs).get(key)
        if value is None:
            return default
        if value == "" or value in _TRUE:
            return True
        if value in _FALSE:
            return False
        raise error(f"--output: {key}={value!r} is not a boolean", hint="use true or false")

    @property
    def dest(self) -> str:
        return self.get("dest")

    @property
    def names(self) -> Tuple[str, ...]:
        return tuple(n.strip() for n in self.get("name").split(",") if n.strip())

    def with_attrs(self, extra: Mapping[str, str]) -> "OutputSpec":
        merged: Dict[str, str] = dict(self.attrs)
        merged.update(extra)
        return OutputSpec(self.type, tuple(merged.items()))

    def render(self) -> str:
        """Back to buildctl's syntax (CSV-quoting fields that need it)."""
        out = io.StringIO()
        fields = [f"type={self.type}"] + [f"{k}={v}" for k, v in self.attrs]
        csv.writer(out, lineterminator="").writerow(fields)
        return out.getvalue()


def parse_output_spec(text: str) -> OutputSpec:
    """Parse one `--output` value; raise PunError with a hint on anything malformed."""
    bare = _bare_quote(text)
    if bare is not None:
        # Go's encoding/csv (buildctl) refuses this; Python's csv would keep the quote.
        raise error(
            f'--output {text!r}: bare " in non-quoted field (column {bare + 1})',
            hint='quote the whole field, as in "dest=a,b.tar", and double a " inside it',
        )
    try:
        rows = list(csv.reader([text], skipinitialspace=False, strict=True))
    except csv.Error as exc:
        raise error(f"--output {text!r}: {exc}", hint=_HINT) from None
    fields = rows[0] if rows else []
    attrs: Dict[str, str] = {}
    for field in fields:
        key, has_value, value = field.partition("=")
        key = key.strip().lower()
        if not key or not has_value:
            raise error(f"--output {text!r}: {field!r} is not key=value", hint=_HINT)
        if key in attrs:
            raise error(f"--output {text!r}: {key} is given twice", hint=_HINT)
        attrs[key] = value
    kind = attrs.pop("type", "")
    if not kind:
        raise error(f"--output {text!r} has no type=", hint=_HINT)
    if kind not in TYPES:
        raise error(
            f"--output type {kind!r} is not supported", hint=f"use one of: {', '.join(TYPES)}"
        )
    spec = OutputSpec(kind, tuple(attrs.items()))
    _check(spec, text)
    return spec


def _bare_quote(text: str) -> Optional[int]:
    """Where a `"` sits inside a field that does not start with one (Go's csv.ErrBareQuote)."""
    quoted = at_start = True
    in_quotes = False
    for index, char in enumerate(text):
        if at_start:
            quoted, at_start = char == '"', False
            in_quotes = quoted
            continue
        if quoted:
            if char == '"':
                in_quotes = not in_quotes  # `""` inside a quoted field is one quote
            elif char == "," and not in_quotes:
                at_start = True
        elif char == ",":
            at_start = True
        elif char == '"':
            return index
    return None


def _check(spec: OutputSpec, text: str) -> None:
    problem = ""
    if spec.type in ("oci", "docker", "local") and not spec.dest:
        problem = f"type={spec.type} needs dest="
    elif spec.type == "image" and not spec.names:
        problem = "type=image needs name=REGISTRY/REPOSITORY[:TAG]"
    elif spec.type == "local" and spec.dest == "-":
        problem = "type=local writes a directory; dest=- is not possible"
    compression = spec.get("compression", "gzip")
    if not problem and compression not in ("gzip", "uncompressed"):
        problem = f"compression={compression} is not supported (gzip or uncompressed)"
    level = spec.get("compression-level")
    if not problem and level and not (level.isdigit() and 0 <= int(level) <= 9):
        problem = f"compression-level={level} is not 0-9"
    if problem:
        raise PunError(error(f"--output {text!r}: {problem}", hint=_HINT).diagnostics)
