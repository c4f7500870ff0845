"""Immutable LLB states, in the manner of BuildKit's client/llb.

A `State` is a point in the graph (scratch, an image, a local directory, or the result of file
actions). Nothing is serialized here; `pun.llb.marshal` turns a State into Definition bytes.
"""

from __future__ import annotations

from pun.gopath import clean, clean_absolute
from pun.platform import Platform
from pun.records import Record

TYPE_CHECKING = False  # typing is imported for mypy only: see pun.records
if TYPE_CHECKING:
    from typing import Optional, Tuple, Union

IMAGE_SCHEME = "docker-image://"
LOCAL_SCHEME = "local://"
# Local source attrs (BuildKit solver/pb/attr.go; "includepattern" has no trailing s).
LOCAL_INCLUDE_PATTERNS = "local.includepattern"
LOCAL_FOLLOW_PATHS = "local.followpaths"
LOCAL_EXCLUDE_PATTERNS = "local.excludepatterns"


class SourceVertex(Record):
    identifier: str
    attrs: Tuple[Tuple[str, str], ...] = ()
    platform: Optional[Platform] = None
    custom_name: str = ""

    @property
    def is_local(self) -> bool:
        return self.identifier.startswith(LOCAL_SCHEME)


class Owner(Record):
    """`--chown user[:group]`: each part a name or a numeric id."""

    user: Union[int, str]
    group: Union[int, str, None] = None

    @staticmethod
    def parse(text: str) -> "Owner":
        """BuildKit's `llb.WithUser`: the part after a `:` is the group even when empty."""
        user, colon, group = text.partition(":")
        return Owner(user=_id_or_name(user), group=_id_or_name(group) if colon else None)


def _id_or_name(text: str) -> Union[int, str]:
    # BuildKit's parseUID: "root" and 32-bit decimal numbers are ids, anything else a name;
    # an empty name marshals as id 0 (client/llb/fileop.go `UserOpt.marshal`), so
    # `--chown=:1000` is 0:1000 and `--chown=1000:` is 1000:0, as docker build makes them.
    if text in ("root", ""):
        return 0
    try:
        value = int(text, 10)
    except ValueError:
        return text
    return value if -(2**31) <= value < 2**31 and text.lstrip("+-").isdigit() else text


class Copy(Record):
    source: "State"
    src: str
    dest: str
    mode: Optional[int] = None
    owner: Optional[Owner] = None
    create_dest_path: bool = True
    allow_wildcard: bool = False
    allow_empty_wildcard: bool = False
    follow_symlinks: bool = False
    dir_copy_contents: bool = False
    attempt_unpack: bool = False  # ADD's attemptUnpackDockerCompatibility


class Mkfile(Record):
    path: str
    mode: int
    data: bytes
    owner: Optional[Owner] = None


class Mkdir(Record):
    path: str
    mode: int
    make_parents: bool = False
    owner: Optional[Owner] = None


if TYPE_CHECKING:
    FileAction = Union[Copy, Mkfile, Mkdir]


class FileVertex(Record):
    """One FileOp: actions applied in order to `base` (None = scratch)."""

    base: Optional["Vertex"]
    actions: Tuple[FileAction, ...]
    custom_name: str = ""
    # The Containerfile line this op came from (for the source map; not serialized).
    line: Optional[int] = None


if TYPE_CHECKING:
    Vertex = Union[SourceVertex, FileVertex]


class State(Record):
    vertex: Optional[Vertex] = None  # None is scratch: no op at all

    def file(
        self, *actions: FileAction, custom_name: str = "", line: Optional[int] = None
    ) -> "State":
        """A new FileOp on this state, like `State.File` with chained actions."""
        return State(FileVertex(self.vertex, tuple(actions), custom_name, line))


def scratch() -> State:
    return State()


def image(reference: str, platform: Optional[Platform]) -> State:
    return State(SourceVertex(IMAGE_SCHEME + reference, (), platform))


def local(
    name: str,
    include_patterns: Tuple[str, ...] = (),
    custom_name: str = "",
    exclude_patterns: Tuple[str, ...] = (),
    follow_paths: Tuple[str, ...] = (),
) -> State:
    """`llb.Local`: each filter attr is a JSON array, present only when non-empty."""
    from pun.gojson import go_json_string_list

    attrs = tuple(
        (key, go_json_string_list(values))
        for key, values in (
            (LOCAL_INCLUDE_PATTERNS, include_patterns),
            (LOCAL_FOLLOW_PATHS, follow_paths),
            (LOCAL_EXCLUDE_PATTERNS, exclude_patterns),
        )
        if values
    )
    return State(SourceVertex(LOCAL_SCHEME + name, attrs, None, custom_name))


def clean_source_path(src: str) -> str:
    """A copy source as BuildKit writes it: `path.Join("/", path.Clean(src))`."""
    return clean_absolute(clean(src))


def normalize_dest(dest: str) -> str:
    """A destination as BuildKit writes it: cleaned and absolute, keeping a trailing `/` or `/.`."""
    cleaned = clean_absolute(dest)
    if dest.endswith("/") and not cleaned.endswith("/"):
        cleaned += "/"
    elif dest.endswith("/."):
        if cleaned != "/":
            cleaned += "/"
        cleaned += "."
    return cleaned
