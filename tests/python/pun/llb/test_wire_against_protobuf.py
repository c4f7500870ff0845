"""Our hand-written encoder against the protobuf runtime, an independent serializer."""

from __future__ import annotations

import pytest

from pun.api import GenerateOptions, generate
from pun.llb.pb import ops_pb2
from pun.llb.wire import varint
from pun_testing.go_protobuf import current_order
from pun_testing.shared import CASES, PARITY_CASES

EXTRA = [
    "FROM alpine:3.18\nCOPY --chmod=0755 --chown=app:staff a b /d/\nLABEL k=v\n",
    "FROM scratch\nCOPY --chown=0 x* /y/\n",
    "FROM unikraft.org/base@sha256:"
    + "0" * 64
    + "\nLABEL com.urunc.unikernel.hypervisor=firecracker\n",
]


def texts() -> list:
    return [(CASES / c / "Containerfile").read_text() for c in PARITY_CASES] + EXTRA


@pytest.mark.parametrize("compat", ["pun", "docker"])
@pytest.mark.parametrize("text", texts())
def test_every_op_reserializes_identically(text: str, compat: str) -> None:
    definition = generate(text, GenerateOptions(local_unique_id="u", compat=compat)).definition
    parsed = ops_pb2.Definition.FromString(definition)
    ops = getattr(parsed, "def")
    assert len(ops) >= 2
    for op_bytes in ops:
        op = ops_pb2.Op()
        op.ParseFromString(op_bytes)
        if compat == "pun":
            assert op.SerializeToString(deterministic=True) == op_bytes
        else:
            assert current_order(op) == op_bytes
    # Every op has metadata with caps and (but the terminal one) a source-location entry.
    assert len(parsed.metadata) == len(ops)
    assert len(parsed.Source.locations) == len(ops) - 1


def test_negative_varints_take_ten_bytes() -> None:
    assert varint(-1) == bytes.fromhex("ffffffffffffffffff01")
    assert varint(420) == bytes.fromhex("a403")
    assert varint(0) == b"\x00"
