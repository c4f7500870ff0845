"""The embedded builder: run a Definition in-process and write the requested output.

Steps: decode the op chain (refusing anything outside the subset), pull the base image into
the cache, replay each FileOp on the filesystem tree while recording what it wrote, then either
write the tree (type=local) or cut one layer per FileOp (or one with squash) and assemble,
archive or push the image.
"""

from __future__ import annotations

import sys
import time
from typing import Callable, Dict, List, Optional, Sequence, Set, Tuple

from pun.atomic import atomic_directory
from pun.diagnostics import write_diagnostics
from pun.imagespec import ImageSpec
from pun.oci.baselayers import read_member, scan_layers
from pun.oci.cache import BlobCache, default_cache_dir
from pun.oci.deliver import check_image_output, work_directory
from pun.oci.fstree import (
    Inline,
    Kind,
    LayerMember,
    LocalFile,
    Node,
    Tree,
    ancestors,
    path_sort_key,
)
from pun.oci.image import PulledImage
from pun.oci.output_spec import OutputSpec
from pun.oci.pull import pull
from pun.oci.writer import NewLayer, write_image
from pun.progress import Progress
from pun.solve.content import open_new_content
from pun.solve.context import ContextDir, open_local
from pun.solve.fileops import ActionSite, StepRunner
from pun.solve.graph import Chain, FileStep, decode_chain
from pun.solve.imagefiles import ImageFiles
from pun.solve.options import EMBEDDED, BuildOptions, BuildResult

CONTEXT_NAME = "context"
Warn = Callable[[str], None]


def _stderr_warning(text: str) -> None:
    sys.stderr.write(f"pun build: warning: {text}\n")


def solve_embedded(
    definition: bytes,
    context_dir: str,
    spec: ImageSpec,
    output: OutputSpec,
    options: BuildOptions,
    warn: Warn = _stderr_warning,
) -> BuildResult:
    chain = decode_chain(definition)
    check_image_output(output)
    progress = Progress(options.progress)
    contexts = {CONTEXT_NAME: ContextDir.open(context_dir)}
    contexts.update((name, ContextDir.open(directory)) for name, directory in options.locals)
    cache = BlobCache(options.cache_dir or default_cache_dir())
    base: Optional[PulledImage] = None
    archives = dict(options.image_archives)
    if chain.base is not None:
        platform = chain.base.platform or spec.platform
        base = pull(
            chain.base.reference, platform, cache, progress, options.insecure_registry, archives
        )
    layer_paths = [blob.path for blob in base.layers] if base else []
    tree = scan_layers(layer_paths) if layer_paths else Tree()
    images = copy_images(chain, spec, cache, progress, options)
    diffs = _replay(chain, tree, contexts, layer_paths, options, images)
    if output.type == "local":
        from pun.solve.tree_files import write_tree

        with atomic_directory(output.dest) as directory:
            write_tree(tree, directory, layer_paths, options.source_date_epoch, progress, warn)
        return BuildResult(EMBEDDED, output)
    with work_directory(cache) as workdir:
        written = write_image(
            spec,
            output,
            workdir,
            base=base,
            layers=_new_layers(diffs, tree, options.squash),
            open_content=open_new_content,
            epoch=options.source_date_epoch,
            progress=progress,
        )
    image = written.image
    return BuildResult(EMBEDDED, output, image.manifest_digest, image.config_digest, written.pushed)


# One recorded step: its description and the nodes it left, in layer order.
StepDiff = Tuple[str, List[Tuple[str, Node]]]


def _replay(
    chain: Chain,
    tree: Tree,
    contexts: Dict[str, ContextDir],
    layer_paths: Sequence[str],
    options: BuildOptions,
    images: Dict[str, ImageFiles],
) -> List[StepDiff]:
    lines = {s.digest: s for s in options.sources}
    runner = StepRunner(tree, contexts, int(time.time()), _small_file_reader(layer_paths), images)
    diffs: List[StepDiff] = []
    for step in chain.steps:
        where = lines.get(step.digest)
        sites = [
            ActionSite(step.digest, i, where.path if where else "", where.line if where else None)
            for i in range(len(step.actions))
        ]
        written = runner.run(step, sites)
        write_diagnostics(runner.warnings)
        runner.warnings.clear()
        diffs.append((step.description or describe(step), _layer_entries(tree, written)))
    return diffs


def copy_images(
    chain: Chain, spec: ImageSpec, cache: BlobCache, progress: Progress, options: BuildOptions
) -> Dict[str, ImageFiles]:
    """The images `COPY --from` reads, pulled by the same client as the base (by op digest)."""
    archives = dict(options.image_archives)
    images: Dict[str, ImageFiles] = {}
    for source in chain.copy_images():
        pulled = pull(
            source.reference,
            source.platform or spec.platform,
            cache,
            progress,
            options.insecure_registry,
            archives,
        )
        images[source.digest] = ImageFiles(source.reference, [b.path for b in pulled.layers])
    return images


def _layer_entries(tree: Tree, written: Set[str]) -> List[Tuple[str, Node]]:
    """The nodes a layer holds: what was written, plus the directories above it."""
    paths = set(written)
    for path in written:
        paths.update(ancestors(path))
    entries = []
    for path in sorted(paths, key=path_sort_key):
        node = tree.get(path)
        if node is not None:
            entries.append((path, node))
    return entries


def describe(step: FileStep) -> str:
    parts = []
    for action in step.actions:
        kind = action.WhichOneof("action")
        if kind == "copy":
            parts.append(f"copy {action.copy.src} {action.copy.dest}")
        elif kind == "mkfile":
            parts.append(f"mkfile {action.mkfile.path}")
        else:
            parts.append(f"mkdir {action.mkdir.path}")
    return "; ".join(parts)


def _small_file_reader(layer_paths: Sequence[str]) -> Callable[[Tree, str], Optional[bytes]]:
    def read(tree: Tree, path: str) -> Optional[bytes]:
        node = tree.get(tree.resolve(path))
        if node is None or node.kind is not Kind.FILE:
            return None
        content = node.content
        if isinstance(content, Inline):
            return content.data
        if isinstance(content, LocalFile):
            with open_local(content, node.size) as handle:
                return handle.read(4 * 1024 * 1024)
        if isinstance(content, LayerMember):
            return read_member(layer_paths[content.layer], content.name)
        return None

    return read


def _new_layers(diffs: List[StepDiff], tree: Tree, squash: bool) -> List[NewLayer]:
    """One layer per FileOp, or one for all of them with --squash."""
    if squash and diffs:
        written = {path for _, entries in diffs for path, _ in entries}
        diffs = [("; ".join(d for d, _ in diffs), _layer_entries(tree, written))]
    return [NewLayer(created_by, entries) for created_by, entries in diffs]
