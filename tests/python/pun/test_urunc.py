"""urunc.json bytes (facts sheet §2.8, verified against Go) and the annotation schema."""

from __future__ import annotations

import base64
import json

import pytest

from pun.gojson import go_json_dumps, go_json_string_map
from pun.urunc import LabelSite, urunc_json, validate

GOOD = {
    "com.urunc.unikernel.binary": "/unikernel/app.hvt",
    "com.urunc.unikernel.unikernelType": "rumprun",
    "com.urunc.unikernel.hypervisor": "hvt",
}


def test_urunc_json_matches_go() -> None:
    assert urunc_json({}) == b"{}"
    assert base64.b64encode(urunc_json({})) == b"e30="
    assert urunc_json({"a<b&c": "1"}) == b'{"a\\u003cb\\u0026c":"MQ=="}'
    assert urunc_json({"\u00fc": "\u00e9"}) == '{"\u00fc":"w6k="}'.encode("utf-8")
    assert urunc_json({"b": "x", "a": "y"}) == b'{"a":"eQ==","b":"eA=="}'


def findings(labels: dict, destinations: tuple = ("/unikernel/",), scratch: bool = True) -> list:
    sites = {k: LabelSite(v, i + 2) for i, (k, v) in enumerate(labels.items())}
    return [f.message for f in validate(sites, destinations, scratch, "Containerfile", 1)]


def test_a_good_image_passes() -> None:
    assert findings(GOOD) == []
    assert findings(GOOD, ("/unikernel/app.hvt",)) == []


@pytest.mark.parametrize(
    "change, expected",
    [
        (
            {"com.urunc.unikernel.hypervisor": None},
            "required label com.urunc.unikernel.hypervisor is missing",
        ),
        ({"com.urunc.unikernel.unikernelType": "osv"}, "unknown unikernelType 'osv'"),
        ({"com.urunc.unikernel.hypervisor": "kvmtool"}, "unknown hypervisor 'kvmtool'"),
        (
            {"com.urunc.unikernel.hypervisor": "qemu"},
            "urunc cannot run a rumprun unikernel on qemu",
        ),
        ({"com.urunc.unikernel.binary": "/boot/app"}, "no COPY puts a file there"),
        ({"com.urunc.unikernel.binary": "unikernel/../app"}, "not a clean path"),
        ({"com.urunc.unikernel.initrd": "/initrd img"}, "characters urunc rejects"),
        ({"com.urunc.unikernel.mountRootfs": "yes"}, "not a boolean"),
        ({"com.urunc.unikernel.typo": "x"}, "unknown urunc label"),
    ],
)
def test_findings(change: dict, expected: str) -> None:
    labels = {**GOOD, **change}
    labels = {k: v for k, v in labels.items() if v is not None}
    messages = findings(labels)
    assert any(expected in m for m in messages), messages


def test_binary_may_come_from_the_base_image() -> None:
    assert findings({**GOOD, "com.urunc.unikernel.binary": "/boot/app"}, (), scratch=False) == []


def test_no_labels_at_all() -> None:
    assert any("no com.urunc.unikernel" in m for m in findings({}))


def test_json_is_valid_and_round_trips() -> None:
    labels = {"k": "v a l", "com.urunc.unikernel.cmdline": "redis-server /data/conf/redis.conf"}
    decoded = {k: base64.b64decode(v).decode() for k, v in json.loads(urunc_json(labels)).items()}
    assert decoded == labels


@pytest.mark.parametrize(
    "labels",
    [
        {},
        {"a": "b"},
        {"z": "1", "a<b": "é\u2028", 'q"': "\\\n\t\x01"},
        {"\U0001f600": "x", "ÿ": "y"},
    ],
)
def test_string_map_fast_path_equals_the_json_module(labels: dict) -> None:
    # go_json_string_map skips the json package for start-up time; it must not change a byte.
    assert go_json_string_map(labels) == go_json_dumps(labels)


@pytest.mark.parametrize(
    "values",
    [[], ["a"], ["b", "a", "a"], ["<x&y>", "\u2028", "é", 'q"\\', "\x00\x1f"], ["**/*.md", "!x"]],
)
def test_string_list_fast_path_equals_the_json_module(values: list) -> None:
    # go_json_string_list (local.followpaths / excludepatterns) skips the json package too;
    # order is kept, as Go marshals a slice.
    from pun.gojson import go_json_string_list

    assert go_json_string_list(values) == go_json_dumps(values)
