"""End to end: the frontend image in a registry, `docker build` with `#syntax=`, a real daemon.

Docker Engine 20.10 (its built-in BuildKit) pulls the pun image named on the Containerfile's
first line from a Debian docker-registry on 127.0.0.1, runs it as a gateway frontend and
exports the result into its image store. The image is then judged with skopeo + umoci
(root filesystem) and `docker image inspect` (config), and compared with what
`pun build --builder embedded` makes of the same Containerfile.

Needs: a Docker Engine at $DOCKER_HOST, docker-registry, skopeo, umoci, and the frontend image
archive: `./pants package //:pun-frontend`, which Pants runs for this test (BUILD).
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Dict, Iterator, List, Tuple

import pytest

from pun_testing.building import pun_build
from pun_testing.docker_engine import DockerEngine, docker_engine, push_archive, unique_tag
from pun_testing.frontend_image import frontend_archive
from pun_testing.images import config_layout, multiarch_layout
from pun_testing.registry import Registry, push_layout, start_registry, stop_registry
from pun_testing.rootfs import listing, writable_copy
from pun_testing.shared import CASES
from pun_testing.tools import require

# Fixture cases with a recorded root filesystem, plus one whose ignored instructions must not
# stop the build (it packs the same files as scratch-single).
CASES_WITH_ROOTFS = [
    "scratch-single",
    "copy-into-dir",
    "label-forms",
    "syntax-directive",
    "rumprun-redis",
]
EXPECTED_ROOTFS = {
    **{c: c for c in CASES_WITH_ROOTFS},
    "unsupported-instructions": "scratch-single",
}


@pytest.fixture(scope="module")
def engine() -> DockerEngine:
    return docker_engine()


@pytest.fixture(scope="module")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Registry]:
    registry, process = start_registry(tmp_path_factory.mktemp("registry"))
    try:
        yield registry
    finally:
        stop_registry(process)


@pytest.fixture(scope="module")
def frontend(registry: Registry) -> str:
    """The frontend image, pushed under a tag no daemon has resolved before."""
    require("skopeo")
    reference = f"{registry.host}/pun:{unique_tag('frontend')}"
    push_archive(frontend_archive(), reference)
    return reference


@pytest.fixture(scope="module")
def built(
    engine: DockerEngine, frontend: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Dict[str, Tuple[str, Path]]]:
    """Each case built once through the frontend: case -> (image tag, its unpacked rootfs)."""
    results: Dict[str, Tuple[str, Path]] = {}
    tags: List[str] = []
    for case in EXPECTED_ROOTFS:
        workdir = tmp_path_factory.mktemp(case)
        context = with_syntax_line(case, workdir / "context", frontend)
        tag = f"pun-e2e/{case}:{unique_tag()}"
        tags.append(tag)
        result = engine.build(context, "Containerfile", tag)
        assert result.code == 0, result.output
        (workdir / "docker-build.log").write_text(result.output)
        results[case] = (tag, engine.rootfs(tag, workdir))
    yield results
    for tag in tags:
        engine.remove_image(tag)


def with_syntax_line(case: str, context: Path, frontend: str) -> Path:
    """A writable copy of a fixture case whose first line names our frontend."""
    writable_copy(CASES / case, context)
    containerfile = context / "Containerfile"
    lines = [
        line
        for line in containerfile.read_text().splitlines(keepends=True)
        if not line.lower().startswith(("#syntax=", "# syntax="))
    ]
    containerfile.write_text(f"#syntax={frontend}\n" + "".join(lines))
    shutil.rmtree(context / "expected", ignore_errors=True)
    return context


def expected_labels(case: str) -> Dict[str, str]:
    decoded: Dict[str, str] = json.loads((CASES / case / "expected" / "urunc.json").read_text())
    return decoded


@pytest.mark.parametrize("case", list(EXPECTED_ROOTFS))
def test_docker_build_makes_the_recorded_rootfs(
    built: Dict[str, Tuple[str, Path]], case: str
) -> None:
    _, rootfs = built[case]
    expected = (CASES / EXPECTED_ROOTFS[case] / "expected" / "rootfs.txt").read_text()
    assert listing(rootfs) == expected.splitlines()


@pytest.mark.parametrize("case", list(EXPECTED_ROOTFS))
def test_labels_reach_the_image_config_and_urunc_json(
    engine: DockerEngine, built: Dict[str, Tuple[str, Path]], case: str
) -> None:
    tag, rootfs = built[case]
    labels = expected_labels(EXPECTED_ROOTFS[case])
    image = engine.inspect(tag)
    assert (image["Config"]["Labels"] or {}) == labels
    assert (image["Os"], image["Architecture"]) == ("linux", "amd64")
    # Nothing of the original's hard-coded config; a cmdline label gives urunc >= 0.7 its
    # arguments as Cmd (the urunc bridge: split on single spaces, as bunny does).
    # An exec-form CMD in the Containerfile is the Cmd, as written.
    cmdline = labels.get("com.urunc.unikernel.cmdline")
    text = (CASES / case / "Containerfile").read_text()
    written = [json.loads(line[4:]) for line in text.splitlines() if line.startswith("CMD [")]
    expected_cmd = written[-1] if written else (cmdline.split(" ") if cmdline else None)
    assert image["Config"]["Entrypoint"] is None
    assert image["Config"]["Cmd"] == expected_cmd
    urunc = json.loads((rootfs / "urunc.json").read_bytes())
    assert {k: base64.b64decode(v).decode() for k, v in urunc.items()} == labels


def test_ignored_instructions_are_shown_in_docker_build_output(
    built: Dict[str, Tuple[str, Path]]
) -> None:
    """Docker 20.10 has no Warn call: each warning is a named step in the progress output."""
    _, rootfs = built["unsupported-instructions"]
    output = (rootfs.parent / "docker-build.log").read_text()
    lines = (CASES / "unsupported-instructions" / "Containerfile").read_text().splitlines()
    for keyword in ("ENV", "RUN", "EXPOSE", "CMD"):
        # +1: the #syntax line this test puts first.
        number = next(i for i, text in enumerate(lines, 1) if text.startswith(keyword)) + 1
        shown = f"[pun] Containerfile:{number}: warning: {keyword} " in output
        # Only RUN is ignored; ENV, EXPOSE and exec-form CMD go into the image config.
        assert shown == (keyword == "RUN"), output


@pytest.mark.parametrize("case", list(EXPECTED_ROOTFS))
def test_same_rootfs_as_the_embedded_builder(
    built: Dict[str, Tuple[str, Path]], case: str, tmp_path: Path
) -> None:
    """`pun build --builder embedded` (the core's LLB, solved in-process) agrees with BuildKit."""
    _, docker_rootfs = built[case]
    context = writable_copy(CASES / case, tmp_path / "context")
    shutil.rmtree(context / "expected", ignore_errors=True)
    out = tmp_path / "out"
    run = pun_build(
        [
            "--builder",
            "embedded",
            "-f",
            str(context / "Containerfile"),
            "--context",
            str(context),
            "--output",
            f"type=local,dest={out}",
        ],
        tmp_path / "cache",
    )
    assert run.code == 0, run.err
    assert listing(out) == listing(docker_rootfs)


def test_an_error_reaches_docker_build_output(
    engine: DockerEngine, frontend: str, tmp_path: Path
) -> None:
    context = with_syntax_line("err-multistage", tmp_path / "context", frontend)
    second_from = [
        n
        for n, line in enumerate((context / "Containerfile").read_text().splitlines(), 1)
        if line.startswith("FROM")
    ][1]
    result = engine.build(context, "Containerfile", f"pun-e2e/err:{unique_tag()}")
    assert result.code != 0
    assert (
        f"Containerfile:{second_from}: error: multi-stage builds are not supported" in result.output
    ), result.output


def test_base_image_config_is_inherited(
    engine: DockerEngine, registry: Registry, frontend: str, tmp_path: Path
) -> None:
    base = f"{registry.host}/unikernels/base:{unique_tag()}"
    layout = multiarch_layout(tmp_path / "layout")
    skopeo = require("skopeo")
    copied = subprocess.run(
        [
            skopeo,
            "copy",
            "--quiet",
            "--all",
            "--dest-tls-verify=false",
            f"oci:{layout}:1.0",
            f"docker://{base}",
        ],
        capture_output=True,
        timeout=120,
        check=False,
    )
    assert copied.returncode == 0, copied.stderr
    context = tmp_path / "context"
    context.mkdir()
    (context / "app.hvt").write_bytes(b"\x7fELF unikernel")
    (context / "Containerfile").write_text(
        f"#syntax={frontend}\nFROM {base}\nCOPY app.hvt /unikernel/app.hvt\n"
        "LABEL com.urunc.unikernel.binary=/unikernel/app.hvt\n"
        "LABEL com.urunc.unikernel.unikernelType=rumprun com.urunc.unikernel.hypervisor=hvt\n"
    )
    tag = f"pun-e2e/base:{unique_tag()}"
    result = engine.build(context, "Containerfile", tag, "--label", "org.example.from=cli")
    assert result.code == 0, result.output
    try:
        config = engine.inspect(tag)["Config"]
        base_config = json.loads(
            subprocess.run(
                [skopeo, "inspect", "--config", "--tls-verify=false", f"docker://{base}"],
                capture_output=True,
                timeout=60,
                check=True,
            ).stdout
        )["config"]
        for key in ("Env", "Cmd", "Entrypoint", "WorkingDir"):
            assert config[key] == base_config[key], key
        assert config["Labels"] == {
            **base_config["Labels"],
            "com.urunc.unikernel.binary": "/unikernel/app.hvt",
            "com.urunc.unikernel.unikernelType": "rumprun",
            "com.urunc.unikernel.hypervisor": "hvt",
            "org.example.from": "cli",
        }
        rootfs = engine.rootfs(tag, tmp_path / "judge")
        assert (rootfs / "unikernel" / "app.hvt").read_bytes() == b"\x7fELF unikernel"
        assert (rootfs / "etc" / "passwd").is_file()  # the base image's files are there too
    finally:
        engine.remove_image(tag)


def test_containerfile_outside_the_context_with_build_args_and_platform(
    engine: DockerEngine, frontend: str, tmp_path: Path
) -> None:
    """docker build -f elsewhere: read from the `dockerfile` local; ARG and --platform honoured."""
    context, definitions = tmp_path / "context", tmp_path / "definitions"
    context.mkdir()
    definitions.mkdir()
    (context / "arm.hvt").write_bytes(b"arm64 unikernel")
    (context / "x86.hvt").write_bytes(b"amd64 unikernel")
    (definitions / "Pack.containerfile").write_text(
        f"#syntax={frontend}\nARG KERNEL=x86.hvt\nFROM scratch\nARG KERNEL\n"
        "COPY $KERNEL /unikernel/app.hvt\nLABEL com.urunc.unikernel.binary=/unikernel/app.hvt\n"
    )
    tag = f"pun-e2e/args:{unique_tag()}"
    result = engine.run(
        "build",
        "--progress=plain",
        "-f",
        str(definitions / "Pack.containerfile"),
        "--platform",
        "linux/arm64",
        "--build-arg",
        "KERNEL=arm.hvt",
        "-t",
        tag,
        str(context),
        check=False,
    )
    assert result.code == 0, result.output
    try:
        image = engine.inspect(tag)
        assert (image["Os"], image["Architecture"]) == ("linux", "arm64")
        rootfs = engine.rootfs(tag, tmp_path / "judge")
        assert (rootfs / "unikernel" / "app.hvt").read_bytes() == b"arm64 unikernel"
    finally:
        engine.remove_image(tag)


# COPY forms beyond the fixtures, each solved twice: by Docker Engine's BuildKit (through the
# frontend) and by the embedded builder. Not here: `--chmod` onto directories the copy creates
# (their mode is BuildKit-version specific: 0755 in Docker 20.10's, the chmod mode in current
# fsutil, which the embedded builder follows).
COPY_FORMS = {
    "file-into-new-dir": "COPY a.txt /opt/",
    "file-renamed": "COPY a.txt /opt/renamed",
    "several-files": "COPY a.txt b.txt /opt/",
    "dir-to-new-path": "COPY dir /opt/dir",
    "dir-contents-slash": "COPY dir/ /opt/",
    "dir-onto-existing-dir": "COPY a.txt /opt/\nCOPY dir /opt",
    "wildcard-star": "COPY *.txt /w/",
    "wildcard-question": "COPY ?.txt /w/",
    "wildcard-class": "COPY [ab].txt /w/",
    "whole-context": "COPY . /all",
    "symlink-itself": "COPY link /l/",
    "symlink-in-dir": "COPY dir/link2 /l2",
    "chmod-file-existing-parent": "COPY --chmod=700 a.txt /a",
    "chown-file": "COPY --chown=1000:1000 a.txt /o/a",
    "chown-dir": "COPY --chown=12:34 dir /o/d/",
    "arg-in-dest": "ARG D=/argdir\nCOPY a.txt ${D}/",
    "json-with-space": 'COPY ["sp ace.txt", "/j/"]',
    "executable-kept": "COPY exec.sh /bin/",
    "deep-new-parents": "COPY a.txt /deep/er/est/",
    "file-overwritten": "COPY a.txt /f\nCOPY b.txt /f",
    "dir-then-its-contents": "COPY dir/sub /s\nCOPY dir/sub/ /s/",
    "relative-dest": "WORKDIR /wd\nCOPY a.txt rel/",
    "dir-contents-to-root": "COPY dir/ /",
}


def copy_forms_context(root: Path) -> Path:
    """Files, a nested directory, an executable, symlinks and a name with a space."""
    (root / "dir" / "sub").mkdir(parents=True)
    for name, text in {
        "a.txt": "a\n",
        "b.txt": "b\n",
        "dir/x": "x\n",
        "dir/sub/y": "y\n",
        "sp ace.txt": "s\n",
        "exec.sh": "#!/bin/sh\n",
    }.items():
        (root / name).write_text(text)
        (root / name).chmod(0o755 if name == "exec.sh" else 0o644)
    (root / "link").symlink_to("a.txt")
    (root / "dir" / "link2").symlink_to("x")
    for directory in (root, root / "dir", root / "dir" / "sub"):
        directory.chmod(0o755)
    return root


@pytest.mark.parametrize("form", list(COPY_FORMS))
def test_copy_forms_agree_with_buildkit(
    engine: DockerEngine, frontend: str, form: str, tmp_path: Path
) -> None:
    context = copy_forms_context(tmp_path / "context")
    body = (
        f"FROM scratch\n{COPY_FORMS[form]}\n"
        "LABEL com.urunc.unikernel.binary=/a com.urunc.unikernel.unikernelType=rumprun "
        "com.urunc.unikernel.hypervisor=hvt\n"
    )
    (tmp_path / "Containerfile").write_text(f"#syntax={frontend}\n{body}")
    (tmp_path / "Plain").write_text(body)
    tag = f"pun-e2e/copy-{form}:{unique_tag()}"
    result = engine.build(context, str(tmp_path / "Containerfile"), tag)
    assert result.code == 0, result.output
    try:
        docker_rootfs = engine.rootfs(tag, tmp_path / "judge")
    finally:
        engine.remove_image(tag)
    out = tmp_path / "embedded"
    run = pun_build(
        [
            "-f",
            str(tmp_path / "Plain"),
            "--context",
            str(context),
            "--output",
            f"type=local,dest={out}",
        ],
        tmp_path / "cache",
    )
    assert run.code == 0, run.err
    assert listing(out) == listing(docker_rootfs)
    if os.geteuid() == 0:  # unpacked as root, both trees keep their owners
        assert owners(out) == owners(docker_rootfs)


def owners(root: Path) -> Dict[str, Tuple[int, int]]:
    found = {}
    for path in root.rglob("*"):
        info = os.lstat(path)
        found[str(path.relative_to(root))] = (info.st_uid, info.st_gid)
    return found


@pytest.mark.parametrize("ignore_file", [".dockerignore", "Containerfile.dockerignore"])
def test_the_ignore_file_applies_through_the_frontend(
    engine: DockerEngine, frontend: str, ignore_file: str, tmp_path: Path
) -> None:
    """The frontend reads the ignore file through the daemon (context root, or beside the
    Containerfile) and the context loses what it lists, as with the embedded builder."""
    context = copy_forms_context(tmp_path / "context")
    patterns = "*.txt\n!a.txt\ndir/sub\n"
    if ignore_file == ".dockerignore":
        (context / ".dockerignore").write_text(patterns)
    else:
        (context / ".dockerignore").write_text("a.txt\n")  # loses to the one beside the file
        (tmp_path / "Containerfile.dockerignore").write_text(patterns)
        (tmp_path / "Plain.dockerignore").write_text(patterns)
    body = "FROM scratch\nCOPY . /all/\n"
    (tmp_path / "Containerfile").write_text(f"#syntax={frontend}\n{body}")
    (tmp_path / "Plain").write_text(body)
    tag = f"pun-e2e/ignore:{unique_tag()}"
    result = engine.build(context, str(tmp_path / "Containerfile"), tag)
    assert result.code == 0, result.output
    try:
        docker_rootfs = engine.rootfs(tag, tmp_path / "judge")
    finally:
        engine.remove_image(tag)
    out = tmp_path / "embedded"
    run = pun_build(
        [
            "-f",
            str(tmp_path / "Plain"),
            "--context",
            str(context),
            "--output",
            f"type=local,dest={out}",
        ],
        tmp_path / "cache",
    )
    assert run.code == 0, run.err
    assert listing(out) == listing(docker_rootfs)
    kept = {line.split(" ")[0] for line in listing(out)}
    assert "./all/a.txt" in kept and "./all/b.txt" not in kept and "./all/dir/sub/" not in kept


def test_the_base_config_shapes_the_plan_as_dockers_own_frontend(
    engine: DockerEngine, registry: Registry, frontend: str, tmp_path: Path
) -> None:
    # The oracle is the same `docker build` without the #syntax line (Docker's own frontend):
    # $PATH from the base's Env, WORKDIR on its WorkingDir and owned by its User, COPY below.
    base = f"{registry.host}/unikernels/config-base:{unique_tag()}"
    body = {"Env": ["PATH=/basebin", "BASE=one"], "WorkingDir": "/srv", "User": "app"}
    push_layout(config_layout(tmp_path / "layout", body), base)
    text = (
        f"FROM {base}\nENV PATH=$PATH:/x MIX=${{BASE}}-two\nLABEL seen=$BASE\n"
        "WORKDIR sub\nCOPY app.hvt rel/\n"
    )
    results = {}
    for name, first_line in (("docker", ""), ("pun", f"#syntax={frontend}\n")):
        context = tmp_path / name
        context.mkdir()
        (context / "app.hvt").write_bytes(b"\x7fELF unikernel")
        (context / "Containerfile").write_text(first_line + text)
        tag = f"pun-e2e/config-base-{name}:{unique_tag()}"
        result = engine.build(context, "Containerfile", tag)
        assert result.code == 0, result.output
        try:
            config = engine.inspect(tag)["Config"]
            rootfs = engine.rootfs(tag, tmp_path / f"judge-{name}")
            owner = os.stat(rootfs / "srv" / "sub")
            copied = (rootfs / "srv" / "sub" / "rel" / "app.hvt").read_bytes()
            results[name] = (
                {k: config.get(k) for k in ("Env", "WorkingDir", "User")},
                (config.get("Labels") or {}).get("seen"),
                (owner.st_uid, owner.st_gid),
                copied,
            )
        finally:
            engine.remove_image(tag)
    assert results["pun"] == results["docker"]
    assert results["pun"][0]["Env"] == ["PATH=/basebin:/x", "BASE=one", "MIX=one-two"]
    assert results["pun"][2] == (1234, 5678)  # the base's User, app
