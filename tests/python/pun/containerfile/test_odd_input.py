"""Input the compiled Dockerfile parser returns oddly, or cannot take: one error naming the line."""

from __future__ import annotations

import pytest

from pun.api import generate
from pun.diagnostics import PunError


@pytest.mark.parametrize(
    "text, line",
    [
        # `docker build` (BuildKit 0.x): "dockerfile parse error line 3: unknown instruction: "
        ("FROM scratch\nCOPY a /a\n\\", 3),
        ("FROM scratch\nCOPY a /a\n\\\n", 3),
        ("\\", 1),
        # The parser reads a C string: a NUL would silently end the file there.
        ("FROM scratch\nLABEL a=b\x00\nCOPY a /a\n", 2),
        # No UTF-8 exists for a lone surrogate; the parser would abort the process.
        ("FROM scratch\nLABEL a=\udcff\n", 2),
        # A JSON escape can still make a NUL, which no path or value can hold.
        ('FROM scratch\nCOPY ["a\\u0000", "/b"]\n', 2),
    ],
)
def test_one_error_at_the_line(text: str, line: int) -> None:
    with pytest.raises(PunError) as raised:
        generate(text)
    (diagnostic,) = raised.value.diagnostics
    assert (diagnostic.path, diagnostic.line) == ("Containerfile", line)
    assert diagnostic.hint
