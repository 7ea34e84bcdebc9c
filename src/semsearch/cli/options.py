"""What the command-line options mean: parsed arguments turned into the library's values."""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from semsearch.storage.locations import Location

from semsearch.cli.constants import INDEX_ROOT

DATE_OPTIONS = ("--since", "--until")  # what the command calls the day span's ends


def runtime(args: argparse.Namespace) -> dict[str, Any]:
    """The model's threads and device, as ``Index.build`` / ``Index.load`` take them."""
    return {"threads": getattr(args, "threads", None), "device": getattr(args, "device", None)}


def where(args: argparse.Namespace) -> dict[str, Any] | None:
    """The filter the options describe (all ANDed), or None."""
    from semsearch.errors import InputError

    parts: list[dict[str, Any]] = []
    if args.where_json:
        parts.append(where_json(args.where_json))
    for item in args.where or ():
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise InputError(f"--where takes KEY=VALUE, e.g. --where source=新华社, not {item!r}")
        parts.append({key.strip(): {"$in": cli_values(value)}})
    return dated(parts, args.since, args.until)


def dated(
    parts: list[dict[str, Any]], since: str | None, until: str | None, names: tuple[str, str] = DATE_OPTIONS
) -> dict[str, Any] | None:
    """The filters ``parts`` and the day span ``since``..``until`` (inclusive) on ``date``, all ANDed, or None.

    ``names``: what the caller calls since and until, for the errors (the server: its parameters).
    """
    from semsearch.dates import parse_day
    from semsearch.errors import InputError

    parts = list(parts)
    if since or until:
        span: dict[str, str] = {}
        if since:
            span["$gte"] = parse_day(since, names[0])
        if until:
            span["$lte"] = parse_day(until, names[1])
        if len(span) == 2 and span["$gte"] > span["$lte"]:
            raise InputError(f"{names[0]} {since} is after {names[1]} {until}; nothing could match")
        parts.append({"date": span})
    if not parts:
        return None
    return parts[0] if len(parts) == 1 else {"$and": parts}


def where_json(text: str, name: str = "--where-json") -> dict[str, Any]:
    """A filter given as JSON text (``name``: the option or parameter, for the errors), as a dict."""
    from semsearch.errors import InputError
    from semsearch.filters import MAX_DEPTH

    try:
        parsed = json.loads(text, parse_int=_json_int)
    except json.JSONDecodeError as exc:
        raise InputError(f'{name} is not valid JSON ({exc}); quote it: \'{{"source": "新华社"}}\'') from None
    except RecursionError:
        raise InputError(
            f"{name} is nested too deeply to read; a filter may nest $and/$or {MAX_DEPTH} levels"
        ) from None
    if not isinstance(parsed, dict):
        raise InputError(f'{name} must be a JSON object like {{"source": "新华社"}}, not {text}')
    return parsed


def _json_int(text: str) -> int:
    """A JSON integer of --where-json, refused in one line when longer than any 64-bit integer."""
    from semsearch.errors import InputError

    if len(text.lstrip("-")) > 19:
        raise InputError(
            f"--where-json has a number of {len(text.lstrip('-'))} digits; metadata integers are 64-bit "
            "(at most 19 digits)"
        )
    return int(text)


def cli_values(value: str) -> list[Any]:
    """A command-line value as the string and, when it reads as one, the number or boolean too."""
    values: list[Any] = [value]
    try:
        number = float(value)
        values.append(int(number) if number.is_integer() and "." not in value else number)
    except ValueError:
        if value in ("true", "false"):
            values.append(value == "true")
    return values


def fields(args: argparse.Namespace) -> Any:
    """Which JSONL field / CSV column holds the text, title and id, and which metadata to keep."""
    from semsearch.readers.ingest import FieldNames

    kept = getattr(args, "metadata_fields", None)
    dropped = getattr(args, "drop_fields", None)
    return FieldNames(
        text=args.text_field,
        title=args.title_field,
        id=args.id_field,
        metadata=_names(kept) if kept is not None else None,
        drop=_names(dropped) if dropped is not None else (),
    )


def _names(value: str) -> list[str]:
    """Field names given as ``date,source`` (commas or spaces)."""
    return [name for name in value.replace(",", " ").split() if name]


def fusion(spec: str | None) -> Any:
    """The ``--fusion`` setting as a FusionConfig, or None when not given."""
    from semsearch.records import FusionConfig

    return FusionConfig.parse(spec) if spec else None


def resolve_index_path(value: str) -> Location:
    """An index location as given, or, for a bare name, the index of that name under ``indexes/``."""
    from semsearch.storage.local.files import MANIFEST
    from semsearch.storage.locations import DirectoryLocation, parse_location

    where = parse_location(value)
    if isinstance(where, DirectoryLocation):
        path = where.path
        if not (path / MANIFEST).exists() and (INDEX_ROOT / value / MANIFEST).exists():
            return DirectoryLocation(INDEX_ROOT / value)
    return where


def stdin_lines() -> list[str]:
    """Queries piped into stdin, one a line, strictly UTF-8: a line that is not is a usage error."""
    from semsearch.errors import InputError

    lines = []
    for number, raw in enumerate(sys.stdin.buffer.read().splitlines(), start=1):
        try:
            lines.append(raw.decode("utf-8-sig" if number == 1 else "utf-8"))
        except UnicodeDecodeError as exc:
            raise InputError(
                f"line {number} of stdin is not valid UTF-8 ({exc.reason} at byte {exc.start}); "
                "pipe UTF-8 text into semsearch query"
            ) from None
    return lines


def has_surrogates(text: str) -> bool:
    """Whether ``text`` holds lone surrogates (bytes that were not UTF-8)."""
    return any("\ud800" <= ch <= "\udfff" for ch in text)


@contextlib.contextmanager
def progress_bar(args: argparse.Namespace, total: int, unit: str) -> Any:
    """A progress callback drawing a bar on stderr (None with --no-progress or when stderr is not a terminal)."""
    if args.no_progress or not sys.stderr.isatty():
        yield None
        return
    from tqdm import tqdm

    with tqdm(total=total, unit=unit, leave=False) as bar:
        yield lambda n: bar.update(n)


def name_of(source: str) -> str:
    """The default index name for a source: its file or folder name without the suffix."""
    name = Path(source.rstrip("/\\")).name or "index"
    from semsearch.readers import strip_suffix

    return strip_suffix(name)
