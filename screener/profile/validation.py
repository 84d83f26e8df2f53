"""Turning pydantic's validation errors into located, plain-language problems.

Shared by every pydantic-validated document (profiles, rule packs, rule tests): each error
becomes ``file:line:col: field: message``, unknown keys get a "did you mean" hint computed from
the model's own fields, and every error is reported, not just the first.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ValidationError

from screener.errors import Location, Problem, did_you_mean
from screener.profile.sources import Document, PathKey, problem_at

#: Most problems reported for one document; the rest are counted ("and N more").
MAX_PROBLEMS = 100


def located_problems(doc: Document, exc: ValidationError, root: type[BaseModel]) -> list[Problem]:
    """Turn pydantic's errors into located, plain-language problems: all of them, up to :data:`MAX_PROBLEMS`.

    A document with 180,000 unknown keys gets the first hundred and a count of the rest, not
    37 MB of messages (each with its own "did you mean").
    """
    problems: list[Problem] = []
    seen: set[tuple[PathKey, str]] = set()
    errors = exc.errors(include_url=False)
    more: list[Problem] = []
    for number, error in enumerate(errors):
        if len(problems) == MAX_PROBLEMS:
            more.append(capped(doc.file, len(errors) - number))
            break
        path = _clean_loc(error["loc"], doc.data)
        message = _message(error, path, root)
        if (path, message) in seen:
            continue
        seen.add((path, message))
        problems.append(problem_at(doc, path, message))
    return sorted(problems, key=lambda p: (p.location.line if p.location else 0, p.subject)) + more


def capped(file: str, more: int) -> Problem:
    """The last problem of a capped list: how many more there are."""
    return Problem(f"and {more:,} more problem(s) not listed (only the first {MAX_PROBLEMS} are)", Location(file))


def _clean_loc(loc: tuple[int | str, ...], data: Any) -> PathKey:
    """The path of the value an error is about, read against the data itself.

    Pydantic puts the union member or validator it tried into the location (``int``, ``date``,
    ``function-before[...]``); a data key may be spelt the same (``{"int": 1}``), so a part is
    kept when the data has it there, or when it is the last part and names a key missing from a
    mapping (a required field), and dropped otherwise.
    """
    path: list[str | int] = []
    node = data
    for number, part in enumerate(loc):
        found, child = _child(node, part)
        if found:
            node = child
        elif not (number == len(loc) - 1 and isinstance(node, dict) and isinstance(part, str)):
            continue  # a union member or validator name
        path.append(part)
    return tuple(path)


def _child(node: Any, part: int | str) -> tuple[bool, Any]:
    if isinstance(node, dict) and part in node:
        return True, node[part]
    if isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node):
        return True, node[part]
    return False, None


def _message(error: Mapping[str, Any], path: PathKey, root: type[BaseModel]) -> str:
    kind = error["type"]
    if kind == "extra_forbidden":
        return _unknown_field(path, root)
    if kind == "missing":
        return "is required"
    if kind == "model_type":  # pydantic names the model class here, which means nothing to the writer
        return "expected a mapping of fields (key: value), not a single value or a list"
    if kind == "string_pattern_mismatch" and "x00" in str(error["ctx"].get("pattern", "")):
        return "must be one line of text (no line breaks, tabs or control characters)"
    if kind == "enum":
        expected = str(error["ctx"]["expected"])
        choices = re.findall(r"'([^']*)'", expected)
        return f"{error['input']!r} is not one of: {expected}{did_you_mean(str(error['input']), choices)}"
    message = str(error["msg"])
    return message.removeprefix("Value error, ")


def _unknown_field(path: PathKey, root: type[BaseModel]) -> str:
    model: type[BaseModel] | None = root
    for part in path[:-1]:
        if model is None or isinstance(part, int):
            continue
        info = model.model_fields.get(part)
        # A key of a dict of models (e.g. a mapping's columns) leaves the model unchanged.
        model = _model_of(info.annotation) if info else model
    known = sorted(model.model_fields) if model else []
    name = str(path[-1]) if path else ""
    hint = did_you_mean(name, known) or f"; known fields here: {', '.join(known)}"
    return f"unknown field {name!r}{hint}"


def _model_of(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in getattr(annotation, "__args__", ()):
        found = _model_of(arg)
        if found:
            return found
    return None
