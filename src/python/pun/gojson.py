"""JSON exactly as Go's encoding/json writes a map[string]string (compact, sorted, HTML-escaped)."""

from __future__ import annotations

import json
from typing import Any

# Go escapes these even with raw UTF-8 output; Python's json module does not.
_GO_ESCAPES = {
    "<": "\\u003c",
    ">": "\\u003e",
    "&": "\\u0026",
    "\u2028": "\\u2028",
    "\u2029": "\\u2029",
}


def go_json_dumps(value: Any) -> str:
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    for raw, escaped in _GO_ESCAPES.items():
        text = text.replace(raw, escaped)
    return text
