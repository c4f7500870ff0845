"""Where a diagnostic says the problem is: the file as the user named it, or the flag."""

from __future__ import annotations

from pathlib import Path
from typing import List, Tuple

import pytest

from pun.cli.main import main
from pun.diagnostics import Diagnostic, Severity

# COPY with a flag pun refuses: an error at line 2 that `pun --LLB` and `pun build` both reach.
BAD_COPY = "FROM scratch\nCOPY --bogus=1 a /a\n"


def run(capfd: pytest.CaptureFixture[str], argv: List[str]) -> Tuple[int, str, str]:
    code = main(argv)
    captured = capfd.readouterr()
    return code, captured.out, captured.err


@pytest.fixture
def context(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "Containerfile").write_text(BAD_COPY)
    (tmp_path / "a").write_text("a")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_build_and_llb_name_the_default_containerfile_alike(
    context: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    code, out, llb_err = run(capfd, ["--LLB", "-f", "Containerfile"])
    assert (code, out) == (1, "")
    code, out, build_err = run(capfd, ["build", "--output", f"type=oci,dest={context}/o.tar"])
    assert (code, out) == (1, "")
    assert llb_err.startswith("Containerfile:2: error: ")
    assert build_err.splitlines()[0] == llb_err.splitlines()[0]
    assert not (context / "o.tar").exists()


def test_a_path_is_kept_as_written(context: Path, capfd: pytest.CaptureFixture[str]) -> None:
    for argv in (["--LLB"], ["build", "--output", f"type=oci,dest={context}/o.tar"]):
        code, _, err = run(capfd, [*argv, "-f", "./Containerfile"])
        assert code == 1 and err.startswith("./Containerfile:2: error: "), err
    code, _, err = run(
        capfd, ["build", "--context", str(context), "--output", f"type=oci,dest={context}/o.tar"]
    )
    assert code == 1 and err.startswith(f"{context}/Containerfile:2: error: "), err


@pytest.mark.parametrize(
    "spec, message",
    [
        ("type=bogus", "error: --output type 'bogus' is not supported"),
        ("dest=x", "error: --output 'dest=x' has no type="),
        ("type=oci", "error: --output 'type=oci': type=oci needs dest="),
    ],
)
def test_output_errors_name_the_flag(
    context: Path, capfd: pytest.CaptureFixture[str], spec: str, message: str
) -> None:
    code, out, err = run(capfd, ["build", "--output", spec])
    assert (code, out) == (1, "")
    assert err.splitlines()[0] == message
    assert "<input>" not in err


def test_rendering_without_a_file() -> None:
    assert Diagnostic(Severity.ERROR, "--x is bad").render() == "error: --x is bad"
    assert Diagnostic(Severity.WARNING, "w", "", 3).render() == "line 3: warning: w"
    assert Diagnostic(Severity.ERROR, "m", "F", 2, "do").render() == "F:2: error: m\n  hint: do"


# What Python makes of an argument or variable holding the byte 0xff (not UTF-8): a surrogate
# escape (PEP 383). It must end in one error naming the flag, not a UnicodeEncodeError.
NOT_UTF8 = b"\xff".decode("utf-8", "surrogateescape")


@pytest.mark.parametrize(
    "argv, says",
    [
        (["--LLB", "-f", "Containerfile", "--build-arg", f"A={NOT_UTF8}"], "--build-arg 'A'"),
        (["--LLB", "-f", "Containerfile", "--build-arg", "FROM_ENV"], "--build-arg 'FROM_ENV'"),
        (["--LLB", "-f", "Containerfile", "--local-unique-id", NOT_UTF8], "--local-unique-id"),
        (
            ["build", "--output", "type=oci,dest=o.tar", "--annotation", f"k={NOT_UTF8}"],
            "--annotation 'k'",
        ),
    ],
)
def test_arguments_that_are_not_utf8_are_one_error_naming_the_flag(
    argv: List[str],
    says: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capfd: pytest.CaptureFixture[str],
) -> None:
    (tmp_path / "Containerfile").write_text(
        "FROM scratch\nARG A\nARG FROM_ENV\nCOPY a /a\nLABEL a=$A b=$FROM_ENV\n"
    )
    (tmp_path / "a").write_text("a")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("FROM_ENV", NOT_UTF8)
    code, out, err = run(capfd, argv)
    assert (code, out) == (1, "")
    assert f"error: {says}: not UTF-8 text" in err and "Traceback" not in err
    assert not (tmp_path / "o.tar").exists()
