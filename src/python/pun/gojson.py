"""JSON exactly as Go's encoding/json writes it (compact, sorted keys, HTML-escaped, raw UTF-8)."""

from __future__ import annotations

TYPE_CHECKING = False  # typing is imported for mypy only: see pun.records
if TYPE_CHECKING:
    from typing import Any, Callable, Mapping, Sequence

# Go escapes these even with raw UTF-8 output; Python's json module does not.
_GO_ESCAPES = {
    "<": "\\u003c",
    ">": "\\u003e",
    "&": "\\u0026",
    "\u2028": "\\u2028",
    "\u2029": "\\u2029",
}


def go_json_dumps(value: Any) -> str:
    import json  # imported on use: `pun --LLB` only needs go_json_string_map

    text = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return _go_escape(text)


def go_json_string_map(values: Mapping[str, str]) -> str:
    """A map[string]string, byte-identical to go_json_dumps(dict(values)), without the json
    package's import cost (it is on `pun --LLB`'s start-up path, for /urunc.json)."""
    quote = _quoter()
    body = ",".join(f"{quote(key)}:{quote(values[key])}" for key in sorted(values))
    return _go_escape("{" + body + "}")


def go_json_string_list(values: Sequence[str]) -> str:
    """A []string, byte-identical to go_json_dumps(list(values)), without importing json (the
    LLB's local.followpaths / excludepatterns, on `pun --LLB`'s start-up path)."""
    quote = _quoter()
    return _go_escape("[" + ",".join(quote(value) for value in values) + "]")


def _quoter() -> Callable[[str], str]:
    try:
        from _json import encode_basestring as quote  # the C encoder json.dumps itself uses
    except ImportError:  # pragma: no cover - Pythons without the accelerator
        from json.encoder import py_encode_basestring as quote
    return quote


def _go_escape(text: str) -> str:
    for raw, escaped in _GO_ESCAPES.items():
        text = text.replace(raw, escaped)
    return text
