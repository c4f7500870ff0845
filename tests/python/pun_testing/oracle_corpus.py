"""A seeded corpus of `FROM scratch` Containerfiles over random build contexts, for the oracle
test (tests/python/pun/test_docker_oracle_corpus.py): each case is built by `docker build`
and by pun, and both must make the same image.

Every case is a pure function of (seed, index): `generate_case(seed, index)` gives the same
Containerfile and context on every machine, so a failing case is reproduced on its own:

    PYTHONPATH=tests/python python -m pun_testing.oracle_corpus --seed S --case N DIR

writes DIR/Containerfile and DIR/context and prints the `docker build` and `pun build`
commands to compare (docker's as `type=tar`: Docker 20.10's `type=local` loses owners).

The generator only writes cases that `docker build` accepts, and only instructions pun packs
(no RUN, ADD from URLs, HEALTHCHECK, ONBUILD). To keep cases valid it follows a few rules:
a name in a context is always the same kind (file, directory or symlink), so merging copies
never turns a file into a directory; COPY sources are never `.dockerignore`d entries
(those are `*.tmp`, `*.log`, `cache/`, `dir/secret.txt`, `.git/`), wildcards always match a
kept file (but for one that matches nothing, on purpose), followed symlinks never dangle,
and several sources always go to a `/`-ending destination. A `com.urunc.unikernel.cmdline`
label is only written together with CMD or ENTRYPOINT: alone, pun turns it into the
config's Cmd on purpose (issue 9, the urunc bridge), which `docker build` does not.
"""

from __future__ import annotations

import argparse
import fnmatch
import hashlib
import json
import os
import random
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

DEFAULT_SEED = 20261201
DEFAULT_CASES = 200

FILE_MODES = (0o644, 0o644, 0o755, 0o600, 0o640, 0o444, 0o700)
DIR_MODES = (0o755, 0o755, 0o750, 0o700, 0o775)
OWNERS = ((0, 0), (0, 0), (1000, 1000), (12, 34))
CHMODS = ("755", "644", "600", "0751", "700", "4755", "2750")


@dataclass(frozen=True)
class Entry:
    """One context entry: kind "file" (data), "dir", or "link" (target)."""

    path: str
    kind: str
    mode: int = 0o644
    owner: Tuple[int, int] = (0, 0)
    data: bytes = b""
    target: str = ""


@dataclass(frozen=True)
class Case:
    seed: int
    index: int
    containerfile: str
    entries: Tuple[Entry, ...]
    dockerignore: Optional[str]
    build_args: Tuple[Tuple[str, str], ...] = ()

    @property
    def name(self) -> str:
        return f"case-{self.index:03d}"

    def materialize(self, root: Path) -> Tuple[Path, Path]:
        """Write DIR/Containerfile (outside the context, so `COPY .` never sees it) and
        DIR/context; returns (containerfile, context). Owners are applied when running as
        root (CI does), otherwise files keep the caller's."""
        context = root / "context"
        context.mkdir(parents=True)
        containerfile = root / "Containerfile"
        containerfile.write_text(self.containerfile)
        if self.dockerignore is not None:
            (context / ".dockerignore").write_text(self.dockerignore)
        as_root = os.geteuid() == 0
        for entry in self.entries:
            path = context / entry.path
            path.parent.mkdir(parents=True, exist_ok=True)
            if entry.kind == "dir":
                path.mkdir(exist_ok=True)
            elif entry.kind == "file":
                path.write_bytes(entry.data)
            else:
                path.symlink_to(entry.target)
            if as_root:
                os.lchown(path, *entry.owner)
        # Modes last, deepest first: a 0500 directory would refuse the files written into it.
        for entry in sorted(self.entries, key=lambda e: -e.path.count("/")):
            if entry.kind != "link":
                os.chmod(context / entry.path, entry.mode)
        os.chmod(context, 0o755)
        return containerfile, context

    def context_listing(self) -> List[str]:
        lines = (
            [f"{'.dockerignore':28} file 644 0:0  {self.dockerignore!r}"]
            if self.dockerignore is not None
            else []
        )
        for e in sorted(self.entries, key=lambda e: e.path):
            what = (
                f"-> {e.target}"
                if e.kind == "link"
                else (f"{len(e.data)} bytes" if e.kind == "file" else "")
            )
            mode = "777" if e.kind == "link" else format(e.mode, "o")
            lines.append(f"{e.path:28} {e.kind:4} {mode} {e.owner[0]}:{e.owner[1]}  {what}")
        return lines


# --- the context -----------------------------------------------------------------------------

# Kept files (COPY sources, wildcard targets) and where they may live. Each name is always a
# file; directory names and symlink names are disjoint from these.
FILE_NAMES = ("a.txt", "b.txt", "c.bin", "sp ace.txt", ".hidden", "app.hvt", "conf.ini", "empty")
DIR_NAMES = ("dir", "lib", "sp dir", ".dotdir")
SUBDIR_NAMES = ("sub", "deep")
# Entries .dockerignore patterns may drop (never named as a COPY source).
IGNORABLE = ("x.tmp", "keep.tmp", "dir/d.log", "cache/junk.bin", "dir/secret.txt", ".git/HEAD")
IGNORE_PATTERNS = (
    "*.tmp",
    "**/*.log",
    "cache",
    "dir/secret.txt",
    ".git",
    "!keep.tmp",
    "# a comment",
    "",
    "*/*.log",
    ".dockerignore",
)


def _data(rng: random.Random, name: str) -> bytes:
    if name == "empty":
        return b""
    size = rng.choice((1, 7, 64, 300, 4096))
    seed = f"{name}:{rng.random()}".encode()
    return (hashlib.sha256(seed).hexdigest() * (size // 64 + 1))[:size].encode()


def _context(rng: random.Random) -> Tuple[List[Entry], Dict[str, str]]:
    """Entries, and for each top-level symlink the kind of what it finally points to."""
    entries: List[Entry] = []

    def owner() -> Tuple[int, int]:
        return rng.choice(OWNERS)

    def add_file(path: str) -> None:
        entries.append(
            Entry(
                path, "file", rng.choice(FILE_MODES), owner(), _data(rng, path.rsplit("/", 1)[-1])
            )
        )

    top_files = rng.sample(FILE_NAMES, rng.randint(2, 6))
    for name in sorted(set(top_files) | {"a.txt"}):
        add_file(name)
    dirs = sorted(set(rng.sample(DIR_NAMES, rng.randint(1, 3))) | {"dir"})
    for directory in dirs:
        entries.append(Entry(directory, "dir", rng.choice(DIR_MODES), owner()))
        for name in sorted(set(rng.sample(FILE_NAMES, rng.randint(1, 3))) | {"b.txt"}):
            add_file(f"{directory}/{name}")
        if rng.random() < 0.6:
            sub = rng.choice(SUBDIR_NAMES)
            entries.append(Entry(f"{directory}/{sub}", "dir", rng.choice(DIR_MODES), owner()))
            for name in sorted(set(rng.sample(FILE_NAMES, rng.randint(1, 2)))):
                add_file(f"{directory}/{sub}/{name}")
            if rng.random() < 0.3:
                entries.append(
                    Entry(f"{directory}/{sub}/empty-dir", "dir", rng.choice(DIR_MODES), owner())
                )
        if rng.random() < 0.4:  # symlinks inside a copied directory stay symlinks
            target = rng.choice(("b.txt", "../a.txt", "/a.txt", "nowhere", "."))
            if directory == "dir" and target in ("nowhere",):
                target = "b.txt"  # `dir/*` is a wildcard source: it must not dangle
            entries.append(Entry(f"{directory}/ilink", "link", owner=owner(), target=target))
    for ignorable in IGNORABLE:
        if rng.random() < 0.5:
            parent = ignorable.rsplit("/", 1)[0] if "/" in ignorable else ""
            if parent and not any(e.path == parent for e in entries):
                entries.append(Entry(parent, "dir", 0o755, owner()))
            add_file(ignorable)
    kinds: Dict[str, str] = {}
    link_targets = [
        ("link-f", "a.txt", "file"),
        ("link-abs", "/a.txt", "file"),
        ("link-up", "../../a.txt", "file"),
        ("link-d", "dir", "dir"),
        ("link-chain", "link-f", "file"),
    ]
    for name, target, kind in link_targets:
        if rng.random() < 0.35 or (name == "link-f" and rng.random() < 0.3):
            entries.append(Entry(name, "link", owner=owner(), target=target))
            kinds[name] = kind
    if "link-chain" in kinds and "link-f" not in kinds:
        entries.append(Entry("link-f", "link", owner=owner(), target="a.txt"))
        kinds["link-f"] = "file"
    if rng.random() < 0.2:
        entries.append(Entry("dangling", "link", owner=owner(), target="missing"))
    return entries, kinds


# --- the Containerfile -----------------------------------------------------------------------

# Destination pools, disjoint from every context name, so copies merge without conflicts.
DIR_DESTS = ("/srv/", "/opt/app/", "/data/", "/", "/srv/sub dir/", "/d/e/f/")
FILE_DESTS = ("/app.bin", "/etc/config", "/srv/renamed.txt", "/opt/app/kernel")
TREE_DESTS = ("/tree", "/srv/tree2", "/opt/app")
RELATIVE_DIR_DESTS = ("./", ".", "rel/", "rel/deeper/")
RELATIVE_FILE_DESTS = ("renamed", "rel/file.bin")
WORKDIRS = ("/w", "/srv", "/opt/app", "w2", "/w/sp ace")
ENV_VALUES = (
    "1",
    "hello",
    '"a b"',
    "'single q'",
    "$V",
    "${V}-x",
    "${UNSET:-dflt}",
    "a\\ b",
    '"with \\"quote\\""',
)
LABELS = (
    "org.example.a",
    "org.example.b",
    "com.urunc.unikernel.hypervisor",
    "com.urunc.unikernel.unikernelType",
    "version",
    "maintainer",
)
EXEC_ARGS = ("/app.bin", "/unikernel/app", "-c", "--port", "8080", "a b", "$V", "é", 'quote"d', "")
SIGNALS = ("SIGTERM", "SIGKILL", "9", "SIGUSR1")
PORTS = ("80", "443/tcp", "53/udp", "8080 9090", "7000-7002", "${PORT}")
VOLUMES = ("/data", '["/a", "/b"]', "/v1 /v2", "/w/vol")


def _quote_json(words: Sequence[str]) -> str:
    return json.dumps(list(words), ensure_ascii=False)


def _kept_files(entries: Sequence[Entry]) -> List[str]:
    ignorable = set(IGNORABLE)
    return [e.path for e in entries if e.kind == "file" and e.path not in ignorable]


class _Writer:
    """Builds one Containerfile; tracks what later lines may rely on."""

    def __init__(self, rng: random.Random, entries: List[Entry], link_kinds: Dict[str, str]):
        self.rng = rng
        self.entries = entries
        self.link_kinds = link_kinds
        self.lines: List[str] = []
        self.build_args: List[Tuple[str, str]] = []
        self.has_run_config = False  # CMD or ENTRYPOINT written
        self.user_by_name = False  # USER by name: no WORKDIR may follow (scratch has no passwd)
        self.args_defined: List[str] = []

    # sources -------------------------------------------------------------------------------
    def file_sources(self) -> List[str]:
        files = _kept_files(self.entries)
        files += [name for name, kind in self.link_kinds.items() if kind == "file"]
        return files

    def dir_sources(self) -> List[str]:
        dirs = [
            e.path
            for e in self.entries
            if e.kind == "dir" and not e.path.startswith((".git", "cache"))
        ]
        return dirs + [name for name, kind in self.link_kinds.items() if kind == "dir"]

    def wildcard(self) -> Optional[str]:
        """A pattern (Go `path.Match` syntax, as BuildKit matches COPY sources) that matches
        at least one kept file; now and then one that matches nothing at the top level,
        which copies nothing (BuildKit's COPY allows empty wildcards:
        `frontend/dockerfile/dockerfile2llb/convert_copy.go`, `AllowEmptyWildcard: true`)."""
        if self.rng.random() < 0.05:
            return "nomatch*"
        top = [p for p in _kept_files(self.entries) if "/" not in p]
        in_dir = [
            p for p in _kept_files(self.entries) if p.startswith("dir/") and p.count("/") == 1
        ]
        options = ["*.txt", "?.txt", "[ab].txt", "*.bin", "dir/*", "a*", "[^a]*.txt", "dir/[^x]*"]
        self.rng.shuffle(options)
        for pattern in options:
            pool = in_dir if pattern.startswith("dir/") else top
            # fnmatch spells Go's `[^...]` as `[!...]`; the patterns here use nothing else
            # the two read differently.
            spelled = pattern.replace("[^", "[!")
            if any(fnmatch.fnmatchcase(p, spelled) for p in pool):
                return pattern
        return None

    # instructions --------------------------------------------------------------------------
    def copy(self) -> None:
        rng = self.rng
        shape = rng.choices(
            ("file", "files", "dir", "dir-slash", "dot", "wildcard", "tree", "rename"),
            weights=(4, 2, 3, 2, 1, 2, 2, 2),
        )[0]
        dest_dir = rng.choice(DIR_DESTS + RELATIVE_DIR_DESTS)
        if shape == "file":
            sources, dest = [rng.choice(self.file_sources())], dest_dir
        elif shape == "files":
            sources = rng.sample(self.file_sources(), min(3, len(self.file_sources())))
            sources = sources[: rng.randint(2, 3)]
            dest = dest_dir if dest_dir.endswith("/") else dest_dir + "/"
        elif shape == "dir":
            sources, dest = [rng.choice(self.dir_sources())], dest_dir
        elif shape == "dir-slash":
            directory = rng.choice([d for d in self.dir_sources() if not d.startswith("link")])
            sources, dest = [rng.choice((directory + "/", "./" + directory))], dest_dir
        elif shape == "dot":
            sources, dest = [rng.choice((".", "./"))], dest_dir
        elif shape == "wildcard":
            pattern = self.wildcard()
            sources = [pattern] if pattern else [rng.choice(self.file_sources())]
            dest = dest_dir if dest_dir.endswith("/") else dest_dir + "/"
        elif shape == "tree":
            sources, dest = [rng.choice(self.dir_sources())], rng.choice(TREE_DESTS)
        else:
            sources = [rng.choice(self.file_sources())]
            dest = rng.choice(FILE_DESTS + RELATIVE_FILE_DESTS)
        if "DESTDIR" in self.args_defined and dest.startswith("/") and rng.random() < 0.3:
            dest = "${DESTDIR}" + dest  # an ARG in the destination
        flags = []
        if rng.random() < 0.2:
            flags.append(f"--chmod={rng.choice(CHMODS)}")
        if rng.random() < 0.2:
            flags.append("--chown=" + rng.choice(("1000", "1000:1000", "12:34", "0:7", "65534")))
        words = sources + [dest]
        needs_json = any(" " in w for w in words)
        if needs_json or rng.random() < 0.2:
            self.lines.append(" ".join(["COPY", *flags, _quote_json(words)]))
        else:
            self.lines.append(" ".join(["COPY", *flags, *words]))

    def arg(self) -> None:
        name = self.rng.choice(("V", "DESTDIR", "PORT", "EMPTY"))
        value = {"V": "v1.2", "DESTDIR": "", "PORT": "8000", "EMPTY": ""}[name]
        if name == "DESTDIR":
            value = self.rng.choice(("", "/prefix"))
        self.lines.append(f"ARG {name}={value}" if self.rng.random() < 0.8 else f"ARG {name}")
        self.args_defined.append(name)
        if self.rng.random() < 0.2:
            self.build_args.append(
                (name, {"V": "from-cli", "DESTDIR": "/cli", "PORT": "9000", "EMPTY": "x"}[name])
            )

    def env(self) -> None:
        rng = self.rng
        pairs = [
            f"{rng.choice(('A', 'B', 'PATH', 'HOME', 'V'))}={rng.choice(ENV_VALUES)}"
            for _ in range(rng.randint(1, 3))
        ]
        if rng.random() < 0.15:
            self.lines.append(f"ENV LEGACY {rng.choice(('value with  spaces', 'x', '$V'))}")
        else:
            self.lines.append("ENV " + " ".join(pairs))

    def workdir(self) -> None:
        if self.user_by_name:
            return
        value = self.rng.choice(WORKDIRS)
        self.lines.append(f"WORKDIR {value}" if " " not in value else f'WORKDIR "{value}"')

    def label(self) -> None:
        rng = self.rng
        pairs = []
        for key in rng.sample(LABELS, rng.randint(1, 3)):
            value = {
                "com.urunc.unikernel.hypervisor": "qemu",
                "com.urunc.unikernel.unikernelType": "unikraft",
            }.get(key, rng.choice(("x", '"a b"', "$V", "''", '"${V:-none}"')))
            pairs.append(f"{key}={value}")
        if self.has_run_config and rng.random() < 0.3:
            pairs.append('com.urunc.unikernel.cmdline="/app.bin -c"')
        self.lines.append("LABEL " + " ".join(pairs))

    def exec_line(self, keyword: str) -> None:
        rng = self.rng
        if rng.random() < 0.15:  # shell form: docker wraps it in /bin/sh -c
            self.lines.append(f'{keyword} /app.bin --flag "quoted arg" $V')
        else:
            args = rng.sample(EXEC_ARGS, rng.randint(0 if keyword == "CMD" else 1, 3))
            self.lines.append(f"{keyword} {_quote_json(args)}")
        self.has_run_config = True

    def user(self) -> None:
        value = self.rng.choice(("10", "10:20", "1000:1000", "nobody", "0"))
        self.lines.append(f"USER {value}")
        self.user_by_name = self.user_by_name or not value[0].isdigit()

    def simple(self, keyword: str, pool: Sequence[str]) -> None:
        self.lines.append(f"{keyword} {self.rng.choice(pool)}")


def generate_case(seed: int, index: int) -> Case:
    rng = random.Random(f"{seed}:{index}")
    entries, link_kinds = _context(rng)
    writer = _Writer(rng, entries, link_kinds)
    if rng.random() < 0.2:
        writer.lines.append("ARG BASE=scratch")
        writer.lines.append("FROM $BASE" if rng.random() < 0.5 else "FROM scratch")
    else:
        writer.lines.append("FROM scratch")
    steps = rng.randint(3, 11)
    writer.copy()
    for _ in range(steps):
        roll = rng.random()
        if roll < 0.40:
            writer.copy()
        elif roll < 0.48:
            writer.arg()
        elif roll < 0.56:
            writer.env()
        elif roll < 0.64:
            writer.workdir()
        elif roll < 0.72:
            writer.label()
        elif roll < 0.78:
            writer.exec_line("CMD")
        elif roll < 0.84:
            writer.exec_line("ENTRYPOINT")
        elif roll < 0.88:
            writer.user()
        elif roll < 0.93:
            writer.simple("EXPOSE", PORTS)
        elif roll < 0.96:
            writer.simple("STOPSIGNAL", SIGNALS)
        else:
            writer.simple("VOLUME", VOLUMES)
    if rng.random() < 0.3:
        writer.label()
    dockerignore = None
    if rng.random() < 0.5:
        patterns = rng.sample(IGNORE_PATTERNS, rng.randint(1, 5))
        dockerignore = "\n".join(patterns) + "\n"
    return Case(
        seed,
        index,
        "\n".join(writer.lines) + "\n",
        tuple(entries),
        dockerignore,
        tuple(writer.build_args),
    )


def generate_corpus(seed: int = DEFAULT_SEED, count: int = DEFAULT_CASES) -> List[Case]:
    return [generate_case(seed, index) for index in range(count)]


def corpus_from_environment() -> List[Case]:
    """$PUN_ORACLE_SEED and $PUN_ORACLE_CASES override the defaults (CI uses the defaults)."""
    seed = int(os.environ.get("PUN_ORACLE_SEED") or DEFAULT_SEED)
    count = int(os.environ.get("PUN_ORACLE_CASES") or DEFAULT_CASES)
    return generate_corpus(seed, count)


def describe(case: Case) -> str:
    """The case as a human reads it in a failure: Containerfile, build args, context."""
    numbered = "".join(
        f"  {n:2}  {line}\n" for n, line in enumerate(case.containerfile.splitlines(), 1)
    )
    args = " ".join(f"--build-arg {k}={v}" for k, v in case.build_args) or "(none)"
    context = "".join(f"  {line}\n" for line in case.context_listing())
    return (
        f"{case.name} (seed {case.seed}); reproduce: PYTHONPATH=tests/python python -m "
        f"pun_testing.oracle_corpus --seed {case.seed} --case {case.index} DIR\n"
        f"Containerfile:\n{numbered}build args: {args}\ncontext:\n{context}"
    )


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m pun_testing.oracle_corpus",
        description="Write one oracle case to a directory.",
    )
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument("--case", type=int, required=True)
    parser.add_argument("dir", type=Path, help="a directory that does not exist yet")
    args = parser.parse_args(argv)
    if args.dir.exists():
        print(f"error: {args.dir} exists; name a new directory", file=sys.stderr)
        return 2
    case = generate_case(args.seed, args.case)
    containerfile, context = case.materialize(args.dir)
    flags = "".join(f" --build-arg {k}={v}" for k, v in case.build_args)
    print(describe(case), file=sys.stderr)
    print(
        f"DOCKER_BUILDKIT=1 /usr/bin/docker build{flags} -f {containerfile} "
        f"--output type=tar,dest={args.dir}/docker.tar {context}"
    )
    print(
        f"pun build --builder embedded{flags} -f {containerfile} --context {context} "
        f"--output type=local,dest={args.dir}/pun"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
