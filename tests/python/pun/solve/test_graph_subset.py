"""The embedded builder refuses LLB outside its subset before doing any work, naming the op."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import List

import pytest

from pun.diagnostics import PunError
from pun.imagespec import ImageSpec
from pun.llb.pb import ops_pb2
from pun.solve import BuildOptions, build
from pun.solve.graph import decode_chain


def definition(ops: List["ops_pb2.Op"]) -> bytes:
    """A Definition of `ops` (each may refer to the previous by digest) plus a terminal op."""
    d = ops_pb2.Definition()
    digests = []
    for op in ops:
        data = op.SerializeToString(deterministic=True)
        getattr(d, "def").append(data)
        digests.append("sha256:" + hashlib.sha256(data).hexdigest())
    terminal = ops_pb2.Op(inputs=[ops_pb2.Input(digest=digests[-1])])
    getattr(d, "def").append(terminal.SerializeToString(deterministic=True))
    return d.SerializeToString(deterministic=True)


def digest(op: "ops_pb2.Op") -> str:
    return "sha256:" + hashlib.sha256(op.SerializeToString(deterministic=True)).hexdigest()


def local_op() -> "ops_pb2.Op":
    return ops_pb2.Op(source=ops_pb2.SourceOp(identifier="local://context"))


def refused(data: bytes, tmp_path: Path) -> str:
    with pytest.raises(PunError) as caught:
        build(
            data,
            str(tmp_path),
            ImageSpec.from_labels({}),
            f"type=oci,dest={tmp_path / 'x.tar'}",
            options=BuildOptions(cache_dir=str(tmp_path / "cache"), progress="quiet"),
        )
    assert not (tmp_path / "x.tar").exists()
    return str(caught.value)


def test_exec_op_is_refused_naming_it(tmp_path: Path) -> None:
    op = ops_pb2.Op(exec=ops_pb2.ExecOp())  # a RUN step (our schema keeps ExecOp opaque)
    message = refused(definition([op]), tmp_path)
    assert digest(op) in message
    assert "`exec` op" in message and "--builder buildctl" in message


def test_merge_op_is_refused(tmp_path: Path) -> None:
    op = ops_pb2.Op(merge=ops_pb2.MergeOp())
    assert "`merge` op" in refused(definition([op]), tmp_path)


def test_rm_action_is_refused(tmp_path: Path) -> None:
    action = ops_pb2.FileAction(
        input=-1, secondaryInput=-1, output=0, rm=ops_pb2.FileActionRm(path="/x")
    )
    op = ops_pb2.Op(file=ops_pb2.FileOp(actions=[action]))
    message = refused(definition([op]), tmp_path)
    assert digest(op) in message and "`rm`" in message


def test_unknown_source_is_refused(tmp_path: Path) -> None:
    op = ops_pb2.Op(source=ops_pb2.SourceOp(identifier="git://example.invalid/repo.git"))
    message = refused(definition([op]), tmp_path)
    assert "`git` source" in message


def test_local_source_include_filters_are_refused(tmp_path: Path) -> None:
    op = ops_pb2.Op(
        source=ops_pb2.SourceOp(
            identifier="local://context", attrs={"local.includepattern": '["a"]'}
        )
    )
    copy = ops_pb2.FileAction(
        input=-1,
        secondaryInput=0,
        output=0,
        copy=ops_pb2.FileActionCopy(
            src="/a", dest="/a", mode=-1, timestamp=-1, createDestPath=True
        ),
    )
    file_op = ops_pb2.Op(
        inputs=[ops_pb2.Input(digest=digest(op))], file=ops_pb2.FileOp(actions=[copy])
    )
    assert "include filters" in refused(definition([op, file_op]), tmp_path)


def test_a_local_directory_as_root_filesystem_is_refused(tmp_path: Path) -> None:
    assert "local directory used as the image's root" in refused(definition([local_op()]), tmp_path)


def test_garbage_is_refused(tmp_path: Path) -> None:
    assert "does not parse" in refused(b"\xff\xff\xff\xff", tmp_path)


def test_an_empty_definition_is_an_empty_scratch_image() -> None:
    chain = decode_chain(b"")
    assert chain.base is None and chain.steps == ()
