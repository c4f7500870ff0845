"""Frontend options, the BUILDKIT_* environment and the returned image config (no daemon)."""

from __future__ import annotations

import json

import pytest

from pun.diagnostics import PunError
from pun.frontend.detect import started_by_buildkit
from pun.frontend.environment import read_environment
from pun.frontend.imageconfig import exporter_config, manifest_annotations, parse_base_config
from pun.frontend.options import BuildRequest, read_request
from pun.imagespec import ImageSpec
from pun.platform import Platform

ARM64 = Platform("linux", "arm64")


@pytest.mark.parametrize(
    "environ, expected",
    [
        ({}, False),
        ({"PATH": "/bin", "BUILDKIT_HOST": "tcp://x"}, False),  # a client's variable, not ours
        ({"BUILDKIT_SESSION_ID": "s"}, True),
        ({"BUILDKIT_FRONTEND_OPT_0": "filename=Containerfile"}, True),
        ({"BUILDKIT_EXPORTEDPRODUCT": "buildkit"}, True),
    ],
)
def test_started_by_buildkit(environ: dict, expected: bool) -> None:
    assert started_by_buildkit(environ) is expected


def test_read_environment_splits_on_the_first_equals_twice() -> None:
    env = read_environment(
        {
            "BUILDKIT_FRONTEND_OPT_1": "build-arg:X=a=b",
            "BUILDKIT_FRONTEND_OPT_0": "filename=Containerfile",
            "BUILDKIT_FRONTEND_OPT_2": "no-value",
            "BUILDKIT_SESSION_ID": "sess",
            "BUILDKIT_WORKERS": json.dumps(
                [
                    {
                        "id": "w1",
                        "platforms": [
                            {"os": "linux", "architecture": "arm64"},
                            {"os": "linux", "architecture": "arm", "variant": "v7"},
                        ],
                    },
                    {"id": "w2", "platforms": None},
                ]
            ),
        }
    )
    assert env.opts == {"build-arg:X": "a=b", "filename": "Containerfile", "no-value": ""}
    assert env.session_id == "sess"
    assert env.worker_platforms == (ARM64, Platform("linux", "arm", "v7"))


def test_bad_workers_json_is_a_clear_error() -> None:
    with pytest.raises(PunError, match="BUILDKIT_WORKERS is not valid JSON"):
        read_environment({"BUILDKIT_WORKERS": "[{"})


def test_request_defaults_match_the_dockerfile_frontend() -> None:
    assert read_request({}) == BuildRequest(
        filename="Dockerfile", containerfile_locals=("dockerfile", "context")
    )


def test_request_options() -> None:
    request = read_request(
        {
            "filename": "./sub/Containerfile",
            "dockerfilekey": "defs",
            "build-arg:A": "1",
            "build-arg:B": "",
            "label:org.x": "y",
            "platform": "linux/arm64, linux/arm64",
            "source": "img",
            "cmdline": "img",
            "no-cache": "",
            "mystery": "1",
            "contextkey": "other",
        }
    )
    assert request.filename == "sub/Containerfile"
    assert request.containerfile_locals == ("defs", "context")
    assert request.build_args == {"A": "1", "B": ""}
    assert request.labels == {"org.x": "y"}
    assert request.platforms == (ARM64,)
    notes = [n.message for n in request.notes]
    assert any("'mystery'" in n for n in notes) and any("contextkey" in n for n in notes)
    assert len(notes) == 2


@pytest.mark.parametrize("filename", ["/etc/passwd", "../Containerfile", "a/../../b"])
def test_filename_must_stay_inside_the_context(filename: str) -> None:
    with pytest.raises(PunError, match="inside the build context"):
        read_request({"filename": filename})


def test_bad_platform_option() -> None:
    with pytest.raises(PunError, match="platform option"):
        read_request({"platform": "linux/"})


EMPTY_IMAGE_ENV = ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"]


def test_scratch_config_is_docker_s_empty_image_with_the_labels() -> None:
    spec = ImageSpec.from_labels({"b": "2", "a": "1"}, Platform("linux", "arm", "v7"))
    config = json.loads(exporter_config(spec, None))
    assert config == {
        "architecture": "arm",
        "os": "linux",
        "variant": "v7",
        "config": {"Env": EMPTY_IMAGE_ENV, "WorkingDir": "/", "Labels": {"a": "1", "b": "2"}},
        "rootfs": {"type": "layers", "diff_ids": []},
    }


def test_config_is_go_json() -> None:
    # Go's encoder: sorted keys, compact, HTML characters escaped.
    data = exporter_config(ImageSpec.from_labels({"k": "<a&b>"}, ARM64), None)
    assert data.startswith(b'{"architecture":"arm64","config":{"Env":["PATH=/usr/local/sbin:')
    assert b'"Labels":{"k":"\\u003ca\\u0026b\\u003e"}' in data


def test_base_config_is_inherited_but_the_platform_is_the_build_s() -> None:
    base = parse_base_config(
        json.dumps(
            {
                "architecture": "amd64",
                "os": "linux",
                "variant": "x",
                "created": "2020",
                "config": {"Entrypoint": ["/e"], "Labels": {"a": "base", "keep": "1"}},
                "rootfs": {"type": "layers", "diff_ids": ["sha256:1"]},
                "history": [{"created_by": "x"}],
                "docker_version": "1",
            }
        ).encode(),
        "img",
    )
    config = json.loads(exporter_config(ImageSpec.from_labels({"a": "mine"}, ARM64), base))
    assert config == {
        "architecture": "arm64",
        "os": "linux",
        # PATH is always set (dockerfile2llb: "make sure that PATH is always set").
        "config": {
            "Entrypoint": ["/e"],
            "Env": EMPTY_IMAGE_ENV,
            "Labels": {"a": "mine", "keep": "1"},
        },
        "rootfs": {"type": "layers", "diff_ids": ["sha256:1"]},
        "history": [{"created_by": "x"}],
    }
    assert base["config"]["Labels"] == {"a": "base", "keep": "1"}  # the input is not changed


@pytest.mark.parametrize("data", [b"not json", b"[1]", b"\xff"])
def test_unreadable_base_config(data: bytes) -> None:
    with pytest.raises(PunError, match="image config of img"):
        parse_base_config(data, "img")


def test_manifest_annotations_skip_keys_buildkit_would_ignore() -> None:
    assert manifest_annotations({"a.b": "v", "has space": "x", "": "e", "u": "é"}) == {
        "annotation-manifest.a.b": b"v",
        "annotation-manifest.u": "é".encode(),
    }
