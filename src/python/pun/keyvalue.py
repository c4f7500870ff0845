"""KEY=VALUE lists: `--build-arg`, `--annotation`, the frontend image's `--label`, and the
Pants plugin's `build_args`. One rule for all of them: split at the first `=` (a value may
hold more), a later KEY wins, and a bare `KEY` takes its value from the environment as
`docker build --build-arg KEY` does (and is left out when the environment lacks it) — where
the caller allows bare keys at all.

On `pun --LLB`'s hot path (build args): no typing at module level (see pun.records).
"""

from __future__ import annotations

from pun.diagnostics import error

TYPE_CHECKING = False  # typing is imported for mypy only: see pun.records
if TYPE_CHECKING:
    from typing import Dict, Iterable, List, Mapping, Optional


def parse_pairs(
    pairs: Iterable[str], flag: str, environ: Optional[Mapping[str, str]] = None
) -> Dict[str, str]:
    """`pairs` as a dict. With `environ`, a bare KEY is looked up there; without it, a bare
    KEY is an error. An empty KEY is always one: a PunError naming `flag`."""
    values: Dict[str, str] = {}
    for pair in pairs:
        key, has_value, value = pair.partition("=")
        if not key or (not has_value and environ is None):
            raise error(f"invalid {flag} {pair!r}", hint=f"use {flag} KEY=VALUE")
        if has_value:
            values[key] = value
        elif environ is not None and key in environ:
            values[key] = environ[key]
        else:
            continue
        require_utf8(f"{flag} {key!r}", key + values[key])
    return values


def require_utf8(what: str, text: str) -> None:
    """Argument bytes that are not UTF-8 reach Python as surrogate escapes (PEP 383); labels,
    the LLB and /urunc.json are UTF-8, so such text is refused here, naming the flag, rather
    than failing deep inside."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise error(
            f"{what}: not UTF-8 text",
            hint="pass it as UTF-8 (check the terminal's or the variable's encoding)",
        ) from None


def bare_keys(pairs: Iterable[str]) -> List[str]:
    """The KEYs given without a value, whose values come from the environment."""
    return [pair for pair in pairs if "=" not in pair]
