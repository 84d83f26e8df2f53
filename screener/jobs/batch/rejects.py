"""The rejects file: one JSON line per record that was not kept, with where it was and every problem."""

from __future__ import annotations

import json
from typing import IO, Any

from screener.jobs.inputs import RawRecord, Record


def record_data(record: Record) -> Any:
    if record.data is not None:
        return _jsonable(record.data)
    return None


def _jsonable(data: Any) -> Any:
    return json.loads(json.dumps(data, default=str))


def problems(record: Record) -> list[dict[str, Any]]:
    return [
        {"location": str(p.location) if p.location else None, "field": p.subject or None, "message": p.message}
        for p in record.problems
    ]


def write_reject(
    handle: IO[str], source: str, line: int, data: Any, errors: list[dict[str, Any]], **extra: Any
) -> None:
    entry = {"source": source, "line": line, "record": data, "errors": errors, **extra}
    try:
        text = json.dumps(entry, ensure_ascii=False, default=str, allow_nan=False)
    except ValueError:  # NaN or Infinity in the record: keep it as the text it was read as
        entry["record"] = json.dumps(data, ensure_ascii=False, default=str)
        text = json.dumps(entry, ensure_ascii=False, default=str)
    try:
        handle.write(text)
    except UnicodeEncodeError:  # a lone surrogate got through: JSON's own escapes keep it as data
        handle.write(json.dumps(entry, default=str))
    handle.write("\n")


def raw_data(raw: RawRecord) -> Any:
    if raw.kind == "jsonl":
        try:
            return json.loads(raw.payload)
        except ValueError:
            return raw.payload.rstrip("\n")
    if raw.kind == "csv":
        return {k: v for k, v in raw.payload.items() if k is not None}
    return None
