"""`--output` parsing follows buildctl's CSV syntax and says what is wrong."""

from __future__ import annotations

import pytest

from pun.diagnostics import PunError
from pun.solve import parse_output_spec


def test_simple_specs() -> None:
    spec = parse_output_spec("type=oci,dest=out.tar")
    assert (spec.type, spec.dest) == ("oci", "out.tar")
    spec = parse_output_spec("type=image,name=127.0.0.1:5000/a/b:1,push=true")
    assert spec.names == ("127.0.0.1:5000/a/b:1",) and spec.flag("push")


def test_quoted_fields_may_hold_commas() -> None:
    spec = parse_output_spec('type=image,"name=r/a:1,r/a:2",push=true')
    assert spec.names == ("r/a:1", "r/a:2")
    assert parse_output_spec('type=oci,"dest=a""b,c.tar"').dest == 'a"b,c.tar'


def test_render_round_trips_through_csv_quoting() -> None:
    spec = parse_output_spec("type=oci,dest=x.tar").with_attrs({"annotation-manifest.k": 'a,"b"'})
    assert spec.render() == 'type=oci,dest=x.tar,"annotation-manifest.k=a,""b"""'
    assert parse_output_spec(spec.render()) == spec


@pytest.mark.parametrize(
    "text, says",
    [
        ("dest=x.tar", "no type="),
        ("type=tarball,dest=x", "not supported"),
        ("type=oci", "needs dest="),
        ("type=local,dest=-", "dest=- is not possible"),
        ("type=image,push=true", "needs name="),
        ("type=oci,dest=x,dest=y", "given twice"),
        ("type=oci,dest", "not key=value"),
        ("type=oci,dest=x,compression=zstd", "compression=zstd"),
        ("type=oci,dest=x,compression-level=12", "not 0-9"),
        # Go's encoding/csv, as buildctl parses it: `bare " in non-quoted-field`.
        ('type=oci,dest="unterminated', 'bare " in non-quoted field'),
        ('type=oci,dest=a"b.tar', 'bare " in non-quoted field'),
        ('"type=oci,dest=x', "unexpected end of data"),
        ('type=oci,"dest=x"y', "expected after"),
    ],
)
def test_malformed_specs(text: str, says: str) -> None:
    with pytest.raises(PunError, match=says) as caught:
        parse_output_spec(text)
    assert "hint:" in str(caught.value)


def test_booleans() -> None:
    spec = parse_output_spec("type=image,name=a/b,push=maybe")
    with pytest.raises(PunError, match="not a boolean"):
        spec.flag("push")
