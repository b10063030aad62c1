"""Reading a config file into a validated model; every problem becomes one :class:`ConfigError`
line ``<file>: <key.path>: <what is wrong>``, the key path as written in the file."""

from __future__ import annotations

from pathlib import Path
from typing import TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from qnetlab.instruments._yaml_loader import DuplicateKeyError, read_yaml, unreadable_reason

Model = TypeVar("Model", bound=BaseModel)


class ConfigError(ValueError):
    """A lab config file is unreadable or invalid; the message names file, key path and fault."""


def read_config(path: str | Path, model: type[Model]) -> Model:
    """Read and validate a config file as ``model``; raise :class:`ConfigError` naming file, key path and fault.

    Refused: a path that is not a readable regular file, YAML errors (with the line), a key
    given twice in one mapping (with both lines), and anything the schema refuses.
    """
    path = Path(path)
    problem = unreadable_reason(path)
    if problem:
        raise ConfigError(f"{path}: {problem}")
    try:
        raw = read_yaml(path)
    except (OSError, UnicodeDecodeError) as error:
        raise ConfigError(f"{path}: cannot read it: {error}") from None
    except DuplicateKeyError as error:
        raise ConfigError(f"{path}: {error}") from None
    except yaml.YAMLError as error:
        raise ConfigError(f"{path}: not valid YAML: {error}") from None
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: expected a mapping at the top level, got {type(raw).__name__}")
    try:
        return model.model_validate(raw)
    except ValidationError as error:
        lines = [f"{path}: {len(error.errors())} problem(s)"]
        for problem in error.errors():
            where = ".".join(_key_path(raw, problem["loc"])) or "(top level)"
            message = problem["msg"].removeprefix("Value error, ")
            lines.append(f"  {where}: {message}")
        raise ConfigError("\n".join(lines)) from None


def _key_path(raw: object, loc: tuple) -> list[str]:
    """The key path of a pydantic error location as written in the file (union tags such as a ``kind`` dropped)."""
    parts, node = [], raw
    for part in loc:
        if isinstance(node, dict) and part not in node and node.get("kind") == part:
            continue  # pydantic's tag of a discriminated union, not a key of the file
        parts.append(str(part))
        if isinstance(node, dict):
            node = node.get(part, node.get(str(part)))
        elif isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node):
            node = node[part]
        else:
            node = None
    return parts
