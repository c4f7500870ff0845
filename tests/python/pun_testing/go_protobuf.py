"""Ops as BuildKit v0.32's Go client writes them, made with the protobuf runtime."""

from __future__ import annotations

from pun.llb.pb import ops_pb2


def current_order(op: ops_pb2.Op) -> bytes:
    """The op as Go protobuf (BuildKit v0.32) writes it: the oneof body after the other fields
    (Python's runtime writes every field in number order, as BuildKit v0.16's gogo did)."""
    which = op.WhichOneof("op")
    if which is None:
        return op.SerializeToString(deterministic=True)
    rest, body = ops_pb2.Op(), ops_pb2.Op()
    rest.CopyFrom(op)
    rest.ClearField(which)
    getattr(body, which).CopyFrom(getattr(op, which))
    return rest.SerializeToString(deterministic=True) + body.SerializeToString(deterministic=True)
