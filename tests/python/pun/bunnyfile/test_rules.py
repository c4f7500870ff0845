"""bunnyfile rules, case by case from nubificus/bunny's own unit tests (`hops/parse_file_test.go`,
`hops/validate_test.go`, `hops/package_test.go`), written as bunnyfiles. Each expected value is
what bunny's code gives for that input (read from `hops/package.go` and `hops/validate.go`), stated
literally: binary, initrd, mountRootfs, cmdline, where the files go. Where pun differs on purpose
the test says so (README "bunnyfile": differences from bunny)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from textwrap import dedent
from typing import Dict, Optional

import pytest

import pun.cli.main  # noqa: F401  (the subprocesses below run it: this puts it in Pants' sandbox)
from pun.api import GenerateOptions, generate, read_plan
from pun.containerfile.plan import PackPlan
from pun.diagnostics import PunError
from pun.imagespec import SetCmd
from pun.platform import Platform
from pun_testing.shared import buildroot

P = "com.urunc.unikernel."
HEAD = "version: 0.1\nplatforms:\n  framework: {framework}\n  monitor: {monitor}\n"


def plan_of(text: str, **options: object) -> PackPlan:
    given = GenerateOptions(path="bunnyfile", **options)  # type: ignore[arg-type]
    return read_plan(dedent(text), given)


def failure(text: str, **options: object) -> PunError:
    with pytest.raises(PunError) as caught:
        plan_of(text, **options)
    return caught.value


def labels(plan: PackPlan) -> Dict[str, str]:
    return {k[len(P) :]: v for k, v in plan.label_values().items()}


def copies(plan: PackPlan) -> Dict[str, tuple]:
    """destination -> (source, image it is read from or None)."""
    return {c.dest: (c.sources[0], c.image) for c in plan.copies}


def base(plan: PackPlan) -> Optional[str]:
    return None if plan.base.reference is None else str(plan.base.reference)


# --- hops/parse_file_test.go TestParseBunnyfile / TestParsefile -------------------------------

VALID_ALL_FIELDS = """\
    version: 0.1
    platforms:
      framework: foo
      monitor: bar
    rootfs:
      from: local
      path: foo
    kernel:
      from: local
      path: foo
    cmdline: "foo bar"
    """


def test_valid_all_fields_legacy_cmdline_becomes_cmd() -> None:
    plan = plan_of(VALID_ALL_FIELDS)
    # A YAML float version (0.1) is read as its text, as yaml.v3 does into a Go string.
    assert labels(plan) == {
        "unikernelType": "foo",
        "hypervisor": "bar",
        "binary": "/.boot/kernel",
        "cmdline": "foo bar",
        # generic framework, no type: raw, so mountRootfs=true and no label names the file
        "mountRootfs": "true",
    }
    assert copies(plan) == {"/.boot/kernel": ("foo", None), "/.boot/rootfs": ("foo", None)}
    cmd = [s.args for s in plan.config if isinstance(s, SetCmd)]
    assert cmd == [("foo", "bar")]  # strings.Split(cmdline, " ")
    assert any("no urunc label names it" in w.message for w in plan.warnings)


@pytest.mark.parametrize(
    "text, line, message",
    [
        # yaml.v3: "mapping values are not allowed in this context"
        ('version: "0.1"::\n', 1, "not valid YAML"),
        (VALID_ALL_FIELDS.replace("0.1", "999.99"), 1, "unsupported bunnyfile version 999.99"),
        (
            "version: not.a.version\nplatforms: {framework: f, monitor: m}\n",
            1,
            "cannot read version",
        ),
        ("version: 0.2.0\n", 1, "unsupported bunnyfile version 0.2.0"),
        # missing platform: the framework is the first thing bunny asks for
        (
            "version: 0.1\nkernel:\n  from: local\n  path: foo\n",
            1,
            "platforms.framework is required",
        ),
        ("version: 0.1\nplatforms:\n  framework: foo\n", 3, "platforms.monitor is required"),
        (
            HEAD.format(framework="foo", monitor="bar") + "rootfs:\n  from: local\n  path: foo\n",
            1,
            "kernel.from is required",
        ),
        (
            HEAD.format(framework="foo", monitor="bar") + "kernel:\n  from: local\n",
            6,
            "kernel.path is required",
        ),
        # "Invalid wrong rootfs": a path without from (from defaults to scratch)
        (
            HEAD.format(framework="foo", monitor="bar")
            + "kernel:\n  from: local\n  path: foo\nrootfs:\n  path: foo\n",
            9,
            "rootfs.path needs rootfs.from to be `local` or an image",
        ),
        ('#syntax=foo\nversion: 0.1\ncmdline: "foo bar"\n', 2, "platforms.framework is required"),
    ],
)
def test_bunny_parse_errors_name_the_line(text: str, line: int, message: str) -> None:
    error = failure(text)
    (diagnostic,) = error.diagnostics
    assert (diagnostic.path, diagnostic.line) == ("bunnyfile", line)
    assert message in diagnostic.message
    assert diagnostic.hint


def test_syntax_line_and_blank_lines_before_the_fields() -> None:
    plan = plan_of("#syntax=foo\n\n\n\n\n" + dedent(VALID_ALL_FIELDS))
    assert plan.syntax == "foo"
    assert labels(plan)["unikernelType"] == "foo"
    assert plan.copies[0].line == 15  # kernel.path, counted from the file's first line


def test_a_broken_containerfile_keeps_its_own_error() -> None:
    # TestParsefile "Invalid Containerfile unsupported command": not a bunnyfile either.
    error = failure("#syntax=foo\nFROM foo\nWHAT\n")
    assert "WHAT" in str(error) and "bunnyfile" not in str(error).replace("bunnyfile:", "")


def test_a_containerfile_is_still_a_containerfile() -> None:
    plan = plan_of("#syntax=foo\nFROM scratch\nCOPY foo bar\nLABEL foo=bar\n")
    assert plan.label_values() == {"foo": "bar"} and plan.platform is None


# --- hops/validate_test.go TestValidateBunnyfileVersion / Rootfs ------------------------------


@pytest.mark.parametrize("version", ["0.1", "v0.1", "0.0.9", "0.1.0", "0.1-rc1", "0.1+build"])
def test_accepted_versions(version: str) -> None:
    plan_of(VALID_ALL_FIELDS.replace("version: 0.1", f"version: {version}"))


ROOTFS = HEAD.format(framework="linux", monitor="qemu") + "kernel:\n  from: local\n  path: k\n"


@pytest.mark.parametrize(
    "rootfs, line, message",
    [
        ("rootfs:\n  path: p\n", 9, "rootfs.path needs rootfs.from"),
        ("rootfs:\n  from: scratch\n  path: p\n", 10, "rootfs.path needs rootfs.from"),
        (
            "rootfs:\n  from: local\n  path: p\n  type: raw\n",
            10,
            "cannot be combined with type raw",
        ),
        ("rootfs:\n  from: local\n  type: raw\n", 10, "type raw cannot come from local"),
        (
            'rootfs:\n  from: local\n  path: p\n  include: ["foo:bar"]\n',
            11,
            "rootfs.include cannot be combined with rootfs.from: local",
        ),
        # package.go handleRootfs: a type the framework does not take
        ("rootfs:\n  from: local\n  path: p\n  type: foo\n", 11, "rootfs.type 'foo' is not one"),
        # pun: `from: local` without a path would copy the whole context (bunny does)
        ("rootfs:\n  from: local\n  type: initrd\n", 9, "rootfs.from: local needs rootfs.path"),
        # parse_file.go FileToInclude.UnmarshalYAML
        ('rootfs:\n  include:\n    - ":dst"\n', 10, "has no source before ':'"),
        ("rootfs:\n  include:\n    - from: img\n      destination: /d\n", 10, "has no source"),
        ("rootfs:\n  include:\n    - source: s\n", 10, "has no destination"),
    ],
)
def test_rootfs_combinations_bunny_refuses(rootfs: str, line: int, message: str) -> None:
    (diagnostic,) = failure(ROOTFS + rootfs).diagnostics
    assert message in diagnostic.message, diagnostic
    assert diagnostic.line == line, diagnostic


def test_unikraft_takes_no_block_rootfs() -> None:
    text = HEAD.format(framework="unikraft", monitor="qemu") + (
        "kernel:\n  from: local\n  path: k\nrootfs:\n  from: local\n  path: r\n  type: block\n"
    )
    (diagnostic,) = failure(text).diagnostics
    assert diagnostic.line == 11 and "unikraft takes: initrd, raw" in diagnostic.hint


# --- hops/package_test.go TestPackToPack, through ParseBunnyfile (rootfs.from = scratch) ------


def kernel_local(framework: str = "linux", rootfs: str = "") -> str:
    return (
        HEAD.format(framework=framework, monitor="qemu")
        + "kernel:\n  from: local\n  path: kernel\n"
        + rootfs
        + 'cmd: ["cmd"]\n'
    )


def kernel_image(framework: str, rootfs: str = "", image: str = "harbor.nbfc.io/foo") -> str:
    return (
        HEAD.format(framework=framework, monitor="qemu")
        + f"kernel:\n  from: {image}\n  path: /kernel\n"
        + rootfs
        + 'cmd: ["cmd"]\n'
    )


def test_kernel_local_rootfs_none() -> None:
    plan = plan_of(kernel_local("rumprun"))
    assert base(plan) is None and copies(plan) == {"/.boot/kernel": ("kernel", None)}
    # rootfs.from defaults to scratch, and the generic default type is raw: mountRootfs=true
    assert labels(plan) == {
        "unikernelType": "rumprun",
        "hypervisor": "qemu",
        "binary": "/.boot/kernel",
        "cmdline": "cmd",
        "mountRootfs": "true",
    }


def test_kernel_registry_rootfs_none_copies_the_kernel_out() -> None:
    # ParseBunnyfile sets rootfs.from=scratch, so SetBaseAndGetPaths makes scratch the base and
    # copies the kernel out of its image (unikraft: type initrd, whose path is empty: left out).
    plan = plan_of(kernel_image("unikraft"))
    assert base(plan) is None
    assert copies(plan) == {"/.boot/kernel": ("/kernel", "harbor.nbfc.io/foo:latest")}
    assert labels(plan) == {
        "unikernelType": "unikraft",
        "hypervisor": "qemu",
        "binary": "/.boot/kernel",
        "cmdline": "cmd",
        "mountRootfs": "false",
    }
    # Copied out of that image as COPY --from does: a second docker-image source in the LLB.
    made = generate(dedent(kernel_image("unikraft")), GenerateOptions(path="bunnyfile"))
    assert b"docker-image://harbor.nbfc.io/foo:latest" in made.definition


def test_kernel_local_rootfs_local_unikraft_is_initrd() -> None:
    plan = plan_of(kernel_local("unikraft", "rootfs:\n  from: local\n  path: rootfs\n"))
    assert copies(plan) == {"/.boot/kernel": ("kernel", None), "/.boot/rootfs": ("rootfs", None)}
    assert labels(plan)["initrd"] == "/.boot/rootfs" and labels(plan)["mountRootfs"] == "false"


def test_kernel_local_rootfs_local_initrd_and_version() -> None:
    text = kernel_local("linux", "rootfs:\n  from: local\n  path: rootfs\n  type: initrd\n")
    plan = plan_of(text.replace("  monitor: qemu\n", "  monitor: qemu\n  version: v1.7.0\n"))
    assert labels(plan) == {
        "unikernelType": "linux",
        "hypervisor": "qemu",
        "binary": "/.boot/kernel",
        "cmdline": "cmd",
        "unikernelVersion": "v1.7.0",
        "mountRootfs": "false",
        "initrd": "/.boot/rootfs",
    }


def test_kernel_local_rootfs_remote_initrd_names_the_path_in_the_image() -> None:
    plan = plan_of(
        kernel_local(
            "linux", "rootfs:\n  from: harbor.nbfc.io/foo\n  path: rootfs\n" "  type: initrd\n"
        )
    )
    assert base(plan) == "harbor.nbfc.io/foo:latest"
    assert copies(plan) == {"/.boot/kernel": ("kernel", None)}
    assert labels(plan)["initrd"] == "rootfs" and labels(plan)["binary"] == "/.boot/kernel"


def test_kernel_local_rootfs_remote_no_type_is_raw() -> None:
    plan = plan_of(kernel_local("linux", "rootfs:\n  from: harbor.nbfc.io/foo\n"))
    assert base(plan) == "harbor.nbfc.io/foo:latest"
    assert labels(plan)["mountRootfs"] == "true" and "initrd" not in labels(plan)


def test_kernel_local_rootfs_scratch_includes_unikraft_builds_an_initrd() -> None:
    plan = plan_of(
        kernel_local("unikraft", "rootfs:\n  from: scratch\n  include:\n" "    - foo:bar\n")
    )
    assert plan.rootfs is not None
    assert (plan.rootfs.kind, plan.rootfs.path) == ("initrd", "/.boot/rootfs")
    assert [(i.source, i.dest, i.image) for i in plan.rootfs.includes] == [("foo", "bar", None)]
    assert copies(plan) == {"/.boot/kernel": ("kernel", None)}
    assert labels(plan)["initrd"] == "/.boot/rootfs" and labels(plan)["mountRootfs"] == "false"
    assert plan.copy_sources() == ("kernel", "foo")  # both come from the build context


def test_kernel_local_rootfs_scratch_includes_linux_is_raw_files() -> None:
    plan = plan_of(kernel_local("linux", "rootfs:\n  from: scratch\n  include:\n    - foo:bar\n"))
    assert plan.rootfs is None and base(plan) is None
    assert copies(plan) == {"/.boot/kernel": ("kernel", None), "bar": ("foo", None)}
    assert labels(plan)["mountRootfs"] == "true"


def test_kernel_registry_rootfs_local_unikraft() -> None:
    plan = plan_of(kernel_image("unikraft", "rootfs:\n  from: local\n  path: rootfs\n"))
    assert base(plan) == "harbor.nbfc.io/foo:latest"
    assert copies(plan) == {"/.boot/rootfs": ("rootfs", None)}
    assert labels(plan)["binary"] == "/kernel" and labels(plan)["initrd"] == "/.boot/rootfs"


def test_kernel_remote_rootfs_remote_initrd() -> None:
    plan = plan_of(
        kernel_image(
            "linux", "rootfs:\n  from: harbor.nbfc.io/bar\n  path: rootfs\n" "  type: initrd\n"
        )
    )
    assert base(plan) == "harbor.nbfc.io/bar:latest"  # the rootfs image is the base
    assert copies(plan) == {"/.boot/kernel": ("/kernel", "harbor.nbfc.io/foo:latest")}
    assert labels(plan)["binary"] == "/.boot/kernel" and labels(plan)["initrd"] == "rootfs"


def test_kernel_registry_rootfs_scratch_includes_unikraft() -> None:
    plan = plan_of(
        kernel_image(
            "unikraft",
            "rootfs:\n  from: scratch\n  include:\n" "    - foo:bar\n",
            image="harbor.nbfc.io/bar",
        )
    )
    assert base(plan) == "harbor.nbfc.io/bar:latest" and plan.copies == ()
    assert plan.rootfs is not None and plan.rootfs.kind == "initrd"
    assert labels(plan)["binary"] == "/kernel" and labels(plan)["initrd"] == "/.boot/rootfs"


def test_block_rootfs_labels_and_the_rumprun_mount_point() -> None:
    for framework, mount in (("linux", "/"), ("rumprun", "/data")):
        plan = plan_of(
            kernel_local(framework, "rootfs:\n  from: local\n  path: disk.img\n" "  type: block\n")
        )
        assert labels(plan)["block"] == "/.boot/rootfs"
        assert labels(plan)["blkMntPoint"] == mount
        assert labels(plan)["mountRootfs"] == "false"


def test_block_built_from_includes_is_a_rootfs_request() -> None:
    # bunny cannot build block images (hops/generic.go CreateRootfs); pun plans one.
    plan = plan_of(kernel_local("linux", "rootfs:\n  type: block\n  include:\n    - data:/srv\n"))
    assert plan.rootfs is not None and plan.rootfs.kind == "block"
    assert labels(plan)["block"] == "/.boot/rootfs" and labels(plan)["blkMntPoint"] == "/"


def test_includes_from_another_image_and_raw_on_an_image() -> None:
    text = kernel_local(
        "linux",
        dedent(
            """\
        rootfs:
          from: debian:bookworm
          type: raw
          include:
            - app:/usr/bin/app
            - from: busybox:1.36
              source: /bin/busybox
              destination: /bin/sh
        """
        ),
    )
    plan = plan_of(text)
    assert base(plan) == "docker.io/library/debian:bookworm"
    assert copies(plan) == {
        "/.boot/kernel": ("kernel", None),
        "/usr/bin/app": ("app", None),
        "/bin/sh": ("/bin/busybox", "docker.io/library/busybox:1.36"),
    }
    assert [c.line for c in plan.copies] == [7, 12, 13]
    assert plan.copy_sources() == ("kernel", "app")  # the busybox file is no context file


def test_config_cmd_entrypoint_envs() -> None:
    text = kernel_local("linux") + 'entrypoint: ["/init", "-v"]\nenvs:\n  - HOME=/root\n  - A=b=c\n'
    generated = generate(dedent(text), GenerateOptions(path="bunnyfile"))
    config = generated.image.config_for(None)["config"]
    assert config["Entrypoint"] == ["/init", "-v"] and config["Cmd"] == ["cmd"]
    assert config["Env"][-2:] == ["HOME=/root", "A=b=c"]
    assert config["Labels"][P + "cmdline"] == "cmd"  # bunny: cmd only, not the entrypoint
    # urunc 0.7 boots Entrypoint+Cmd, 0.5/0.6 the label: the bridge says they differ
    assert any("cmdline" in w.message for w in generated.warnings)


def test_envs_entry_without_equals_is_an_error() -> None:
    (diagnostic,) = failure(kernel_local("linux") + "envs:\n  - HOME\n").diagnostics
    assert diagnostic.line == 10 and "KEY=VALUE" in diagnostic.message


@pytest.mark.parametrize(
    "text, line, message",
    [
        ("version: v0.1\nplatforms: [a, b]\n", 2, "platforms must be a mapping"),
        (
            "version: v0.1\nplatforms:\n  framework: [a]\n",
            3,
            "platforms.framework must be a single value",
        ),
        (kernel_local() + "cmd: x\n", 9, "given twice (first at line 8)"),
        (kernel_local().replace('cmd: ["cmd"]', "cmd: app"), 8, "cmd must be a list"),
        ("version: v0.1\nplatforms:\n  framework: a\n  framework: b\n", 4, "given twice"),
    ],
)
def test_yaml_shape_errors_name_the_node_line(text: str, line: int, message: str) -> None:
    (diagnostic,) = failure(text).diagnostics
    assert message in diagnostic.message and diagnostic.line == line, diagnostic


def test_unknown_fields_are_warned_about_with_their_line() -> None:
    plan = plan_of(kernel_local() + "entrypont: [x]\n")
    (note,) = [w for w in plan.warnings if "entrypont" in w.message]
    assert note.line == 9 and "ignored" in note.message


# --- architecture -----------------------------------------------------------------------------

ARCH = kernel_local("linux").replace("  monitor: qemu\n", "  monitor: qemu\n  architecture: {}\n")


@pytest.mark.parametrize(
    "written, arch",
    [("x86", "amd64"), ("x86_64", "amd64"), ("aarch64", "arm64"), ("arm64", "arm64")],
)
def test_architecture_sets_the_target_platform(written: str, arch: str) -> None:
    generated = generate(dedent(ARCH.format(written)), GenerateOptions(path="bunnyfile"))
    assert generated.image.platform == Platform("linux", arch)
    assert generated.image.config_for(None)["architecture"] == arch


def test_architecture_against_an_explicit_platform() -> None:
    same = GenerateOptions(
        path="bunnyfile", target_platform=Platform("linux", "arm64"), platform_given=True
    )
    assert generate(dedent(ARCH.format("aarch64")), same).image.platform.architecture == "arm64"
    (diagnostic,) = failure(
        ARCH.format("x86"), target_platform=Platform("linux", "arm64"), platform_given=True
    ).diagnostics
    assert diagnostic.line == 5 and "linux/arm64" in diagnostic.message
    (unknown,) = failure(ARCH.format("sparc")).diagnostics
    assert unknown.line == 5 and "unknown architecture" in unknown.message


def test_unikraft_firecracker_images_are_pulled_as_fc() -> None:
    text = kernel_image(
        "unikraft", "rootfs:\n  from: local\n  path: r\n", image="unikraft.org/base:latest"
    ).replace("monitor: qemu", "monitor: firecracker")
    plan = plan_of(text)
    assert plan.base.platform == Platform("fc", "amd64")  # hops/llb.go GetSourceState


# --- the command line -------------------------------------------------------------------------

# Absolute: the subprocess runs in tmp_path, and Pants' sys.path holds relative entries.
ENV = {
    **os.environ,
    "PYTHONPATH": os.pathsep.join(
        [str(buildroot() / "src" / "python"), *(os.path.abspath(p) for p in sys.path if p)]
    ),
}


def test_cli_error_is_one_line_pair_and_no_traceback(tmp_path: Path) -> None:
    (tmp_path / "bunnyfile").write_text("version: v0.1\nplatforms:\n  framework: foo\n")
    done = subprocess.run(
        [sys.executable, "-m", "pun.cli.main", "--LLB", "-f", "bunnyfile"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
        env=ENV,
    )
    assert done.returncode == 1 and done.stdout == ""
    assert done.stderr.startswith("bunnyfile:3: error: platforms.monitor is required\n")
    assert "Traceback" not in done.stderr


def test_containerfiles_do_not_import_yaml(tmp_path: Path) -> None:
    (tmp_path / "Containerfile").write_text("FROM scratch\nLABEL a=b\n")
    code = (
        "import sys\nfrom pun.cli.main import main\n"
        "try:\n    main(['--LLB', '-f', 'Containerfile'])\nexcept SystemExit:\n    pass\n"
        "assert 'yaml' not in sys.modules, 'yaml imported'\n"
        "assert 'pun.bunnyfile' not in sys.modules\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, capture_output=True, check=False, env=ENV
    )
    assert done.returncode == 0, done.stderr


def test_odd_yaml_is_one_error_each() -> None:
    deep = failure("version: " + "[" * 5000 + "]" * 5000)  # PyYAML recurses per level
    assert "nested too deeply" in str(deep)
    (nul,) = failure("version: v0.1\n\x00").diagnostics
    assert nul.line == 2 and "not valid YAML" in nul.message
    (two,) = failure("version: v0.1\n---\nversion: v0.1\n").diagnostics
    assert "single document" in two.message
    (ref,) = failure(kernel_local().replace("from: local", 'from: "bad ref!"')).diagnostics
    assert ref.line == 6 and "use `local`, `scratch` or an image reference" in ref.hint


def test_unknown_keys_inside_an_include_are_warned_about() -> None:
    plan = plan_of(
        kernel_local(
            "linux", "rootfs:\n  include:\n    - {source: a, destination: " "/a, mode: 644}\n"
        )
    )
    (note,) = [w for w in plan.warnings if "mode" in w.message]
    assert note.line == 10 and "rootfs.include[0].mode" in note.message
