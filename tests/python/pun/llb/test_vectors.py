"""LLB bytes against the original pun's test vectors (tests/data/llb-vectors),
in `compat="pun"`, the mode that keeps the original's bytes."""

from __future__ import annotations

import hashlib

from pun.api import GenerateOptions, generate
from pun.llb.marshal import MarshalOptions, marshal
from pun.llb.pb import ops_pb2
from pun.llb.state import local
from pun.platform import parse_platform
from pun_testing.shared import VECTORS

PUN = GenerateOptions(compat="pun")

# Stated in the vectors' README (not computed by us).
T1_SHA256 = "44725a71b7147c4d3a349f366e9a82e5527929ad28f9f7413fec74f8a1c74550"
T2_SHA256 = "e4bebd8f522608094bbe008f2a01874a893432e7cebb5731a627fdd718477886"
READ16_SHA256 = "5a33f7b07c620f84887cdb58278ab6bb82c1d4b818c665dc0f70a2f7a9d6aae3"


def test_t1_from_scratch() -> None:
    definition = generate((VECTORS / "T1.Containerfile").read_text(), PUN).definition
    assert hashlib.sha256(definition).hexdigest() == T1_SHA256
    assert definition == (VECTORS / "T1.llb").read_bytes()


def test_t2_with_the_originals_forced_platform() -> None:
    # The original forced qemu/amd64 on every base image; --base-platform reproduces that.
    options = GenerateOptions(base_platform=parse_platform("qemu/amd64"), compat="pun")
    definition = generate((VECTORS / "T2.Containerfile").read_text(), options).definition
    assert hashlib.sha256(definition).hexdigest() == T2_SHA256


def test_t2_by_default_asks_for_linux() -> None:
    definition = generate((VECTORS / "T2.Containerfile").read_text()).definition
    image_op = ops_pb2.Op()
    image_op.ParseFromString(getattr(ops_pb2.Definition.FromString(definition), "def")[0])
    assert (image_op.platform.OS, image_op.platform.Architecture) == ("linux", "amd64")


def test_frontend_read_definition() -> None:
    expected = (VECTORS / "frontend-read16.llb").read_bytes()
    assert hashlib.sha256(expected).hexdigest() == READ16_SHA256
    source_op = ops_pb2.Op()
    source_op.ParseFromString(getattr(ops_pb2.Definition.FromString(expected), "def")[0])
    unique = source_op.source.attrs["local.unique"]
    state = local(
        "context", include_patterns=("Containerfile",), custom_name="Internal:Read-Containerfile"
    )
    assert marshal(state, MarshalOptions(local_unique_id=unique)) == expected
