"""SOURCE_DATE_EPOCH's one parser (pun.epoch), which the CLI and the frontend share."""

from __future__ import annotations

import pytest

from pun.diagnostics import PunError
from pun.epoch import parse_epoch


@pytest.mark.parametrize(
    "text, seconds", [("", 0), ("  ", 0), ("0", 0), (" 1700000000\n", 1700000000)]
)
def test_seconds_or_zero_when_unset(text: str, seconds: int) -> None:
    assert parse_epoch(text, "SOURCE_DATE_EPOCH", "hint") == seconds


@pytest.mark.parametrize("text", ["-1", "1.5", "soon", "0x10", "1e9"])
def test_anything_but_digits_is_one_error_naming_where_it_came_from(text: str) -> None:
    with pytest.raises(PunError) as raised:
        parse_epoch(text, "build-arg SOURCE_DATE_EPOCH", "pass e.g. 0", "Containerfile")
    (diagnostic,) = raised.value.diagnostics
    assert diagnostic.render() == (
        f"Containerfile: error: build-arg SOURCE_DATE_EPOCH={text!r} is not a number of "
        "seconds\n  hint: pass e.g. 0"
    )
