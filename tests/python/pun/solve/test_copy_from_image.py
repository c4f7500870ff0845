"""`COPY --from=<image>`: files out of another image, judged by BuildKit's own Dockerfile frontend
(a real buildkitd v0.32), by Docker Engine, and by a real BuildKit solving pun's LLB, against
`pun build --builder embedded`. The source image is a hand-made two-platform OCI layout
(written here with tarfile, not with pun's image code) pushed to a local registry: owners other
than root, a symlink source, links inside a copied directory, a whiteout in its second layer,
and per-platform file contents (so a wrong platform choice shows).
"""

from __future__ import annotations

import hashlib
import io
import tarfile
from pathlib import Path
from typing import Any, Dict, Iterator, List, NamedTuple, Optional, Tuple

import pytest

from pun.api import GenerateOptions, generate
from pun.diagnostics import PunError
from pun_testing.building import pun_build
from pun_testing.images import image_manifest, index_layout, new_layout
from pun_testing.registry import push_layout, start_registry, stop_registry
from pun_testing.rootfs import umoci_rootfs
from pun_testing.trees import (
    buildkit_dockerfile,
    buildkit_llb,
    differences,
    docker_build,
    tree,
    tree_of_tar,
    write_context,
)

# (name, data or link target, mode, uid, gid, kind) in tar order.
Member = Tuple[str, bytes, int, int, int, str]


def _layer(members: List[Member]) -> bytes:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for name, data, mode, uid, gid, kind in members:
            info = tarfile.TarInfo(name)
            info.mode, info.uid, info.gid, info.mtime = mode, uid, gid, 1600000000
            if kind == "dir":
                info.type = tarfile.DIRTYPE
                tar.addfile(info)
            elif kind == "link":
                info.type, info.linkname = tarfile.SYMTYPE, data.decode()
                tar.addfile(info)
            else:
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))
    return out.getvalue()


def _image(layout: Path, arch: str) -> Dict[str, Any]:
    first = _layer(
        [
            ("etc/", b"", 0o755, 0, 0, "dir"),
            (
                "etc/passwd",
                b"root:x:0:0::/root:/bin/sh\napp:x:1234:5678::/:/bin/sh\n",
                0o644,
                0,
                0,
                "file",
            ),
            ("etc/group", b"root:x:0:\napp:x:5678:\n", 0o644, 0, 0, "file"),
            ("opt/", b"", 0o755, 0, 0, "dir"),
            ("opt/tool/", b"", 0o750, 1234, 5678, "dir"),
            ("opt/tool/bin", f"bin-{arch}".encode(), 0o755, 1234, 5678, "file"),
            ("opt/tool/conf", b"secret", 0o600, 0, 5678, "file"),
            ("opt/tool/link", b"bin", 0o777, 1234, 5678, "link"),
            ("opt/tool/abs", b"/etc/passwd", 0o777, 0, 0, "link"),
            ("opt/tool/gone", b"removed by the next layer", 0o644, 0, 0, "file"),
            ("opt/tool/share/", b"", 0o2775, 1234, 5678, "dir"),
            ("opt/tool/share/doc.txt", b"doc", 0o444, 1234, 5678, "file"),
            ("lib/", b"", 0o755, 0, 0, "dir"),
            ("lib/libx.so.1", f"lib-{arch}".encode(), 0o644, 0, 0, "file"),
            ("lib/libx.so", b"libx.so.1", 0o777, 0, 0, "link"),
        ]
    )
    second = _layer(
        [
            ("opt/tool/", b"", 0o750, 1234, 5678, "dir"),
            ("opt/tool/.wh.gone", b"", 0o644, 0, 0, "file"),
            ("opt/tool/new", b"added later", 0o640, 7, 8, "file"),
        ]
    )
    body = {"Env": ["PATH=/bin"], "WorkingDir": "/opt"}
    return image_manifest(layout, arch, (first, second), body, ("layer 1", "layer 2"))


def source_layout(layout: Path) -> Tuple[Path, str]:
    """The layout and the digest of its index (what `name@sha256:…` pins)."""
    new_layout(layout)
    manifests = [_image(layout, "arm64"), _image(layout, "amd64")]
    return layout, index_layout(layout, manifests, "1.0")


class Image(NamedTuple):
    ref: str  # 127.0.0.1:PORT/tools/src:1.0
    pinned: str  # 127.0.0.1:PORT/tools/src@sha256:…


@pytest.fixture(scope="module")
def source_image(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Image]:
    work = tmp_path_factory.mktemp("copy-from")
    registry, process = start_registry(work / "registry")
    try:
        layout, digest = source_layout(work / "layout")
        push_layout(layout, f"{registry.host}/tools/src:1.0")
        yield Image(f"{registry.host}/tools/src:1.0", f"{registry.host}/tools/src@{digest}")
    finally:
        stop_registry(process)


class Case(NamedTuple):
    containerfile: str  # {img} / {pinned}: the source image
    files: Dict[str, Optional[str]] = {}
    # Why Docker Engine 20.10's older BuildKit gives another tree (None: it agrees).
    docker_differs: Optional[str] = None


CASES: Dict[str, Case] = {
    "a-directory-keeps-owners-modes-links-and-the-whiteout": Case(
        "FROM scratch\nCOPY --from={img} /opt/tool /tool\n"
    ),
    "several-sources-into-a-directory": Case(
        "FROM scratch\nCOPY --from={img} /opt/tool/bin /opt/tool/conf /x/\n"
    ),
    "a-symlink-source-is-followed-inside-the-image": Case(
        "FROM scratch\nCOPY --from={img} /lib/libx.so /lib/\nCOPY --from={img} opt/tool/abs /a\n"
    ),
    "wildcards-expand-over-the-image": Case(
        "FROM scratch\nCOPY --from={img} /opt/tool/* /w/\nCOPY --from={img} /lib/*.none /n/\n"
    ),
    "chmod-and-chown-by-id": Case(
        "FROM scratch\nCOPY --from={img} --chmod=700 --chown=1:2 /opt/tool /c/\n",
        docker_differs="Docker 20.10 leaves --chmod off the parents a COPY creates and keeps "
        "a copied directory's setgid bit under --chmod (the context oracles pin the same)",
    ),
    "digest-pinned-reference": Case("FROM scratch\nCOPY --from={pinned} /opt/tool/bin /pinned\n"),
    "mixed-with-context-copies-and-workdir": Case(
        "FROM scratch\nCOPY a.txt /ctx/\nWORKDIR /app\nCOPY --from={img} /opt/tool/share share\n"
        "COPY --from={img} /lib/libx.so.1 .\n",
        {"a.txt": "a"},
    ),
    "from-the-same-image-with-chown-by-name": Case(
        "FROM {img}\nCOPY --from={img} --chown=app /lib/libx.so.1 /srv/lib\n"
    ),
}


def make(tmp_path: Path, case: Case, image: Image) -> Path:
    context = write_context(tmp_path / "ctx", {"Containerfile": "", **case.files})
    text = case.containerfile.format(img=image.ref, pinned=image.pinned)
    (context / "Containerfile").write_text(text)
    return context


def embedded(tmp_path: Path, context: Path) -> Path:
    dest = tmp_path / "pun"
    result = pun_build(
        ["--context", str(context), "--output", f"type=local,dest={dest}", "--progress=quiet"],
        tmp_path / "cache",
    )
    assert result.code == 0, result.err
    return dest


def assert_same(oracle_tar: Path, ours: Path) -> None:
    skip = ("urunc.json", "Containerfile")
    expected = tree_of_tar(oracle_tar, skip)
    actual = tree_of_tar(ours, skip) if ours.is_file() else tree(ours, skip)
    assert actual == expected, differences(expected, actual)


@pytest.mark.parametrize("name", sorted(CASES))
def test_embedded_builder_matches_buildkits_dockerfile_frontend(
    name: str, tmp_path: Path, source_image: Image
) -> None:
    context = make(tmp_path, CASES[name], source_image)
    oracle = tmp_path / "buildkit.tar"
    buildkit_dockerfile(context, oracle)
    assert_same(oracle, embedded(tmp_path, context))


@pytest.mark.parametrize("name", sorted(CASES))
def test_puns_llb_through_buildkit_matches_its_dockerfile_frontend(
    name: str, tmp_path: Path, source_image: Image
) -> None:
    context = make(tmp_path, CASES[name], source_image)
    path = context / "Containerfile"
    oracle, ours = tmp_path / "frontend.tar", tmp_path / "llb.tar"
    buildkit_dockerfile(context, oracle)
    buildkit_llb(
        generate(path.read_text(), GenerateOptions(path=str(path))).definition, context, ours
    )
    assert_same(oracle, ours)


@pytest.mark.parametrize("name", sorted(CASES))
def test_embedded_builder_against_docker_engine(
    name: str, tmp_path: Path, source_image: Image
) -> None:
    case = CASES[name]
    context = make(tmp_path, case, source_image)
    oracle = tmp_path / "docker.tar"
    docker_build(context, oracle)
    ours = embedded(tmp_path, context)
    if case.docker_differs is None:
        assert_same(oracle, ours)
    else:
        # Pinned so that a newer Engine that agrees shows up here.
        assert tree_of_tar(oracle, ("urunc.json", "Containerfile")) != tree(
            ours, ("urunc.json", "Containerfile")
        ), f"Docker now agrees: {case.docker_differs}"


def test_the_copied_files_are_the_target_platforms(tmp_path: Path, source_image: Image) -> None:
    # Stated fact: the layout's arm64 image holds `bin-arm64`, the amd64 one `bin-amd64`.
    context = make(
        tmp_path, Case("FROM scratch\nCOPY --from={img} /opt/tool/bin /b\n"), source_image
    )
    for platform, expected in (("linux/amd64", b"bin-amd64"), ("linux/arm64", b"bin-arm64")):
        dest = tmp_path / platform.replace("/", "-")
        result = pun_build(
            [
                "--context",
                str(context),
                "--platform",
                platform,
                "--progress=quiet",
                "--output",
                f"type=local,dest={dest}",
            ],
            tmp_path / "cache",
        )
        assert result.code == 0, result.err
        assert (dest / "b").read_bytes() == expected


def test_the_llb_names_the_image_as_a_second_source(source_image: Image) -> None:
    text = f"FROM scratch\nCOPY --from={source_image.pinned} /opt/tool/bin /b\nCOPY f /f\n"
    from pun.llb.pb import ops_pb2

    definition = ops_pb2.Definition()
    definition.ParseFromString(generate(text).definition)
    ops = []
    for data in getattr(definition, "def"):
        op = ops_pb2.Op()
        op.ParseFromString(data)
        ops.append(op)
    sources = [op.source for op in ops if op.WhichOneof("op") == "source"]
    assert [s.identifier for s in sources] == [
        f"docker-image://{source_image.pinned}",
        "local://context",
    ]
    # The context's followpaths hold only what COPY reads from the context (convert.go ctxPaths).
    assert dict(sources[1].attrs)["local.followpaths"] == '["f"]'


@pytest.mark.parametrize(
    "line, message",
    [
        ("COPY --from=0 /a /b", "names a build stage"),
        ("COPY --from=me /a /b", "names a build stage"),
        ("COPY --from=$IMG /a /b", "variable expansion is not supported for --from"),
        ("COPY --from=scratch /a /b", "has no files to copy"),
        ("COPY --from=Bad:Ref /a /b", "COPY --from 'Bad:Ref'"),
        ("ADD --from=alpine /a /b", "ADD --from is not a Dockerfile flag"),
    ],
)
def test_what_pun_cannot_copy_from_is_one_error_naming_the_line(line: str, message: str) -> None:
    with pytest.raises(PunError) as caught:
        generate(f"ARG IMG=alpine\nFROM scratch AS me\n{line}\n")
    (diagnostic,) = caught.value.diagnostics
    assert diagnostic.line == 3 and message in diagnostic.message, diagnostic


def test_compat_pun_keeps_refusing_copy_from() -> None:
    with pytest.raises(PunError) as caught:
        generate("FROM scratch\nCOPY --from=alpine /a /b\n", GenerateOptions(compat="pun"))
    assert caught.value.diagnostics[0].line == 2


def test_a_missing_source_is_one_error_naming_the_image(
    tmp_path: Path, source_image: Image
) -> None:
    context = make(tmp_path, Case("FROM scratch\nCOPY --from={img} /nope /n\n"), source_image)
    result = pun_build(
        ["--context", str(context), "--output", f"type=local,dest={tmp_path / 'out'}"],
        tmp_path / "cache",
    )
    assert result.code == 1 and not (tmp_path / "out").exists()
    assert f"Containerfile:2: error: COPY source /nope not found in image {source_image.ref}" in (
        result.err
    ), result.err
    assert "Traceback" not in result.err


def test_the_buildctl_builder_makes_the_same_image(tmp_path: Path, source_image: Image) -> None:
    from pun_testing.buildkit import require_buildkit

    kit = require_buildkit()
    case = Case("FROM {img}\nCOPY --from={img} /opt/tool /copied/\nCOPY a.txt /a\n", {"a.txt": "a"})
    context = make(tmp_path, case, source_image)
    roots = []
    for builder in ("embedded", "buildctl"):
        archive = tmp_path / f"{builder}.oci.tar"
        result = pun_build(
            [
                "--context",
                str(context),
                "--builder",
                builder,
                "--buildctl",
                kit.buildctl,
                "--buildkit-addr",
                kit.host,
                "--progress=quiet",
                "--output",
                f"type=oci,dest={archive}",
            ],
            tmp_path / "cache",
        )
        assert result.code == 0, result.err
        roots.append(
            tree(umoci_rootfs(archive, tmp_path / builder), ("urunc.json", "Containerfile"))
        )
    assert roots[0] == roots[1], differences(roots[0], roots[1])
    assert (
        "copied/bin",
        "file",
        "0755",
        1234,
        5678,
        hashlib.sha256(b"bin-amd64").hexdigest()[:16],
    ) in roots[0]
