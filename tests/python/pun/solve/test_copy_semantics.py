"""BuildKit's copy rules, one at a time, on LLB built with the core's own State API.

Each expectation is BuildKit's documented/observed behaviour (fsutil Copy + the file backend):
a trailing slash or an existing directory means "into", a new destination is the source itself.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Dict, List

import pytest

from pun.diagnostics import PunError
from pun.imagespec import ImageSpec
from pun.llb.marshal import MarshalOptions, marshal
from pun.llb.state import Copy, Mkdir, Mkfile, Owner, State, local, scratch
from pun.solve import BuildOptions, build
from pun_testing.rootfs import listing

CONTEXT = local("context")


def make_context(root: Path, files: Dict[str, str]) -> Path:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        path.chmod(0o644)
    for directory in [root, *[p for p in root.rglob("*") if p.is_dir()]]:
        directory.chmod(0o755)
    return root


def solve(tmp_path: Path, state: State, context: Path, name: str = "out") -> Path:
    definition = marshal(state, MarshalOptions(local_unique_id="test"))
    dest = tmp_path / name
    build(
        definition,
        str(context),
        ImageSpec.from_labels({}),
        f"type=local,dest={dest}",
        options=BuildOptions(cache_dir=str(tmp_path / "cache"), progress="quiet"),
    )
    return dest


def files(root: Path) -> List[str]:
    return [line.split(" ")[0] for line in listing(root)]


@pytest.fixture
def context(tmp_path: Path) -> Path:
    return make_context(
        tmp_path / "ctx",
        {"f": "file", "src/a": "a", "src/sub/b": "b", "x.txt": "x", "y.txt": "y", "z.bin": "z"},
    )


def copy(src: str, dest: str, **kwargs: object) -> Copy:
    return Copy(source=CONTEXT, src=src, dest=dest, **kwargs)  # type: ignore[arg-type]


def test_trailing_slash_copies_into_a_new_directory(tmp_path: Path, context: Path) -> None:
    out = solve(tmp_path, scratch().file(copy("f", "/d/")), context)
    assert files(out) == ["./d/", "./d/f"]


def test_no_trailing_slash_names_the_new_file(tmp_path: Path, context: Path) -> None:
    out = solve(tmp_path, scratch().file(copy("f", "/d")), context)
    assert files(out) == ["./d"]


def test_a_file_onto_an_existing_directory_lands_inside(tmp_path: Path, context: Path) -> None:
    state = scratch().file(Mkdir("/d", 0o755)).file(copy("f", "/d"))
    assert files(solve(tmp_path, state, context)) == ["./d/", "./d/f"]


def test_a_directory_onto_a_new_path_is_the_directory_itself(tmp_path: Path, context: Path) -> None:
    out = solve(tmp_path, scratch().file(copy("src", "/out")), context)
    assert files(out) == ["./out/", "./out/a", "./out/sub/", "./out/sub/b"]


def test_a_directory_onto_an_existing_directory_lands_inside(tmp_path: Path, context: Path) -> None:
    state = scratch().file(Mkdir("/out", 0o755)).file(copy("src", "/out"))
    assert files(solve(tmp_path, state, context)) == [
        "./out/",
        "./out/src/",
        "./out/src/a",
        "./out/src/sub/",
        "./out/src/sub/b",
    ]


def test_dir_copy_contents_merges_the_contents(tmp_path: Path, context: Path) -> None:
    state = scratch().file(Mkdir("/out", 0o755)).file(copy("src", "/out", dir_copy_contents=True))
    assert files(solve(tmp_path, state, context)) == [
        "./out/",
        "./out/a",
        "./out/sub/",
        "./out/sub/b",
    ]


def test_wildcards_expand_only_when_allowed(tmp_path: Path, context: Path) -> None:
    out = solve(tmp_path, scratch().file(copy("*.txt", "/t/", allow_wildcard=True)), context)
    assert files(out) == ["./t/", "./t/x.txt", "./t/y.txt"]
    with pytest.raises(PunError, match="not found"):
        solve(tmp_path, scratch().file(copy("*.txt", "/t/")), context, "literal")


def test_an_empty_wildcard_fails_unless_allowed(tmp_path: Path, context: Path) -> None:
    with pytest.raises(PunError, match="matches nothing"):
        solve(tmp_path, scratch().file(copy("*.none", "/t/", allow_wildcard=True)), context, "a")
    # docopy returns before fsutil's Copy runs, so not even the destination is created
    # (a real BuildKit v0.32.2 leaves /t out too).
    state = scratch().file(copy("*.none", "/t/", allow_wildcard=True, allow_empty_wildcard=True))
    assert files(solve(tmp_path, state, context, "b")) == []


def test_mode_override_applies_to_files_dirs_and_created_parents(
    tmp_path: Path, context: Path
) -> None:
    # `/p/q/` exists once its directory part is created, so the directory lands inside it.
    out = solve(tmp_path, scratch().file(copy("src", "/p/q/", mode=0o700)), context)
    modes = {line.split(" ")[0]: line.split(" ")[1] for line in listing(out)}
    assert modes == {
        "./p/": "700",
        "./p/q/": "700",
        "./p/q/src/": "700",
        "./p/q/src/a": "700",
        "./p/q/src/sub/": "700",
        "./p/q/src/sub/b": "700",
    }


def test_default_owner_is_root_and_chown_by_id_sets_both(tmp_path: Path, context: Path) -> None:
    out = solve(
        tmp_path,
        scratch().file(copy("f", "/plain")).file(copy("f", "/owned", owner=Owner(1000))),
        context,
    )
    if os.geteuid() != 0:
        pytest.skip("owners are only written by root")
    assert (os.lstat(out / "plain").st_uid, os.lstat(out / "plain").st_gid) == (0, 0)
    assert (os.lstat(out / "owned").st_uid, os.lstat(out / "owned").st_gid) == (1000, 1000)
    out = solve(tmp_path, scratch().file(copy("f", "/g", owner=Owner(1000, 2000))), context, "g")
    assert (os.lstat(out / "g").st_uid, os.lstat(out / "g").st_gid) == (1000, 2000)


def test_chown_by_name_on_scratch_is_a_clear_error(tmp_path: Path, context: Path) -> None:
    with pytest.raises(PunError, match="FROM scratch"):
        solve(tmp_path, scratch().file(copy("f", "/f", owner=Owner("app"))), context)


def test_symlinks_are_copied_as_symlinks(tmp_path: Path, context: Path) -> None:
    os.symlink("f", context / "link")
    out = solve(tmp_path, scratch().file(copy("link", "/l")), context)
    assert os.readlink(out / "l") == "f"


def test_missing_parent_without_create_dest_path_fails(tmp_path: Path, context: Path) -> None:
    with pytest.raises(PunError, match="does not exist"):
        solve(tmp_path, scratch().file(copy("f", "/no/such/f", create_dest_path=False)), context)


def test_a_file_cannot_replace_a_directory(tmp_path: Path, context: Path) -> None:
    state = scratch().file(Mkdir("/d/f", 0o755, make_parents=True)).file(copy("f", "/d/"))
    with pytest.raises(PunError, match="cannot replace directory /d/f"):
        solve(tmp_path, state, context)


def test_mkfile_and_mkdir(tmp_path: Path, context: Path) -> None:
    state = (
        scratch().file(Mkdir("/a/b", 0o750, make_parents=True)).file(Mkfile("/a/b/c", 0o600, b"hi"))
    )
    out = solve(tmp_path, state, context)
    assert listing(out)[:2] == ["./a/ 750", "./a/b/ 750"]
    assert (out / "a" / "b" / "c").read_bytes() == b"hi"
    assert stat.S_IMODE(os.lstat(out / "a" / "b" / "c").st_mode) == 0o600


def test_several_actions_in_one_file_op_chain(tmp_path: Path, context: Path) -> None:
    state = scratch().file(copy("f", "/one"), copy("src/a", "/two"), Mkfile("/three", 0o644, b"3"))
    assert files(solve(tmp_path, state, context)) == ["./one", "./three", "./two"]


def test_later_ops_overwrite_earlier_files(tmp_path: Path, context: Path) -> None:
    state = scratch().file(copy("f", "/same")).file(copy("src/a", "/same"))
    out = solve(tmp_path, state, context)
    assert (out / "same").read_text() == "a"
