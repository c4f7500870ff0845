"""Is this file a bunnyfile, and if so, its PackPlan.

bunny decides by trying: a file its Dockerfile parser refuses is read as a bunnyfile
(nubificus/bunny `hops/parse_file.go` `ParseFile`). pun does the same (`pun.api.read_plan`
calls this only after the Containerfile parser has refused the text), and takes the text for
a bunnyfile when it is a YAML mapping with at least one of bunny's top-level fields, or, when
the YAML itself is broken, when a line starts with `version:`; otherwise the Containerfile
error stands. The `#syntax=` line bunny's files start with is a YAML comment.
"""

from __future__ import annotations

import re
from typing import Optional

from yaml.nodes import MappingNode, ScalarNode

from pun.bunnyfile.fields import TOP_KEYS, read_hops
from pun.bunnyfile.toplan import to_plan
from pun.bunnyfile.yamlnodes import Fields, compose
from pun.containerfile.directives import DirectiveError, read_directives
from pun.containerfile.plan import PackPlan
from pun.diagnostics import PunError
from pun.platform import Platform

_VERSION_LINE = re.compile(r"^version\s*:", re.MULTILINE)


def read_bunnyfile(
    text: str, path: str, target: Platform, platform_given: bool = False
) -> Optional[PackPlan]:
    """The plan, or None when the text is not a bunnyfile; PunError (file:line) for a bunnyfile
    pun cannot pack."""
    if text.startswith("\ufeff"):
        text = text[1:]
    try:
        root = compose(text, path)
    except PunError:
        if _VERSION_LINE.search(text):
            raise
        return None
    if not isinstance(root, MappingNode):
        return None
    keys = {k.value for k, _ in root.value if isinstance(k, ScalarNode)}
    if not keys.intersection(TOP_KEYS):
        return None
    hops = read_hops(Fields(root, "", path, TOP_KEYS))
    try:
        syntax = read_directives(text).syntax
    except DirectiveError:
        syntax = None
    return to_plan(hops, target, platform_given, syntax)
