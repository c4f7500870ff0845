"""pun.keyvalue: the one KEY=VALUE rule, docker's for `--build-arg` (Docker CLI reference,
`docker build --build-arg`: "KEY=VALUE", or a bare KEY whose value comes from the
environment and is dropped when it is unset there)."""

from __future__ import annotations

from typing import Dict, List, Optional

import pytest

from pun.diagnostics import PunError
from pun.keyvalue import bare_keys, parse_pairs


def test_the_value_is_everything_after_the_first_equals_sign() -> None:
    assert parse_pairs(["A=b=c", "E=", "A=d"], "--x") == {"A": "d", "E": ""}


def test_a_bare_key_takes_its_value_from_the_environment_or_is_left_out() -> None:
    environ = {"HOME_DIR": "/root"}
    assert parse_pairs(["HOME_DIR", "UNSET", "B=1"], "--build-arg", environ) == {
        "HOME_DIR": "/root",
        "B": "1",
    }
    assert bare_keys(["HOME_DIR", "B=1", "UNSET"]) == ["HOME_DIR", "UNSET"]


@pytest.mark.parametrize("pairs, environ", [(["=v"], {}), (["K"], None)])
def test_an_empty_key_or_a_bare_key_where_none_is_allowed_is_one_error(
    pairs: List[str], environ: Optional[Dict[str, str]]
) -> None:
    with pytest.raises(PunError) as raised:
        parse_pairs(pairs, "--annotation", environ)
    [diagnostic] = raised.value.diagnostics
    assert diagnostic.message == f"invalid --annotation {pairs[0]!r}"
    assert diagnostic.hint == "use --annotation KEY=VALUE"
