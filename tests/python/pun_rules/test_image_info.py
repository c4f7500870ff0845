"""NAME.image.json (pun_rules.image_info): one versioned shape for every image target."""

from __future__ import annotations

import json

import pytest

from pun_rules.image_info import ImageInfo

INFO = ImageInfo(
    kind="unikernel_image",
    address="uk:img",
    archive="uk/img.oci.tar",
    digest="sha256:" + "1" * 64,
    config_digest="sha256:" + "2" * 64,
    names=("reg.example/uk/img:1.0", "reg.example/uk/img:latest", "mirror.example/img:1.0"),
    labels={"com.urunc.unikernel.hypervisor": "hvt"},
    annotations={"com.urunc.unikernel.hypervisor": "hvt"},
    platform="linux/amd64",
    output="oci",
    pants_hash="3" * 64,
)


def test_the_file_is_sorted_indented_json_with_a_version() -> None:
    text = INFO.to_bytes().decode()
    value = json.loads(text)
    assert text == json.dumps(value, indent=2, sort_keys=True) + "\n"
    assert value["version"] == 1
    assert sorted(value) == [
        "address",
        "annotations",
        "archive",
        "config_digest",
        "details",
        "digest",
        "kind",
        "labels",
        "names",
        "output",
        "pants_hash",
        "platform",
        "platforms",
        "tags",
        "version",
    ]
    assert value["tags"] == ["1.0", "latest"]  # each tag once, sorted


def test_it_reads_back_and_refuses_another_version() -> None:
    value = json.loads(INFO.to_bytes())
    assert ImageInfo.from_json(value) == INFO
    with pytest.raises(ValueError, match="version 2"):
        ImageInfo.from_json({**value, "version": 2})
    with pytest.raises(ValueError, match="not a NAME.image.json"):
        ImageInfo.from_json({"version": 1})
