"""The digest a current BuildKit gives an op pun wrote, for messages that name a vertex (Warn).

With `--compat pun`, pun writes ops in BuildKit v0.16's byte order (the oneof body at its own
field number; the default writes v0.32's, which the daemon keeps, see pun.llb.marshal). A
current daemon (v0.29 and later; checked with v0.32.2) decodes every op and marshals it again
before it digests it (`solver/llbsolver/vertex.go`, `recomputeDigests`), with Go protobuf's
deterministic marshaller, which writes an Op's other fields first and its oneof body last
(`solver/pb/ops.go`, `Op.Marshal`). The progress stream names vertices by those new digests,
so a `Warn` carrying pun's own digest names no vertex and buildctl drops it silently
(`util/progress/progressui/display.go`). Inputs name their ops by the new digests too, so the
digest of an op with inputs depends on theirs: `daemon_digests` walks the whole Definition.
"""

from __future__ import annotations

import hashlib
from typing import Dict, List, Mapping, Tuple

_VARINT, _FIXED64, _LEN, _FIXED32 = 0, 1, 2, 5
_OP_INPUTS = 1
_OP_ONEOF = range(2, 10)  # exec, source, file, build, merge, diff (and room for more)
_INPUT_DIGEST = 1
_DEFINITION_DEF = 1


def _varint(data: bytes, at: int) -> Tuple[int, int]:
    value = shift = 0
    while True:
        byte = data[at]
        at += 1
        value |= (byte & 0x7F) << shift
        shift += 7
        if not byte & 0x80:
            return value, at


def _encode_varint(value: int) -> bytes:
    out = bytearray()
    while True:
        low = value & 0x7F
        value >>= 7
        out.append(low | 0x80 if value else low)
        if not value:
            return bytes(out)


def _records(data: bytes) -> List[Tuple[int, bytes, bytes]]:
    """(field number, whole record, payload of a length-delimited field) in wire order."""
    out = []
    at = 0
    while at < len(data):
        start = at
        key, at = _varint(data, at)
        number, kind = key >> 3, key & 7
        payload = b""
        if kind == _VARINT:
            _, at = _varint(data, at)
        elif kind == _FIXED64:
            at += 8
        elif kind == _FIXED32:
            at += 4
        elif kind == _LEN:
            length, at = _varint(data, at)
            payload = data[at : at + length]
            at += length
        else:
            raise ValueError(f"unsupported wire type {kind}")
        out.append((number, data[start:at], payload))
    return out


def _length_delimited(number: int, payload: bytes) -> bytes:
    return _encode_varint(number << 3 | _LEN) + _encode_varint(len(payload)) + payload


def _digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def daemon_op_bytes(op: bytes, renamed: Mapping[str, str]) -> bytes:
    """`op` as the daemon marshals it again: input digests renamed, the oneof body last."""
    first: List[bytes] = []
    body: List[bytes] = []
    for number, record, payload in _records(op):
        if number == _OP_INPUTS:
            fields = []
            for inner_number, inner_record, inner_payload in _records(payload):
                if inner_number == _INPUT_DIGEST:
                    name = inner_payload.decode("utf-8")
                    inner_record = _length_delimited(
                        _INPUT_DIGEST, renamed.get(name, name).encode("utf-8")
                    )
                fields.append(inner_record)
            record = _length_delimited(_OP_INPUTS, b"".join(fields))
        (body if number in _OP_ONEOF else first).append(record)
    return b"".join(first + body)


def daemon_digests(definition: bytes) -> Dict[str, str]:
    """pun's op digest -> the daemon's, for every op of a Definition (inputs come first)."""
    renamed: Dict[str, str] = {}
    for number, _, payload in _records(definition):
        if number == _DEFINITION_DEF:
            renamed[_digest(payload)] = _digest(daemon_op_bytes(payload, renamed))
    return renamed
