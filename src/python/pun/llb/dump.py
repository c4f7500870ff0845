"""A readable view of Definition bytes: one JSON object per op, like `buildctl debug dump-llb`."""

from __future__ import annotations

import base64
import json
from typing import Any, Dict, Iterator, List

from pun.llb.definition import Definition
from pun.llb.pb import ops_pb2


def dump_lines(data: bytes) -> Iterator[str]:
    """JSON lines with buildctl's field names and order (Go encoding/json of pb structs)."""
    definition = Definition.from_bytes(data)
    for digest, op in definition.ops.items():
        record: Dict[str, Any] = {"Op": _op(op), "Digest": digest}
        if digest in definition.metadata:
            record["OpMetadata"] = _metadata(definition.metadata[digest])
        yield json.dumps(record, separators=(",", ":"), ensure_ascii=False)


def _omit_empty(pairs: List[Any]) -> Dict[str, Any]:
    return {key: value for key, value in pairs if value not in (None, "", 0, False, [], {})}


def _op(op: "ops_pb2.Op") -> Dict[str, Any]:
    out: Dict[str, Any] = {}
    if op.inputs:
        out["inputs"] = [_omit_empty([("digest", i.digest), ("index", i.index)]) for i in op.inputs]
    kind = op.WhichOneof("op")
    if kind == "source":
        attrs = dict(sorted(op.source.attrs.items()))
        out["Op"] = {
            "source": _omit_empty([("identifier", op.source.identifier), ("attrs", attrs)])
        }
    elif kind == "file":
        out["Op"] = {"file": {"actions": [_action(a) for a in op.file.actions]}}
    elif kind is not None:
        out["Op"] = {kind: {}}
    else:
        out["Op"] = {}
    if op.HasField("platform"):
        p = op.platform
        out["platform"] = _omit_empty(
            [
                ("Architecture", p.Architecture),
                ("OS", p.OS),
                ("Variant", p.Variant),
                ("OSVersion", p.OSVersion),
                ("OSFeatures", list(p.OSFeatures)),
            ]
        )
    if op.HasField("constraints"):
        out["constraints"] = _omit_empty([("filter", list(op.constraints.filter))])
    return out


def _action(action: "ops_pb2.FileAction") -> Dict[str, Any]:
    kind = action.WhichOneof("action")
    body: Dict[str, Any] = {}
    if kind == "copy":
        c = action.copy
        body = _omit_empty(
            [
                ("src", c.src),
                ("dest", c.dest),
                ("owner", _owner(c) if c.HasField("owner") else None),
                ("mode", c.mode),
                ("followSymlink", c.followSymlink),
                ("dirCopyContents", c.dirCopyContents),
                ("attemptUnpackDockerCompatibility", c.attemptUnpackDockerCompatibility),
                ("createDestPath", c.createDestPath),
                ("allowWildcard", c.allowWildcard),
                ("allowEmptyWildcard", c.allowEmptyWildcard),
                ("timestamp", c.timestamp),
                ("include_patterns", list(c.include_patterns)),
                ("exclude_patterns", list(c.exclude_patterns)),
                ("alwaysReplaceExistingDestPaths", c.alwaysReplaceExistingDestPaths),
            ]
        )
    elif kind == "mkfile":
        m = action.mkfile
        body = _omit_empty(
            [
                ("path", m.path),
                ("mode", m.mode),
                ("data", base64.b64encode(m.data).decode("ascii")),
                ("owner", _owner(m) if m.HasField("owner") else None),
                ("timestamp", m.timestamp),
            ]
        )
    elif kind == "mkdir":
        d = action.mkdir
        body = _omit_empty(
            [
                ("path", d.path),
                ("mode", d.mode),
                ("makeParents", d.makeParents),
                ("owner", _owner(d) if d.HasField("owner") else None),
                ("timestamp", d.timestamp),
            ]
        )
    elif kind == "rm":
        r = action.rm
        body = _omit_empty(
            [
                ("path", r.path),
                ("allowNotFound", r.allowNotFound),
                ("allowWildcard", r.allowWildcard),
            ]
        )
    return {
        "input": action.input,
        "secondaryInput": action.secondaryInput,
        "output": action.output,
        "Action": {kind: body} if kind else {},
    }


def _owner(holder: Any) -> Dict[str, Any]:
    out: Dict[str, Any] = {}
    for part in ("user", "group"):
        if holder.owner.HasField(part):
            user = getattr(holder.owner, part)
            which = user.WhichOneof("user")
            if which == "byName":
                value: Dict[str, Any] = {
                    "byName": _omit_empty(
                        [("name", user.byName.name), ("input", user.byName.input)]
                    )
                }
            else:
                value = {"byID": user.byID}
            out[part] = {"User": value}
    return out


def _metadata(meta: "ops_pb2.OpMetadata") -> Dict[str, Any]:
    return _omit_empty(
        [
            ("ignore_cache", meta.ignore_cache),
            ("description", dict(sorted(meta.description.items()))),
            ("caps", dict(sorted(meta.caps.items()))),
        ]
    )
