"""`pun.records.Record` at run time behaves as `typing.NamedTuple` (the oracle: the same class
declared both ways must agree on construction, defaults, errors, _replace, repr and pickling)."""

from __future__ import annotations

import copy
import pickle
from typing import NamedTuple, Optional

import pytest

from pun.records import Record


class Plain(Record):
    name: str
    size: int = 0
    note: Optional[str] = None

    def doubled(self) -> int:
        return self.size * 2


class Typed(NamedTuple):
    name: str
    size: int = 0
    note: Optional[str] = None


@pytest.mark.parametrize(
    "args, kwargs",
    [
        (("a",), {}),
        (("a", 3), {}),
        (("a",), {"note": "n"}),
        ((), {"name": "a", "size": 1}),
        (("a", 1, "x"), {}),
    ],
)
def test_construction_matches_namedtuple(args: tuple, kwargs: dict) -> None:
    ours, theirs = Plain(*args, **kwargs), Typed(*args, **kwargs)
    assert tuple(ours) == tuple(theirs)
    assert (ours.name, ours.size, ours.note) == (theirs.name, theirs.size, theirs.note)
    assert repr(ours) == repr(theirs).replace("Typed", "Plain")
    assert ours._replace(size=9) == theirs._replace(size=9)
    assert ours._asdict() == theirs._asdict()
    assert pickle.loads(pickle.dumps(ours)) == ours and copy.deepcopy(ours) == ours
    assert hash(ours) == hash(theirs) and ours == theirs


@pytest.mark.parametrize(
    "args, kwargs",
    [((), {}), (("a", 1, "x", "extra"), {}), (("a",), {"bogus": 1}), (("a",), {"name": "b"})],
)
def test_bad_arguments_raise_type_error_like_namedtuple(args: tuple, kwargs: dict) -> None:
    with pytest.raises(TypeError):
        Typed(*args, **kwargs)
    with pytest.raises(TypeError):
        Plain(*args, **kwargs)


def test_records_are_immutable_and_keep_methods() -> None:
    record = Plain("a", 2)
    assert record.doubled() == 4
    assert Plain._fields == ("name", "size", "note")
    with pytest.raises(AttributeError):
        record.size = 3  # type: ignore[misc]
    with pytest.raises(AttributeError):
        record.other = 1  # type: ignore[attr-defined]
    with pytest.raises(TypeError):
        record._replace(bogus=1)  # type: ignore[call-arg]
