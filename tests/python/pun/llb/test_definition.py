"""pun.llb.definition: Definition bytes decoded once, checked against protobuf's own decoding
of the same bytes and sha256 (digests as BuildKit's client names ops: sha256 of the bytes)."""

from __future__ import annotations

import hashlib

import pytest

from pun.api import GenerateOptions, generate
from pun.diagnostics import PunError
from pun.llb.definition import Definition
from pun.llb.pb import ops_pb2

TEXT = """FROM scratch
COPY app.hvt /unikernel/app.hvt
LABEL com.urunc.unikernel.binary=/unikernel/app.hvt
LABEL com.urunc.unikernel.unikernelType="rumprun"
LABEL com.urunc.unikernel.hypervisor="hvt"
"""


def test_ops_metadata_and_caps_are_those_of_the_bytes() -> None:
    data = generate(TEXT, GenerateOptions(local_unique_id="pinned")).definition
    raw = ops_pb2.Definition.FromString(data)
    expected = ["sha256:" + hashlib.sha256(op).hexdigest() for op in getattr(raw, "def")]

    decoded = Definition.from_bytes(data)

    assert list(decoded.digests) == expected
    assert [decoded.op_bytes[d] for d in expected] == list(getattr(raw, "def"))
    assert decoded.terminal() == ops_pb2.Op.FromString(getattr(raw, "def")[-1])
    for digest in expected:
        meta = raw.metadata.get(digest)
        name = meta.description.get("llb.customname", "") if meta is not None else ""
        assert decoded.custom_name(digest) == name
    assert decoded.caps() == {
        cap for meta in raw.metadata.values() for cap, on in meta.caps.items() if on
    }


def test_bytes_that_do_not_parse_are_one_error() -> None:
    with pytest.raises(PunError, match="the LLB definition does not parse"):
        Definition.from_bytes(b"\x0a\xff")
