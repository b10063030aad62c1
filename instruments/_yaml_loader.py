"""Reading a config file: a regular file of bounded size, parsed by a SafeLoader that refuses duplicate keys.

PyYAML keeps the last of two equal keys, so a second ``max:`` (or a second instrument of
the same name) would silently replace the first. :func:`read_yaml` refuses it, naming
both lines.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Any

import yaml

MAX_CONFIG_BYTES = 1_000_000  # a lab config is a few kB; anything larger is not one


class DuplicateKeyError(yaml.YAMLError):
    """A mapping gives the same key twice; the message names the key and both lines (1-based)."""


class UniqueKeyLoader(yaml.SafeLoader):
    """``yaml.SafeLoader`` that refuses a mapping giving one key twice, naming its key path and both lines."""

    def construct_document(self, node: yaml.Node) -> Any:
        self._check_unique_keys(node, ())
        return super().construct_document(node)

    def _check_unique_keys(self, node: yaml.Node, path: tuple[str, ...]) -> None:
        if isinstance(node, yaml.SequenceNode):
            for index, item in enumerate(node.value):
                self._check_unique_keys(item, (*path, str(index)))
            return
        if not isinstance(node, yaml.MappingNode):
            return
        first_line: dict[Any, int] = {}
        for key_node, value_node in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                continue
            key = self.construct_object(key_node, deep=True)
            line = key_node.start_mark.line + 1
            try:
                earlier = first_line.get(key)
            except TypeError:  # an unhashable key: construction reports it
                continue
            if earlier is not None:
                where = ".".join((*path, str(key)))
                raise DuplicateKeyError(
                    f"line {line}: {where}: duplicate key {key!r} (first given on line {earlier}); "
                    "YAML would silently keep only the last one"
                )
            first_line[key] = line
            self._check_unique_keys(value_node, (*path, str(key)))


def read_yaml(path: Path) -> Any:
    """The YAML document of ``path``, every mapping checked for duplicate keys."""
    return yaml.load(path.read_text(), Loader=UniqueKeyLoader)  # a SafeLoader subclass


def unreadable_reason(path: Path) -> str | None:
    """Why ``path`` cannot be read as a config file (missing, not a regular file, too large); None if it can."""
    try:
        info = os.stat(path)
    except FileNotFoundError:
        return "no such config file"
    except OSError as error:
        return f"cannot read it: {error.strerror}"
    if stat.S_ISDIR(info.st_mode):
        return "is a directory, not a config file"
    if not stat.S_ISREG(info.st_mode):
        return "is not a regular file (reading a FIFO, socket or device could block for ever)"
    if info.st_size > MAX_CONFIG_BYTES:
        return f"is {info.st_size} bytes; a lab config is at most {MAX_CONFIG_BYTES}"
    return None
