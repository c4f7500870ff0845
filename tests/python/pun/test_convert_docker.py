"""The LLB of a COPY, as BuildKit's Dockerfile frontend makes it (the default), and as the
original pun made it (`compat="pun"`).

Stated facts from moby/buildkit v0.32.2 `frontend/dockerfile/dockerfile2llb/convert_copy.go`
(`dispatchCopy`: one copy action per source in one FileOp, FollowSymlinks, CopyDirContentsOnly,
CreateDestPath, AllowWildcard, AllowEmptyWildcard; mode from --chmod, owner from --chown),
`convert.go` (`pathRelativeToWorkingDir`, `dispatchWorkdir`'s mkdir 0755 with parents,
`filterPaths` → `local.followpaths`) and `frontend/dockerui/config.go` (`MainContext`:
`local.excludepatterns`). The resulting files are checked against a real BuildKit in
solve/test_copy_oracles.py.
"""

from __future__ import annotations

import json
from typing import Any, Dict, List

import pytest

from pun.api import GenerateOptions, generate
from pun.convert import resolve_dest
from pun.llb.dump import dump_lines

TEXT = """\
FROM scratch
COPY --chmod=750 --chown=1000:2000 data/ extra.txt /srv/d/
WORKDIR /app
COPY a.txt .
"""


def ops(text: str, **options: Any) -> List[Dict[str, Any]]:
    definition = generate(text, GenerateOptions(local_unique_id="u", **options)).definition
    return [json.loads(line)["Op"] for line in dump_lines(definition)]


def actions(op: Dict[str, Any]) -> List[Dict[str, Any]]:
    return [a["Action"] for a in op["Op"]["file"]["actions"]]


def test_each_copy_is_one_fileop_with_one_action_per_source() -> None:
    local, copy, mkdir, copy2, _mkfile, _terminal = ops(TEXT)
    assert local["Op"]["source"]["identifier"] == "local://context"
    first, second = (a["copy"] for a in actions(copy))
    docker_flags = {
        "followSymlink": True,
        "dirCopyContents": True,
        "createDestPath": True,
        "allowWildcard": True,
        "allowEmptyWildcard": True,
        "timestamp": -1,
    }
    assert first == {
        "src": "/data",
        "dest": "/srv/d/",
        "mode": 0o750,
        "owner": {"user": {"User": {"byID": 1000}}, "group": {"User": {"byID": 2000}}},
        **docker_flags,
    }
    assert second["src"] == "/extra.txt" and second["dest"] == "/srv/d/"
    assert actions(mkdir) == [
        {"mkdir": {"path": "/app", "mode": 0o755, "makeParents": True, "timestamp": -1}}
    ]
    assert actions(copy2)[0]["copy"]["dest"] == "/app/"


def test_the_context_source_carries_copy_paths_and_ignore_patterns() -> None:
    local = ops(TEXT, context_excludes=("*.tmp", "!keep.tmp"))[0]
    assert local["Op"]["source"]["attrs"] == {
        "local.excludepatterns": '["*.tmp","!keep.tmp"]',
        "local.followpaths": '["a.txt","data","extra.txt"]',
        "local.unique": "u",
    }
    # `COPY . /` reads the whole context: no followpaths at all.
    local = ops("FROM scratch\nCOPY a ./. /x/\n")[0]
    assert local["Op"]["source"]["attrs"] == {"local.unique": "u"}


def test_compat_pun_keeps_the_originals_copy() -> None:
    local, copy, copy2, _mkfile, _terminal = ops(TEXT, compat="pun", context_excludes=("ignored",))
    assert local["Op"]["source"]["attrs"] == {"local.unique": "u"}
    assert [a["copy"]["dest"] for a in actions(copy) + actions(copy2)] == [
        "/srv/d/",
        "/srv/d/",
        "/",
    ]
    for action in actions(copy) + actions(copy2):
        flags = set(action["copy"]) & {"followSymlink", "dirCopyContents", "allowWildcard"}
        assert not flags


@pytest.mark.parametrize(
    "workdir, dest, expected",
    [
        ("/", "x", "/x"),
        ("/app", "x", "/app/x"),
        ("/app", ".", "/app/"),
        ("/app", "", "/app/"),
        ("/app", "./", "/app/"),
        ("/app", "sub/", "/app/sub/"),
        ("/app", "sub/.", "/app/sub/."),
        ("/app", "../up", "/up"),
        ("/app", "/abs/../kept/", "/abs/../kept/"),  # llb's marshal cleans it later
        ("/app/", "x", "/app/x"),
    ],
)
def test_relative_destinations_join_the_workdir(workdir: str, dest: str, expected: str) -> None:
    assert resolve_dest(workdir, dest) == expected


def test_unknown_compat_is_an_error() -> None:
    from pun.diagnostics import PunError

    with pytest.raises(PunError, match="unknown compat mode"):
        generate("FROM scratch\n", GenerateOptions(compat="podman"))
