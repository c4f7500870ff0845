"""The image config `pun build` writes over a base image: what is inherited (how the image runs,
not how the base was built), what a caller sets over it, and the layer bookkeeping."""

from __future__ import annotations

import json
from typing import Any, Dict

from pun.imagespec import ImageSpec, SetEntrypoint
from pun.oci.image import PulledImage, config_with_layers
from pun.oci.layers import Blob, Layer
from pun.platform import Platform

BASE_CONFIG: Dict[str, Any] = {
    "architecture": "amd64",
    "os": "linux",
    "config": {
        "Hostname": "3f1c2b",  # container state of the base's own build: not inherited
        "Image": "sha256:1111",
        "Env": ["PATH=/usr/bin"],
        "Entrypoint": None,  # null in the base: absent in ours
        "Cmd": ["/bin/sh"],
        "WorkingDir": "/srv",
        "Labels": {"org.example.base": "yes", "shared": "base"},
    },
    "rootfs": {"type": "layers", "diff_ids": ["sha256:aaaa"]},
    "history": [{"created_by": "base layer"}],
}

LAYER = Layer(
    Blob("sha256:bbbb", 10, "application/vnd.oci.image.layer.v1.tar+gzip", "/x"),
    "sha256:cccc",
    "COPY app /app",
)


def config_over_base(spec: ImageSpec) -> Dict[str, Any]:
    base = PulledImage("example/base:1", "sha256:9999", json.dumps(BASE_CONFIG).encode(), ())
    value: Dict[str, Any] = json.loads(config_with_layers(base, [LAYER], spec, 0))
    return value


LABELS = ImageSpec.from_labels({"shared": "ours", "k": "v"})


def test_only_the_run_settings_of_the_base_are_inherited() -> None:
    config = config_over_base(LABELS)
    assert config["config"] == {
        "Env": ["PATH=/usr/bin"],
        "Cmd": ["/bin/sh"],
        "WorkingDir": "/srv",
        "Labels": {"org.example.base": "yes", "shared": "ours", "k": "v"},
    }
    assert config["rootfs"] == {"type": "layers", "diff_ids": ["sha256:aaaa", "sha256:cccc"]}
    assert [h["created_by"] for h in config["history"]] == ["base layer", "COPY app /app"]


def test_entrypoint_goes_over_the_base_and_drops_its_cmd() -> None:
    # dockerfile2llb dispatchEntrypoint: an inherited Cmd does not survive a new ENTRYPOINT.
    spec = LABELS._replace(steps=LABELS.steps + (SetEntrypoint(("/app",), False, 3),))
    config = config_over_base(spec)
    assert config["config"]["Entrypoint"] == ["/app"]
    assert config["config"]["WorkingDir"] == "/srv"
    assert "Cmd" not in config["config"] and "Hostname" not in config["config"]


def test_without_a_base_an_empty_image_as_docker_makes_it() -> None:
    spec = ImageSpec(Platform("linux", "arm64"), None, (SetEntrypoint(("/app",), False, 2),))
    config = json.loads(config_with_layers(None, [LAYER], spec, 0))
    assert config["config"] == {
        "Env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],
        "WorkingDir": "/",
        "Entrypoint": ["/app"],  # no ArgsEscaped: only CMD sets it (see test_imagespec)
    }
    assert (config["os"], config["architecture"]) == ("linux", "arm64")
    assert config["created"] == "1970-01-01T00:00:00Z"
