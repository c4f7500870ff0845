"""The CLI against the original pun's recorded output (tests/data/pun-reference).

Byte parity is what `--compat pun` promises; the default (docker's COPY semantics) differs.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import List, Tuple

import pytest

import pun
from pun.cli.main import main
from pun_testing.shared import CASES, FIXTURE_UNIQUE_ID, PARITY_CASES


def run(capfdbinary: pytest.CaptureFixture[bytes], argv: List[str]) -> Tuple[int, bytes, str]:
    code = main(argv)
    captured = capfdbinary.readouterr()
    return code, captured.out, captured.err.decode("utf-8")


@pytest.mark.parametrize("case", PARITY_CASES)
def test_llb_is_byte_identical_to_the_original(
    case: str, capfdbinary: pytest.CaptureFixture[bytes]
) -> None:
    code, out, _ = run(
        capfdbinary,
        [
            "--LLB",
            "--compat",
            "pun",
            "-f",
            str(CASES / case / "Containerfile"),
            "--local-unique-id",
            FIXTURE_UNIQUE_ID,
        ],
    )
    assert code == 0
    assert out == (CASES / case / "expected" / "llb").read_bytes()


@pytest.mark.parametrize("case", PARITY_CASES)
def test_dump_matches_buildctl_dump_llb(
    case: str, capfdbinary: pytest.CaptureFixture[bytes]
) -> None:
    code, out, _ = run(
        capfdbinary,
        [
            "--dump",
            "--compat",
            "pun",
            "-f",
            str(CASES / case / "Containerfile"),
            "--local-unique-id",
            FIXTURE_UNIQUE_ID,
        ],
    )
    assert code == 0
    assert out.decode("utf-8") == (CASES / case / "expected" / "dump.jsonl").read_text()


def test_original_flag_spellings(capfdbinary: pytest.CaptureFixture[bytes]) -> None:
    path = str(CASES / "rumprun-redis" / "Containerfile")
    expected = (CASES / "rumprun-redis" / "expected" / "llb").read_bytes()
    for argv in (["-LLB", "-file", path], ["--LLB", "--file", path], ["-LLB", "-f", path]):
        code, out, _ = run(
            capfdbinary, [*argv, "--compat", "pun", "--local-unique-id", FIXTURE_UNIQUE_ID]
        )
        assert (code, out) == (0, expected)


def test_ignored_instructions_warn_on_stderr_only(
    capfdbinary: pytest.CaptureFixture[bytes],
) -> None:
    path = CASES / "unsupported-instructions" / "Containerfile"
    code, out, err = run(
        capfdbinary,
        ["--LLB", "--compat", "pun", "-f", str(path), "--local-unique-id", FIXTURE_UNIQUE_ID],
    )
    assert code == 0
    assert out == (CASES / "scratch-single" / "expected" / "llb").read_bytes()
    lines = path.read_text().splitlines()
    for keyword in ("ENV", "RUN", "EXPOSE", "CMD"):
        number = next(i for i, text in enumerate(lines, 1) if text.startswith(keyword))
        warnings = [
            w for w in err.splitlines() if f"Containerfile:{number}: warning: {keyword}" in w
        ]
        # RUN is ignored (one warning); ENV, EXPOSE and exec-form CMD go into the config.
        assert len(warnings) == (1 if keyword == "RUN" else 0), err


@pytest.mark.parametrize(
    "case, must_say",
    [("err-multistage", "multi-stage"), ("err-no-from", "no FROM")],
)
def test_errors_exit_non_zero_with_nothing_on_stdout(
    case: str, must_say: str, capfdbinary: pytest.CaptureFixture[bytes]
) -> None:
    code, out, err = run(capfdbinary, ["--LLB", "-f", str(CASES / case / "Containerfile")])
    assert code == 1
    assert out == b""
    assert must_say in err
    assert f"{case}/Containerfile:" in err and "hint:" in err


def test_registry_base_gets_the_ordinary_linux_platform(
    capfdbinary: pytest.CaptureFixture[bytes],
) -> None:
    import json

    path = CASES / "registry-base" / "Containerfile"
    code, out, _ = run(
        capfdbinary,
        ["--dump", "--compat", "pun", "-f", str(path), "--local-unique-id", FIXTURE_UNIQUE_ID],
    )
    assert code == 0
    first = json.loads(out.decode().splitlines()[0])
    assert first["Op"]["platform"] == {"Architecture": "amd64", "OS": "linux"}
    reference = json.loads(
        (CASES / "registry-base" / "reference-pun.dump.jsonl").read_text().splitlines()[0]
    )
    # The same op as the original's but for the platform it forced.
    assert first["Op"]["Op"] == reference["Op"]["Op"]
    assert reference["Op"]["platform"]["OS"] == "qemu"


def test_platform_flag_sets_the_arch(capfdbinary: pytest.CaptureFixture[bytes]) -> None:
    import json

    for case, os_name in (("registry-base", "linux"), ("unikraft-nginx", "qemu")):
        code, out, _ = run(
            capfdbinary,
            ["--dump", "--platform", "linux/arm64", "-f", str(CASES / case / "Containerfile")],
        )
        assert code == 0
        first = json.loads(out.decode().splitlines()[0])
        assert first["Op"]["platform"] == {"Architecture": "arm64", "OS": os_name}


def test_local_unique_id_is_random_per_run_by_default(
    capfdbinary: pytest.CaptureFixture[bytes],
) -> None:
    path = str(CASES / "rumprun-redis" / "Containerfile")
    outs = {run(capfdbinary, ["--LLB", "-f", path])[1] for _ in range(3)}
    assert len(outs) == 3


def test_missing_file_is_a_clean_error(
    tmp_path: Path, capfdbinary: pytest.CaptureFixture[bytes]
) -> None:
    code, out, err = run(capfdbinary, ["--LLB", "-f", str(tmp_path / "nope")])
    assert (code, out) == (1, b"")
    assert "cannot read" in err and "nope" in err


def test_no_file_argument(capfdbinary: pytest.CaptureFixture[bytes]) -> None:
    code, out, err = run(capfdbinary, ["--LLB"])
    assert (code, out) == (1, b"")
    assert "-f" in err


def test_frontend_mode_not_available_yet(capfdbinary: pytest.CaptureFixture[bytes]) -> None:
    code, out, err = run(capfdbinary, ["-f", "Containerfile"])
    assert (code, out) == (2, b"")
    assert "--LLB" in err


def test_version(capfdbinary: pytest.CaptureFixture[bytes]) -> None:
    code, out, _ = run(capfdbinary, ["--version"])
    assert code == 0 and out.startswith(b"pun version ")


def test_strict_turns_urunc_findings_into_errors(
    tmp_path: Path, capfdbinary: pytest.CaptureFixture[bytes]
) -> None:
    containerfile = tmp_path / "Containerfile"
    containerfile.write_text(
        "FROM scratch\nCOPY app /unikernel/app\n"
        "LABEL com.urunc.unikernel.binary=/unikernel/app\n"
        "LABEL com.urunc.unikernel.unikernelType=rumprun\n"
        "LABEL com.urunc.unikernel.hypervisor=qemu\n"
    )
    code, out, err = run(capfdbinary, ["--LLB", "-f", str(containerfile)])
    assert (
        code == 0
        and out
        and "Containerfile:5: warning: urunc cannot run a rumprun unikernel on qemu" in err
    )
    code, out, err = run(capfdbinary, ["--LLB", "--strict", "-f", str(containerfile)])
    assert (code, out) == (1, b"")
    assert "Containerfile:5: error: urunc cannot run a rumprun unikernel on qemu" in err


def test_build_args_reach_from_copy_and_label(
    tmp_path: Path, capfdbinary: pytest.CaptureFixture[bytes]
) -> None:
    import json

    containerfile = tmp_path / "Containerfile"
    containerfile.write_text(
        "ARG REGISTRY=127.0.0.1:5000\nFROM ${REGISTRY}/base:1\nARG APP=default\n"
        "COPY ${APP}.hvt /unikernel/\nLABEL com.urunc.unikernel.binary=/unikernel/${APP}.hvt\n"
    )
    code, out, _ = run(
        capfdbinary,
        [
            "--dump",
            "--build-arg",
            "APP=redis",
            "--build-arg",
            "REGISTRY=localhost",
            "-f",
            str(containerfile),
        ],
    )
    assert code == 0
    ops = [json.loads(line) for line in out.decode().splitlines()]
    assert ops[0]["Op"]["Op"]["source"]["identifier"] == "docker-image://localhost/base:1"
    copy = ops[2]["Op"]["Op"]["file"]["actions"][0]["Action"]["copy"]
    assert (copy["src"], copy["dest"]) == ("/redis.hvt", "/unikernel/")


def test_subcommands_report_errors_and_interrupts_without_a_traceback(
    capfdbinary: pytest.CaptureFixture[bytes],
) -> None:
    from pun.cli.options import run_command
    from pun.diagnostics import error

    def fails() -> int:
        raise error("it broke", "Containerfile", 3, "fix it")

    def interrupted() -> int:
        raise KeyboardInterrupt

    assert run_command("pun build", fails) == 1
    assert run_command("pun build", interrupted, "no output was written") == 130
    captured = capfdbinary.readouterr()
    assert captured.out == b""
    assert captured.err.decode() == (
        "Containerfile:3: error: it broke\n  hint: fix it\n"
        "pun build: interrupted; no output was written\n"
    )


def test_help_names_the_subcommands_and_follows_columns(
    capfdbinary: pytest.CaptureFixture[bytes], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "60")
    with pytest.raises(SystemExit) as exited:
        main(["--help"])
    assert exited.value.code == 0
    text = capfdbinary.readouterr().out.decode()
    assert "pun build ..." in text and "pun push ..." in text
    # argparse wraps option help at the width we hand it (COLUMNS - 2), not at 80.
    assert max(len(line) for line in text.splitlines() if line.startswith("  -")) <= 58


@pytest.mark.parametrize("module", ["pun", "pun.cli"])
def test_python_dash_m_runs_pun(module: str) -> None:
    """`python -m pun` and `python -m pun.cli` are the `pun` command (a source checkout)."""
    case = PARITY_CASES[0]
    source_root = str(Path(pun.__file__).parent.parent)
    completed = subprocess.run(
        [sys.executable, "-m", module, "--LLB", "--compat", "pun"]
        + ["-f", str(CASES / case / "Containerfile"), "--local-unique-id", FIXTURE_UNIQUE_ID],
        capture_output=True,
        env={**os.environ, "PYTHONPATH": source_root},
        check=False,
    )
    assert completed.returncode == 0, completed.stderr.decode()
    assert completed.stdout == (CASES / case / "expected" / "llb").read_bytes()
