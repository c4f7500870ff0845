"""The frontend process against a recording LLBBridge server, over its real stdin/stdout.

Each test starts `pun` as BuildKit would (BUILDKIT_* environment, pipes for fd 0/1), serves
the gateway API on those pipes and checks the protocol transcript: which calls, in which
order, with which requests, and what comes back in Return. Anything but HTTP/2 on the
frontend's stdout would break the server's connection, so every passing run also proves that.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional, Tuple

import pytest

from pun.api import GenerateOptions, generate, read_plan
from pun.llb.daemon_digest import daemon_digests
from pun.llb.pb import ops_pb2
from pun_testing.fake_llbbridge import (
    DOCKER_20_10_CAPS,
    FakeDaemon,
    FrontendRun,
    frontend_env,
    run_frontend,
)
from pun_testing.frontend_image import ENTRYPOINT, frontend_archive, unpack_rootfs
from pun_testing.go_protobuf import current_order
from pun_testing.shared import CASES

SCRATCH = """\
FROM scratch
COPY hello.txt /hello.txt
LABEL com.urunc.unikernel.binary=/hello.txt
LABEL com.urunc.unikernel.unikernelType=rumprun com.urunc.unikernel.hypervisor=hvt
LABEL com.urunc.unikernel.mountRootfs=false com.urunc.unikernel.useDMBlock=false
"""
UNIQUE = re.compile(r"^[0-9a-z]{25}$")
# Looking for ignore files where there are none: the two beside the Containerfile, then the
# context's two, which takes a Solve of its own.
NO_IGNORE_FILE = ["ReadFile", "ReadFile", "Solve", "ReadFile", "ReadFile"]
FROZEN_ENV = "PUN_FRONTEND_EXECUTABLE"


@pytest.fixture(scope="session")
def frozen_pun(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The frozen `pun` of the packaged frontend image (//:pun-frontend), unpacked."""
    rootfs = unpack_rootfs(frontend_archive(), tmp_path_factory.mktemp("frontend-rootfs"))
    return rootfs / ENTRYPOINT


@pytest.fixture(autouse=True, params=["source", "frozen"])
def frontend_program(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Every transcript twice: `pun` from source, and the frozen executable of the image."""
    program = str(getattr(request, "param"))  # pytest 7.0's FixtureRequest type lacks .param
    if program == "source":
        monkeypatch.delenv(FROZEN_ENV, raising=False)
    else:
        monkeypatch.setenv(FROZEN_ENV, str(request.getfixturevalue("frozen_pun")))
    return program


def make_context(tmp_path: Path, containerfile: str, name: str = "Containerfile") -> Path:
    context = tmp_path / "context"
    context.mkdir()
    (context / name).write_text(containerfile)
    (context / "hello.txt").write_text("hello\n")
    return context


def run(daemon: FakeDaemon, opts: Mapping[str, str], workers: Optional[str] = None) -> FrontendRun:
    extra = {} if workers is None else {"BUILDKIT_WORKERS": workers}
    return run_frontend(daemon, frontend_env(opts, extra))


def sources(definition: ops_pb2.Definition) -> Dict[str, Any]:
    found = {}
    for data in getattr(definition, "def"):
        op = ops_pb2.Op.FromString(data)
        if op.WhichOneof("op") == "source":
            found[op.source.identifier] = op
    return found


def local_unique(definition: ops_pb2.Definition) -> str:
    (op,) = [op for name, op in sources(definition).items() if name.startswith("local://")]
    return str(op.source.attrs["local.unique"])


def returned(daemon: FakeDaemon) -> Any:
    (request,) = daemon.requests("Return")
    return request


def config_of(daemon: FakeDaemon) -> Dict[str, Any]:
    result: Dict[str, Any] = json.loads(returned(daemon).result.metadata["containerimage.config"])
    return result


def busybox_files(image_dir: Path) -> Path:
    """The files the fake daemon serves as the busybox image (a bunnyfile include's `from:`)."""
    (image_dir / "bin").mkdir(parents=True)
    (image_dir / "bin" / "busybox").write_text("busybox\n")
    (image_dir / "etc").mkdir()
    (image_dir / "etc" / "hostname").write_text("guest\n")
    return image_dir


def test_docker_build_transcript(tmp_path: Path) -> None:
    context = make_context(tmp_path, SCRATCH)
    daemon = FakeDaemon(locals={"dockerfile": context, "context": context})
    run_ = run(daemon, {"filename": "Containerfile", "source": "pun", "cmdline": "pun"})
    assert run_.returncode == 0, run_.stderr
    # Containerfile, the ignore files beside it, then the context's (none here), then the build.
    assert daemon.methods() == ["Ping", "Solve", "ReadFile", *NO_IGNORE_FILE, "Solve", "Return"]

    read_solve, ignore_solve, main_solve = daemon.requests("Solve")
    for request in (read_solve, ignore_solve, main_solve):
        assert request.allowResultReturn and request.allowResultArrayRef
    # The Containerfile is read like the Dockerfile frontend does: local `dockerfile`, only it
    # and its own ignore files.
    (read_source,) = sources(read_solve.Definition).values()
    assert read_source.source.identifier == "local://dockerfile"
    assert read_source.source.attrs["local.includepattern"] == (
        '["Containerfile","Containerfile.dockerignore","Containerfile.containerignore"]'
    )
    (ignore_source,) = sources(ignore_solve.Definition).values()
    assert ignore_source.source.identifier == "local://context"
    assert ignore_source.source.attrs["local.includepattern"] == (
        '[".dockerignore",".containerignore"]'
    )
    assert [(r.Ref, r.FilePath) for r in daemon.requests("ReadFile")] == [
        ("ref-1", "Containerfile"),
        ("ref-1", "Containerfile.dockerignore"),
        ("ref-1", "Containerfile.containerignore"),
        ("ref-2", ".dockerignore"),
        ("ref-2", ".containerignore"),
    ]

    # The main definition is exactly the core's LLB, with a fresh random local.unique.
    unique = local_unique(main_solve.Definition)
    assert UNIQUE.match(unique) and unique != local_unique(read_solve.Definition)
    expected = generate(SCRATCH, GenerateOptions(path="Containerfile", local_unique_id=unique))
    assert main_solve.Definition == ops_pb2.Definition.FromString(expected.definition)

    result = returned(daemon).result
    assert result.ref.id == "ref-3" and not returned(daemon).HasField("error")
    assert config_of(daemon) == {
        "architecture": "amd64",
        "os": "linux",
        # As docker build writes it for FROM scratch (BuildKit `emptyImage`).
        "config": {
            "Env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],
            "WorkingDir": "/",
            "Labels": expected.plan.label_values(),
        },
        "rootfs": {"type": "layers", "diff_ids": []},
    }
    annotations = {k: v for k, v in result.metadata.items() if k != "containerimage.config"}
    assert annotations == {
        "annotation-manifest.com.urunc.unikernel.binary": b"/hello.txt",
        "annotation-manifest.com.urunc.unikernel.unikernelType": b"rumprun",
        "annotation-manifest.com.urunc.unikernel.hypervisor": b"hvt",
        "annotation-manifest.com.urunc.unikernel.mountRootfs": b"false",
        "annotation-manifest.com.urunc.unikernel.useDMBlock": b"false",
    }


@pytest.mark.parametrize(
    "ignore_file", [".dockerignore", ".containerignore", "Containerfile.dockerignore"]
)
def test_the_ignore_file_becomes_the_contexts_exclude_patterns(
    tmp_path: Path, ignore_file: str
) -> None:
    context = make_context(tmp_path, SCRATCH)
    (context / ignore_file).write_text("# drop these\n*.tmp\n!keep.tmp\n")
    if ignore_file != ".dockerignore":
        (context / ".dockerignore").write_text("loses\n") if ignore_file.startswith("C") else None
    daemon = FakeDaemon(locals={"dockerfile": context, "context": context})
    assert run(daemon, {"filename": "Containerfile"}).returncode == 0
    main_solve = daemon.requests("Solve")[-1]
    (context_source,) = sources(main_solve.Definition).values()
    assert context_source.source.attrs["local.excludepatterns"] == '["*.tmp","!keep.tmp"]'


def test_every_build_gets_its_own_local_unique(tmp_path: Path) -> None:
    context = make_context(tmp_path, SCRATCH)
    seen = set()
    for _ in range(2):
        daemon = FakeDaemon(locals={"dockerfile": context, "context": context})
        assert run(daemon, {"filename": "Containerfile"}).returncode == 0
        seen.add(local_unique(daemon.requests("Solve")[-1].Definition))
    assert len(seen) == 2


def test_falls_back_to_the_context_local_like_the_original(tmp_path: Path) -> None:
    # buildctl --local context=. only (the original pun's documented invocation).
    daemon = FakeDaemon(locals={"context": make_context(tmp_path, SCRATCH)})
    run_ = run(daemon, {"filename": "Containerfile"})
    assert run_.returncode == 0, run_.stderr
    assert daemon.methods() == [
        "Ping",
        "Solve",
        "ReadFile",
        "Solve",
        "ReadFile",
        *NO_IGNORE_FILE,
        "Solve",
        "Return",
    ]
    first, second, _, _ = daemon.requests("Solve")
    assert list(sources(first.Definition)) == ["local://dockerfile"]
    assert list(sources(second.Definition)) == ["local://context"]


def test_filename_defaults_to_dockerfile(tmp_path: Path) -> None:
    context = make_context(tmp_path, SCRATCH, name="Dockerfile")
    daemon = FakeDaemon(locals={"dockerfile": context, "context": context})
    assert run(daemon, {}).returncode == 0
    assert daemon.requests("ReadFile")[0].FilePath == "Dockerfile"


def test_dockerfilekey_renames_the_local(tmp_path: Path) -> None:
    context = make_context(tmp_path, SCRATCH)
    daemon = FakeDaemon(locals={"defs": context, "context": context})
    assert run(daemon, {"filename": "Containerfile", "dockerfilekey": "defs"}).returncode == 0
    assert list(sources(daemon.requests("Solve")[0].Definition)) == ["local://defs"]


def test_missing_containerfile_is_returned_as_an_error(tmp_path: Path) -> None:
    context = make_context(tmp_path, SCRATCH)
    daemon = FakeDaemon(locals={"dockerfile": context, "context": context})
    run_ = run(daemon, {"filename": "Nope"})
    assert run_.returncode == 1
    error = returned(daemon).error
    assert "cannot read Nope" in error.message
    assert "'dockerfile'" in error.message and "'context'" in error.message
    assert not returned(daemon).HasField("result")


def test_build_args_and_platform_reach_the_llb(tmp_path: Path) -> None:
    text = "ARG SRC=missing\nFROM alpine\nARG SRC\nCOPY $SRC /dst\n"
    context = make_context(tmp_path, text)
    daemon = FakeDaemon(
        locals={"dockerfile": context, "context": context},
        images={"docker.io/library/alpine:latest": b"{}"},
    )
    run_ = run(
        daemon,
        {"filename": "Containerfile", "build-arg:SRC": "hello.txt", "platform": "linux/arm64"},
    )
    assert run_.returncode == 0, run_.stderr
    main = daemon.requests("Solve")[-1].Definition
    image = sources(main)["docker-image://docker.io/library/alpine:latest"]
    assert (image.platform.OS, image.platform.Architecture) == ("linux", "arm64")
    copies = [
        ops_pb2.Op.FromString(d).file.actions[0].copy
        for d in getattr(main, "def")
        if ops_pb2.Op.FromString(d).WhichOneof("op") == "file"
    ]
    assert copies[0].src == "/hello.txt"
    (resolve,) = daemon.requests("ResolveImageConfig")
    assert (resolve.Platform.OS, resolve.Platform.Architecture) == ("linux", "arm64")
    assert (config_of(daemon)["os"], config_of(daemon)["architecture"]) == ("linux", "arm64")


def test_default_platform_is_the_first_worker_platform(tmp_path: Path) -> None:
    context = make_context(tmp_path, SCRATCH)
    daemon = FakeDaemon(locals={"dockerfile": context, "context": context})
    workers = json.dumps([{"id": "w", "platforms": [{"os": "linux", "architecture": "arm64"}]}])
    assert run(daemon, {"filename": "Containerfile"}, workers=workers).returncode == 0
    assert config_of(daemon)["architecture"] == "arm64"


def test_base_image_config_is_inherited(tmp_path: Path) -> None:
    base = {
        "architecture": "amd64",
        "os": "linux",
        "created": "2020-01-01T00:00:00Z",
        "config": {
            "Env": ["PATH=/bin"],
            "Cmd": ["/start"],
            "WorkingDir": "/srv",
            "Labels": {"from.base": "yes", "com.urunc.unikernel.binary": "/old"},
        },
        "rootfs": {"type": "layers", "diff_ids": ["sha256:" + "1" * 64]},
        "history": [{"created_by": "base layer"}],
        "container_config": {"Cmd": ["legacy"]},
    }
    text = "FROM 127.0.0.1:5000/unikernels/base:1.0\n" + SCRATCH.split("\n", 1)[1]
    context = make_context(tmp_path, text)
    daemon = FakeDaemon(
        locals={"dockerfile": context, "context": context},
        images={"127.0.0.1:5000/unikernels/base:1.0": json.dumps(base).encode()},
    )
    run_ = run(daemon, {"filename": "Containerfile", "label:org.example.by": "docker --label"})
    assert run_.returncode == 0, run_.stderr
    assert daemon.methods() == [
        "Ping",
        "Solve",
        "ReadFile",
        *NO_IGNORE_FILE,
        "Solve",
        "ResolveImageConfig",
        "Return",
    ]
    config = config_of(daemon)
    assert config["config"]["Env"] == ["PATH=/bin"] and config["config"]["Cmd"] == ["/start"]
    assert config["config"]["WorkingDir"] == "/srv"
    assert config["config"]["Labels"] == {
        "from.base": "yes",
        "com.urunc.unikernel.binary": "/hello.txt",  # the Containerfile wins over the base
        "com.urunc.unikernel.unikernelType": "rumprun",
        "com.urunc.unikernel.hypervisor": "hvt",
        "com.urunc.unikernel.mountRootfs": "false",
        "com.urunc.unikernel.useDMBlock": "false",
        "org.example.by": "docker --label",  # label: options win over both
    }
    assert config["history"] == base["history"]
    assert "created" not in config and "container_config" not in config
    # Annotations are the Containerfile's labels only (they are what urunc reads).
    keys = set(returned(daemon).result.metadata) - {"containerimage.config"}
    assert "annotation-manifest.org.example.by" not in keys
    assert "annotation-manifest.from.base" not in keys


def test_the_plan_reads_the_base_config_first_when_it_needs_it(tmp_path: Path) -> None:
    # As the Dockerfile frontend (MetaResolver before converting): $PATH from the base's Env,
    # WORKDIR on its WorkingDir and created as its User, COPY under it; resolved once.
    base = {
        "architecture": "amd64",
        "os": "linux",
        "config": {"Env": ["PATH=/basebin"], "WorkingDir": "/srv", "User": "app"},
        "rootfs": {"type": "layers", "diff_ids": []},
    }
    text = "FROM 127.0.0.1:5000/unikernels/base:1.0\nENV PATH=$PATH:/x\nWORKDIR sub\n"
    text += "COPY hello.txt rel/\n" + SCRATCH.split("\n", 1)[1]  # urunc labels: no warnings
    context = make_context(tmp_path, text)
    daemon = FakeDaemon(
        locals={"dockerfile": context, "context": context},
        images={"127.0.0.1:5000/unikernels/base:1.0": json.dumps(base).encode()},
    )
    run_ = run(daemon, {"filename": "Containerfile"})
    assert run_.returncode == 0, run_.stderr
    assert daemon.methods() == [
        "Ping",
        "Solve",
        "ReadFile",
        *NO_IGNORE_FILE,
        "ResolveImageConfig",
        "Solve",
        "Return",
    ]
    assert "base image's" not in run_.stderr
    config = config_of(daemon)["config"]
    assert config["Env"] == ["PATH=/basebin:/x"]
    assert config["WorkingDir"] == "/srv/sub" and config["User"] == "app"
    actions = []
    for raw in getattr(daemon.requests("Solve")[-1].Definition, "def"):
        op = ops_pb2.Op()
        op.ParseFromString(raw)
        if op.WhichOneof("op") == "file":
            actions += list(op.file.actions)
    (mkdir,) = [a.mkdir for a in actions if a.WhichOneof("action") == "mkdir"]
    assert mkdir.path == "/srv/sub" and mkdir.owner.user.byName.name == "app"
    copies = sorted(a.copy.dest for a in actions if a.WhichOneof("action") == "copy")
    assert copies == ["/hello.txt", "/srv/sub/rel/"]


def test_unresolvable_base_image_names_the_from_line(tmp_path: Path) -> None:
    text = "# a comment\nFROM 127.0.0.1:5000/nothing/here:1\n"
    context = make_context(tmp_path, text)
    daemon = FakeDaemon(locals={"dockerfile": context, "context": context})
    assert run(daemon, {"filename": "Containerfile"}).returncode == 1
    message = returned(daemon).error.message
    assert message.startswith(
        "Containerfile:2: error: cannot resolve base image " "127.0.0.1:5000/nothing/here:1"
    ), message


@pytest.mark.parametrize(
    "case, line, must_say",
    [("err-multistage", None, "multi-stage"), ("err-no-from", None, "no FROM")],
)
def test_containerfile_errors_are_returned(
    tmp_path: Path, case: str, line: Optional[int], must_say: str
) -> None:
    daemon = FakeDaemon(locals={"dockerfile": CASES / case, "context": CASES / case})
    run_ = run(daemon, {"filename": "Containerfile"})
    assert run_.returncode == 1
    request = returned(daemon)
    assert request.error.code == 3  # INVALID_ARGUMENT
    assert request.error.message.startswith("Containerfile:")
    assert must_say in request.error.message
    assert request.error.message.splitlines()[0] in run_.stderr
    assert daemon.methods() == ["Ping", "Solve", "ReadFile", "Return"]  # nothing else solved


def ignored_case() -> Tuple[Path, Dict[str, int]]:
    path = CASES / "unsupported-instructions"
    lines = (path / "Containerfile").read_text().splitlines()
    keywords = {
        k: next(i for i, t in enumerate(lines, 1) if t.startswith(k)) for k in ("RUN",)
    }  # ENV, EXPOSE and CMD now go into the image config
    return path, keywords


def test_warnings_go_to_the_bridge_when_the_daemon_supports_it(tmp_path: Path) -> None:
    path, keywords = ignored_case()
    caps = ("return", "proto.refarray", "resolveimage", "readfile", "gateway.warnings")
    daemon = FakeDaemon(locals={"dockerfile": path, "context": path}, frontend_caps=caps)
    run_ = run(daemon, {"filename": "Containerfile"})
    assert run_.returncode == 0, run_.stderr
    warns = daemon.requests("Warn")
    read_def = daemon.requests("Solve")[0].Definition
    # The read op's digest as BuildKit v0.29+ names its vertex: it marshals the op again, the
    # oneof body after platform/constraints (test_daemon_digest.py checks that rule against
    # BuildKit v0.32.2's own progress stream).
    read_digest = daemon_digests(read_def.SerializeToString())[
        "sha256:" + hashlib.sha256(getattr(read_def, "def")[0]).hexdigest()
    ]
    for keyword, line in keywords.items():
        (warn,) = [w for w in warns if f":{line}: warning: {keyword}" in w.short.decode()]
        assert warn.level == 1 and warn.digest == read_digest
        assert warn.info.filename == "Containerfile" and warn.info.language == "Dockerfile"
        assert warn.info.data == (path / "Containerfile").read_bytes()
        assert [r.start.line for r in warn.ranges] == [line]
        assert f"Containerfile:{line}: warning: {keyword}" in run_.stderr  # and on stderr
    assert daemon.methods()[-1] == "Return" and not returned(daemon).HasField("error")


def step_names(definition: ops_pb2.Definition) -> List[str]:
    return sorted(
        meta.description["llb.customname"]
        for meta in definition.metadata.values()
        if "llb.customname" in meta.description
    )


def test_without_the_warnings_cap_warnings_become_build_steps(tmp_path: Path) -> None:
    path, keywords = ignored_case()
    daemon = FakeDaemon(locals={"dockerfile": path, "context": path})
    run_ = run(daemon, {"filename": "Containerfile"})
    assert run_.returncode == 0
    assert "Warn" not in daemon.methods()
    assert daemon.methods() == [
        "Ping",
        "Solve",
        "ReadFile",
        *NO_IGNORE_FILE,
        "Solve",
        "ReadFile",
        "Solve",
        "Return",
    ]
    # A side definition whose steps are named after the warnings, read once to run it...
    _, _, steps, main = daemon.requests("Solve")
    names = step_names(steps.Definition)
    logged = sorted(
        "[pun] " + line[len("pun frontend: ") :]
        for line in run_.stderr.splitlines()
        if line.startswith("pun frontend: Containerfile:") and ": warning: " in line
    )
    assert names == logged  # every warning, exactly once, as on stderr
    for keyword, line in keywords.items():
        assert any(n.startswith(f"[pun] Containerfile:{line}: warning: {keyword}") for n in names)
    assert daemon.requests("ReadFile")[-1].Ref == "ref-3"  # ref-1, ref-2: file, ignore
    # ...and never returned: the result is the main definition.
    assert returned(daemon).result.ref.id == "ref-4"
    assert sources(main.Definition)  # the main one reads the context


def test_with_the_warnings_cap_no_warning_steps(tmp_path: Path) -> None:
    path, _ = ignored_case()
    caps = ("return", "proto.refarray", "resolveimage", "readfile", "gateway.warnings")
    daemon = FakeDaemon(locals={"dockerfile": path, "context": path}, frontend_caps=caps)
    assert run(daemon, {"filename": "Containerfile"}).returncode == 0
    for request in daemon.requests("Solve"):
        assert not any(n.startswith("[pun] ") for n in step_names(request.Definition))


def test_old_daemon_without_refarray_gets_bare_ref_ids(tmp_path: Path) -> None:
    context = make_context(tmp_path, SCRATCH)
    daemon = FakeDaemon(
        locals={"dockerfile": context, "context": context},
        frontend_caps=("return", "resolveimage", "readfile"),
    )
    assert run(daemon, {"filename": "Containerfile"}).returncode == 0
    assert all(not r.allowResultArrayRef for r in daemon.requests("Solve"))
    assert returned(daemon).result.refDeprecated == "ref-3"


def test_missing_llb_caps_fail_before_the_daemon_does(tmp_path: Path) -> None:
    context = make_context(tmp_path, SCRATCH)
    llb = (
        "source.local",
        "source.local.unique",
        "source.local.includepatterns",
        "source.local.followpaths",
        "source.local.excludepatterns",
        "constraints",
        "platform",
        "meta.description",
    )  # no file.base
    daemon = FakeDaemon(locals={"dockerfile": context, "context": context}, llb_caps=llb)
    assert run(daemon, {"filename": "Containerfile"}).returncode == 1
    assert "file.base" in returned(daemon).error.message


def test_several_platforms_are_one_ref_per_platform(tmp_path: Path) -> None:
    """BuildKit's multi-platform result (exporter/containerimage/exptypes): the refs map keyed
    by platform id, `refs.platforms` listing them (Go's field names: ID, Platform), and each
    platform's config and manifest annotations under its id."""
    context = make_context(tmp_path, SCRATCH)
    daemon = FakeDaemon(locals={"dockerfile": context, "context": context})
    done = run(daemon, {"filename": "Containerfile", "platform": "linux/amd64,linux/arm64"})
    assert done.returncode == 0, done.stderr
    result = returned(daemon).result
    refs = dict(result.refs.refs) or dict(result.refsDeprecated.refs)
    assert sorted(refs) == ["linux/amd64", "linux/arm64"]
    assert len(set(str(r) for r in refs.values())) == 2
    metadata = dict(result.metadata)
    assert json.loads(metadata["refs.platforms"]) == {
        "Platforms": [
            {"ID": "linux/amd64", "Platform": {"architecture": "amd64", "os": "linux"}},
            {"ID": "linux/arm64", "Platform": {"architecture": "arm64", "os": "linux"}},
        ]
    }
    for arch in ("amd64", "arm64"):
        config = json.loads(metadata[f"containerimage.config/linux/{arch}"])
        assert config["architecture"] == arch and config["os"] == "linux"
        key = f"annotation-manifest[linux/{arch}].com.urunc.unikernel.unikernelType"
        assert metadata[key] == b"rumprun"
    assert "containerimage.config" not in metadata


ROOTFS = """\
FROM scratch
COPY kernel /kernel
COPY init /rootfs/init
COPY tools/ /rootfs/bin/
LABEL pun.rootfs="type=initrd,src=/rootfs,path=/boot/initrd"
LABEL com.urunc.unikernel.binary=/kernel
LABEL com.urunc.unikernel.unikernelType=linux com.urunc.unikernel.hypervisor=qemu
"""


def rootfs_context(tmp_path: Path) -> Path:
    context = make_context(tmp_path, ROOTFS)
    (context / "kernel").write_bytes(b"kernel")
    (context / "init").write_text("#!/bin/sh\n")
    (context / "init").chmod(0o755)
    (context / "tools").mkdir()
    (context / "tools" / "big").write_bytes(bytes(range(256)) * (5 * 4096 + 1))  # 5 MiB + 256
    (context / "tools" / "sh").symlink_to("big")
    return context


def test_an_initrd_rootfs_is_read_over_the_bridge_and_inlined_into_the_llb(
    tmp_path: Path,
) -> None:
    from pun.rootfs.make import make_artifact

    context = rootfs_context(tmp_path)
    daemon = FakeDaemon(locals={"dockerfile": context, "context": context})
    run_ = run(daemon, {"filename": "Containerfile"})
    assert run_.returncode == 0, run_.stderr
    # After the Containerfile and the ignore files: the rootfs's files, then the build.
    assert daemon.methods()[-8:] == [
        "Solve",  # the context, filtered to the includes
        "ReadDir",  # /: init, tools
        "ReadFile",  # init
        "ReadDir",  # tools: big, sh (a symlink, read from its Stat)
        "ReadFile",  # big, in two pieces
        "ReadFile",
        "Solve",  # the image
        "Return",
    ]
    rootfs_solve, main_solve = daemon.requests("Solve")[-2:]
    (source,) = sources(rootfs_solve.Definition).values()
    assert source.source.identifier == "local://context"
    # Only the includes travel (local.followpaths, as the Dockerfile frontend asks for COPYs).
    assert source.source.attrs["local.followpaths"] == '["init","tools"]'
    reads = [(r.FilePath, r.Range.Offset, r.Range.Length) for r in daemon.requests("ReadFile")]
    four_mib = 4 * 1024 * 1024
    big = (context / "tools" / "big").stat().st_size
    # Each piece asks for what is left, up to 4 MiB: a solved ref cannot change under it.
    assert reads[-3:] == [
        ("init", 0, len("#!/bin/sh\n")),
        ("tools/big", 0, four_mib),
        ("tools/big", four_mib, big - four_mib),
    ]
    # The main LLB is the core's, with the artifact pun build makes of the same files inlined.
    made = tmp_path / "made"
    made.mkdir()
    artifact = Path(
        make_artifact(read_plan_rootfs(ROOTFS), str(context), str(made), 0)
    ).read_bytes()
    expected = generate(
        ROOTFS,
        GenerateOptions(
            path="Containerfile",
            local_unique_id=local_unique(main_solve.Definition),
            rootfs_artifact=artifact,
        ),
    )
    assert main_solve.Definition == ops_pb2.Definition.FromString(expected.definition)
    assert artifact in b"".join(getattr(main_solve.Definition, "def"))


def read_plan_rootfs(text: str) -> Any:
    from pun.api import read_plan

    return read_plan(text).rootfs


def test_without_readdir_an_initrd_rootfs_is_an_error_naming_its_line(tmp_path: Path) -> None:
    context = rootfs_context(tmp_path)
    caps = [c for c in DOCKER_20_10_CAPS if c != "readdir"]
    daemon = FakeDaemon(locals={"dockerfile": context, "context": context}, frontend_caps=caps)
    run_ = run(daemon, {"filename": "Containerfile"})
    assert run_.returncode != 0
    message = returned(daemon).error.message
    assert message.startswith("Containerfile:5: error: this BuildKit cannot list"), message
    assert "ReadDir" not in daemon.methods()


def test_a_fifo_in_an_initrd_rootfs_is_an_error_naming_its_line(tmp_path: Path) -> None:
    context = rootfs_context(tmp_path)
    os.mkfifo(context / "tools" / "pipe")
    daemon = FakeDaemon(locals={"dockerfile": context, "context": context})
    run_ = run(daemon, {"filename": "Containerfile"})
    assert run_.returncode != 0
    message = returned(daemon).error.message
    assert message.startswith(
        "Containerfile:5: error: the build context: /tools/pipe is not a regular file"
    ), message


@pytest.mark.parametrize("skew", [-1, 1])
def test_a_short_or_long_read_is_an_error_naming_the_rootfs_line(tmp_path: Path, skew: int) -> None:
    # A solved ref cannot change, so any answer but the asked-for bytes is the daemon's fault:
    # never a cut (or padded) file in the rootfs.
    context = rootfs_context(tmp_path)
    daemon = FakeDaemon(
        locals={"dockerfile": context, "context": context}, read_skew={"tools/big": skew}
    )
    run_ = run(daemon, {"filename": "Containerfile"})
    assert run_.returncode != 0
    message = returned(daemon).error.message
    asked = 4 * 1024 * 1024
    assert message.startswith(
        f"Containerfile:5: error: the build context: /tools/big: BuildKit sent {asked + skew} "
        f"bytes at offset 0 where {asked} were asked for"
    ), message
    assert "Traceback" not in run_.stderr


def big_rootfs_context(tmp_path: Path, label: str) -> Path:
    context = make_context(tmp_path, ROOTFS.replace('path=/boot/initrd"', label))
    (context / "kernel").write_bytes(b"kernel")
    (context / "init").write_text("#!/bin/sh\n")
    (context / "tools").mkdir()
    for name in ("a", "b"):  # 14 MiB together: past what BuildKit's 16 MiB messages leave
        (context / "tools" / name).write_bytes(bytes(7 * 1024 * 1024))
    return context


def test_an_uncompressed_initrd_stops_reading_once_its_files_pass_the_limit(
    tmp_path: Path,
) -> None:
    context = big_rootfs_context(tmp_path, 'path=/boot/initrd"')
    daemon = FakeDaemon(locals={"dockerfile": context, "context": context})
    run_ = run(daemon, {"filename": "Containerfile"})
    assert run_.returncode != 0
    message = returned(daemon).error.message
    limit = 12 * 1024 * 1024  # 16 MiB messages less a quarter for the rest of the LLB
    assert message.startswith(
        f"Containerfile:5: error: the initrd rootfs's files pass {limit} bytes "
        f"(the build context: /tools/b makes {14 * 1024 * 1024 + 10})"
    ), message
    read = {r.FilePath for r in daemon.requests("ReadFile")}
    assert "tools/a" in read and "tools/b" not in read  # refused before it was read


def test_a_gzip_initrd_may_read_more_than_the_limit(tmp_path: Path) -> None:
    # Only the compressed artifact has to fit (14 MiB of zeros make a few KiB).
    context = big_rootfs_context(tmp_path, 'path=/boot/initrd,compression=gzip"')
    daemon = FakeDaemon(locals={"dockerfile": context, "context": context})
    run_ = run(daemon, {"filename": "Containerfile"})
    assert run_.returncode == 0, run_.stderr
    assert {"tools/a", "tools/b"} <= {r.FilePath for r in daemon.requests("ReadFile")}


FROM_IMAGE = ROOTFS.replace('path=/boot/initrd"', 'path=/boot/initrd,from=busybox"')


def test_from_image_reads_the_image_the_daemon_pulls(tmp_path: Path) -> None:
    context = make_context(tmp_path, FROM_IMAGE)
    (context / "kernel").write_bytes(b"kernel")
    (context / "init").write_text("#!/bin/sh\n")
    (context / "tools").mkdir()
    (context / "tools" / "sh").write_text("context sh\n")
    image_dir = busybox_files(tmp_path / "busybox")
    daemon = FakeDaemon(
        locals={"dockerfile": context, "context": context},
        image_files={"docker.io/library/busybox:latest": image_dir},
    )
    run_ = run(daemon, {"filename": "Containerfile"})
    assert run_.returncode == 0, run_.stderr
    context_solve, image_solve, _main = daemon.requests("Solve")[-3:]
    (image_op,) = sources(image_solve.Definition).values()
    assert image_op.source.identifier == "docker-image://docker.io/library/busybox:latest"
    assert image_op.platform.Architecture == "amd64"
    # The helper solves are marshalled as the build's own LLB: BuildKit v0.32's field order.
    for solve in (context_solve, image_solve):
        for data in getattr(solve.Definition, "def"):
            assert current_order(ops_pb2.Op.FromString(data)) == data
    # The image's files under the includes, as cpio (an independent reader) lists them.
    artifact = next(
        op.file.actions[0].mkfile.data
        for op in map(ops_pb2.Op.FromString, getattr(_main.Definition, "def"))
        if op.WhichOneof("op") == "file" and op.file.actions[0].WhichOneof("action") == "mkfile"
    )
    listing = subprocess.run(
        ["cpio", "-it", "--quiet"], input=artifact, capture_output=True, check=True
    ).stdout.decode()
    names = set(listing.split())
    assert {"bin/busybox", "etc/hostname", "init", "bin/sh"} <= names, listing


def test_a_source_date_epoch_build_arg_that_is_no_number_is_one_error(tmp_path: Path) -> None:
    context = rootfs_context(tmp_path)
    daemon = FakeDaemon(locals={"dockerfile": context, "context": context})
    run_ = run(daemon, {"filename": "Containerfile", "build-arg:SOURCE_DATE_EPOCH": "soon"})
    assert run_.returncode != 0
    message = returned(daemon).error.message
    assert message.startswith(
        "Containerfile: error: build-arg SOURCE_DATE_EPOCH='soon' is not a number of seconds"
    ), message
    assert "ReadDir" not in daemon.methods()  # before any file was read


IMAGE_INCLUDES = """\
version: v0.1
platforms: {framework: unikraft, monitor: qemu, architecture: x86}
rootfs:
  type: initrd
  include:
    - init:/init
    - {from: busybox, source: /bin/busybox, destination: /bin/sh}
    - {from: busybox, source: /etc, destination: /etc}
    - {from: busybox, source: /etc/hostname, destination: /hostname}
kernel: {from: local, path: kernel}
cmd: ["/init"]
"""


def test_an_image_the_includes_read_is_picked_before_it_travels(tmp_path: Path) -> None:
    # Only the included paths of the image cross ReadFile: a FileOp copies them onto scratch
    # (the fake daemon does not run it, and lists the whole image; BuildKit runs it: e2e).
    context = make_context(tmp_path, IMAGE_INCLUDES, "bunnyfile")
    (context / "kernel").write_bytes(b"kernel")
    (context / "init").write_text("#!/bin/sh\n")
    image_dir = busybox_files(tmp_path / "busybox")
    daemon = FakeDaemon(
        locals={"dockerfile": context, "context": context},
        image_files={"docker.io/library/busybox:latest": image_dir},
    )
    run_ = run(daemon, {"filename": "bunnyfile"})
    assert run_.returncode == 0, run_.stderr
    image_solves = [
        solve
        for solve in daemon.requests("Solve")
        if "docker-image://docker.io/library/busybox:latest" in sources(solve.Definition)
    ]
    assert len(image_solves) == 1  # once for the three includes
    ops = [ops_pb2.Op.FromString(data) for data in getattr(image_solves[0].Definition, "def")]
    (file_op,) = [op.file for op in ops if op.WhichOneof("op") == "file"]
    copies = [(a.copy.src, a.copy.dest, a.copy.followSymlink) for a in file_op.actions]
    # /etc/hostname is inside /etc: copied once, with it.
    assert copies == [("/bin/busybox", "/bin/busybox", True), ("/etc", "/etc", True)]
    assert file_op.actions[0].input == -1  # onto scratch, each copy from the image
    assert [a.secondaryInput for a in file_op.actions] == [0, 0]


def test_the_base_config_is_resolved_before_the_initrd_is_made(tmp_path: Path) -> None:
    # `COPY init .` lands in the base's WorkingDir, the rootfs src: only the plan made with the
    # base's config has a COPY below src (the config-less one is an error), so the frontend
    # resolves first, makes the initrd from that plan, and resolves once.
    from pun.imagespec import BaseConfig
    from pun.rootfs.make import make_artifact

    reference = "127.0.0.1:5000/unikernels/base:1.0"
    base = {
        "architecture": "amd64",
        "os": "linux",
        "config": {"WorkingDir": "/rootfs"},
        "rootfs": {"type": "layers", "diff_ids": []},
    }
    text = (
        f"FROM {reference}\nCOPY kernel /kernel\nCOPY init .\n"
        + ROOTFS.split("\n", 4)[4]  # the rootfs and urunc labels
    )
    context = rootfs_context(tmp_path)
    (context / "Containerfile").write_text(text)
    daemon = FakeDaemon(
        locals={"dockerfile": context, "context": context},
        images={reference: json.dumps(base).encode()},
    )
    run_ = run(daemon, {"filename": "Containerfile"})
    assert run_.returncode == 0, run_.stderr
    methods = daemon.methods()
    assert methods.count("ResolveImageConfig") == 1
    assert methods.index("ResolveImageConfig") < methods.index("ReadDir")
    assert [r.FilePath for r in daemon.requests("ReadFile")][-1] == "init"
    options = GenerateOptions(
        path="Containerfile",
        base_configs={reference: BaseConfig.from_image_config(base)},
    )
    made = tmp_path / "made"
    made.mkdir()
    rootfs = read_plan(text, options).rootfs
    assert rootfs is not None
    artifact = Path(make_artifact(rootfs, str(context), str(made), 0)).read_bytes()
    main_solve = daemon.requests("Solve")[-1]
    expected = generate(
        text,
        options._replace(
            local_unique_id=local_unique(main_solve.Definition), rootfs_artifact=artifact
        ),
    )
    assert main_solve.Definition == ops_pb2.Definition.FromString(expected.definition)
