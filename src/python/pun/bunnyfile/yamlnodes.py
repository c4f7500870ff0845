"""YAML text -> PyYAML nodes (each knows its line), and typed reads of them.

bunny decodes with gopkg.in/yaml.v3 into Go structs (`hops/package.go` `Hops`); these helpers
read the same shapes from the node tree so every value keeps the line it came from:
- a scalar read as a string is its text as written (`version: 0.1` is "0.1", `true` is "true"),
  and null is "" (yaml.v3 leaves a Go string at its zero value for null);
- a list of strings must be a YAML sequence of scalars (yaml.v3: "cannot unmarshal !!str into
  []string" otherwise);
- a key given twice is an error (yaml.v3: `mapping key "x" already defined`).
"""

from __future__ import annotations

from typing import Dict, List, Optional, Tuple

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from pun.diagnostics import Diagnostic, PunError, error, warning

NULL_TAG = "tag:yaml.org,2002:null"


def line_of(node: Node) -> int:
    return int(node.start_mark.line) + 1


def compose(text: str, path: str) -> Optional[Node]:
    """The document's root node (None for an empty document); PunError at the line of a YAML
    syntax error."""
    try:
        return yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        message = " ".join(p for p in (exc.context, exc.problem) if p)
        raise error(
            f"not valid YAML: {message}",
            path,
            int(mark.line) + 1 if mark is not None else None,
            "fix the YAML syntax (indentation, `key: value`, quoting)",
        ) from None
    except RecursionError:  # PyYAML's composer recurses once per nesting level
        raise error(
            "the YAML is nested too deeply", path, None, "a bunnyfile needs three levels at most"
        ) from None
    except yaml.YAMLError as exc:  # a reader error (a character YAML does not allow)
        position = getattr(exc, "position", None)
        line = text.count("\n", 0, position) + 1 if isinstance(position, int) else None
        raise error(f"not valid YAML: {exc}", path, line, "save the file as UTF-8 text") from None


class Fields:
    """One YAML mapping read as a struct: known keys, each once; unknown keys are warned about
    (yaml.v3 ignores them, so bunny would too)."""

    def __init__(
        self,
        node: Node,
        where: str,
        path: str,
        known: Tuple[str, ...],
        warnings: Optional[List[Diagnostic]] = None,
    ) -> None:
        self.path = path
        self.where = where
        self.start = line_of(node)
        self.values: Dict[str, Node] = {}
        self.key_lines: Dict[str, int] = {}
        # One list for a mapping and the mappings inside it (what `sub` and callers add).
        self.warnings: List[Diagnostic] = [] if warnings is None else warnings
        if not isinstance(node, MappingNode):
            raise self._type_error(node, where or "the bunnyfile", "a mapping (`key: value` lines)")
        for key_node, value_node in node.value:
            if not isinstance(key_node, ScalarNode):
                raise error(
                    f"{self._name('')}a key must be a plain word",
                    path,
                    line_of(key_node),
                    "write `key: value`",
                )
            key = key_node.value
            if key in self.values:
                raise error(
                    f"{self._name(key)} is given twice (first at line {self.key_lines[key]})",
                    path,
                    line_of(key_node),
                    "keep one of them",
                )
            self.values[key] = value_node
            self.key_lines[key] = line_of(key_node)
            if key not in known:
                self.warnings.append(
                    warning(
                        f"unknown field {self._name(key)} is ignored (as bunny ignores it)",
                        path,
                        line_of(key_node),
                        "known here: " + ", ".join(known),
                    )
                )

    def _name(self, key: str) -> str:
        return f"{self.where}.{key}" if self.where and key else (key or self.where)

    def _type_error(self, node: Node, name: str, wanted: str) -> PunError:
        found = (
            "a mapping"
            if isinstance(node, MappingNode)
            else "a list"
            if isinstance(node, SequenceNode)
            else "a value"
        )
        return error(
            f"{name} must be {wanted}, not {found}",
            self.path,
            line_of(node),
            "see the bunnyfile reference in README.md",
        )

    def has(self, key: str) -> bool:
        return key in self.values

    def node(self, key: str) -> Optional[Node]:
        return self.values.get(key)

    def line(self, key: str) -> int:
        """The line of the key's value (of the mapping itself when the key is absent)."""
        found = self.values.get(key)
        return line_of(found) if found is not None else self.start

    def string(self, key: str) -> str:
        found = self.values.get(key)
        return "" if found is None else scalar_text(found, self._name(key), self.path)

    def strings(self, key: str) -> Tuple[str, ...]:
        found = self.values.get(key)
        if found is None or (isinstance(found, ScalarNode) and found.tag == NULL_TAG):
            return ()
        if not isinstance(found, SequenceNode):
            raise self._type_error(found, self._name(key), 'a list, e.g. ["a", "b"]')
        return tuple(
            scalar_text(item, f"{self._name(key)}[{i}]", self.path)
            for i, item in enumerate(found.value)
        )

    def items(self, key: str) -> Tuple[Node, ...]:
        found = self.values.get(key)
        if found is None or (isinstance(found, ScalarNode) and found.tag == NULL_TAG):
            return ()
        if not isinstance(found, SequenceNode):
            raise self._type_error(found, self._name(key), "a list")
        return tuple(found.value)

    def sub(self, key: str, known: Tuple[str, ...]) -> Optional["Fields"]:
        """The mapping under `key`; None when absent or null."""
        found = self.values.get(key)
        if found is None or (isinstance(found, ScalarNode) and found.tag == NULL_TAG):
            return None
        return Fields(found, self._name(key), self.path, known, self.warnings)


def scalar_text(node: Node, name: str, path: str) -> str:
    if not isinstance(node, ScalarNode):
        found = "a mapping" if isinstance(node, MappingNode) else "a list"
        raise error(
            f"{name} must be a single value, not {found}",
            path,
            line_of(node),
            "see the bunnyfile reference in README.md",
        )
    return "" if node.tag == NULL_TAG else str(node.value)
