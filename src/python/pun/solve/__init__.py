"""Turn a pun Definition into an image: the public build API.

    from pun.api import generate
    from pun.solve import build, parse_output_spec

    generated = generate(text)
    result = build(generated.definition, "unikernels/redis", generated.image,
                   parse_output_spec("type=oci,dest=dist/redis.oci.tar"))
    result.manifest_digest   # "sha256:…"

`definition` is what `pun.api.generate()` returns (the same bytes `pun --LLB` prints), `image`
the image spec it returns with it (config, labels, annotations, platform): every builder writes
the image from that spec, so the paths agree on everything but the layers' bytes.
Two builders run it: `embedded` (in-process, no daemon; a subset of LLB: graph.py decodes it,
fileops.py, context.py and unpack.py replay it, tree_files.py writes type=local) and `buildctl`
(a real BuildKit); both write the image with pun.oci.writer. Failures raise
`pun.diagnostics.PunError` with user-facing diagnostics. This package imports neither the core
(pun.api, pun.containerfile, pun.convert) nor the CLI.
"""

from __future__ import annotations

from typing import Optional, Union

from pun.imagespec import ImageSpec
from pun.oci.output_spec import OutputSpec, parse_output_spec
from pun.solve.options import BUILDCTL, BUILDERS, EMBEDDED, BuildOptions, BuildResult, SourceLine

__all__ = [
    "BUILDCTL",
    "BUILDERS",
    "EMBEDDED",
    "BuildOptions",
    "BuildResult",
    "OutputSpec",
    "SourceLine",
    "build",
    "parse_output_spec",
]


def build(
    definition: bytes,
    context_dir: str,
    image: ImageSpec,
    output: Union[OutputSpec, str],
    builder: str = EMBEDDED,
    options: Optional[BuildOptions] = None,
) -> BuildResult:
    """Build `definition` with files from `context_dir` (the local named `context`).

    `output` is an OutputSpec or a buildctl-style string (`type=oci,dest=x.tar`). With the
    embedded builder the result has the manifest and config digests; with buildctl they are
    filled from buildctl's metadata when it reports them. Outputs are written atomically.
    """
    spec = parse_output_spec(output) if isinstance(output, str) else output
    options = options or BuildOptions()
    if builder == EMBEDDED:
        from pun.solve.embedded import solve_embedded

        return solve_embedded(definition, context_dir, image, spec, options)
    if builder == BUILDCTL:
        from pun.solve.buildctl import solve_buildctl

        return solve_buildctl(definition, context_dir, image, spec, options)
    raise ValueError(f"unknown builder {builder!r}; expected one of {BUILDERS}")
