"""How each `Dream` field is stored and shown, declared next to the field itself.

A field of `Dream` carries a `FieldSpec` in its dataclass metadata: whether it lives in the
front matter or is a readable section, how its JSON value is checked and converted, how it
is written back as JSON, and how a view labels and formats it. The file writer, the
parser, `--json` output and `dreams show` are all derived from these declarations, so a
new field is one line in `storage/dream.py` and nothing else.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from dataclasses import MISSING, Field, dataclass, field, fields
from datetime import UTC, datetime
from enum import Enum
from typing import Any, Literal

Convert = Callable[[Any], Any]
Show = Callable[[Any], str]
FenceInfo = Literal["", "language", "diff"]


@dataclass(frozen=True)
class FieldSpec:
    """Where a field goes and how it reads and writes.

    `convert` turns a decoded JSON value into the field's value (TypeError / ValueError
    for a bad one); `encode` is its inverse. `label` is what views call the field (empty:
    views leave it out of the metadata table); `show` formats a non-empty value for them.
    Sections are Markdown sections under `heading`; `fence` says whether the section is
    code, fenced with the dream's language or with a fixed info string ("diff").
    """

    convert: Convert
    encode: Callable[[Any], Any]
    label: str = ""
    show: Show = str
    section: bool = False
    heading: str = ""
    fence: FenceInfo = ""


def _same(value: Any) -> Any:
    return value


def front(
    default: Any = MISSING,
    *,
    convert: Convert,
    label: str = "",
    show: Show = str,
    encode: Callable[[Any], Any] = _same,
    factory: Callable[[], Any] | None = None,
) -> Any:
    """A front-matter field (returns a dataclasses.field carrying its FieldSpec)."""
    spec = FieldSpec(convert=convert, encode=encode, label=label, show=show)
    if factory is not None:
        return field(default_factory=factory, metadata={"spec": spec})
    return field(default=default, metadata={"spec": spec})


def section(heading: str, *, fence: FenceInfo = "") -> Any:
    """A readable Markdown section (text, default empty)."""
    spec = FieldSpec(
        convert=to_string, encode=_same, label=heading, section=True, heading=heading, fence=fence
    )
    return field(default="", metadata={"spec": spec})


def spec_of(item: Field[Any]) -> FieldSpec:
    spec = item.metadata.get("spec")
    if not isinstance(spec, FieldSpec):
        raise TypeError(f"field {item.name} has no FieldSpec")
    return spec


def declared(record: type[Any]) -> list[tuple[str, FieldSpec, bool]]:
    """(name, spec, required) for every field of a record class, in declaration order."""
    return [
        (
            item.name,
            spec_of(item),
            item.default is MISSING and item.default_factory is MISSING,
        )
        for item in fields(record)
    ]


# ---------------------------------------------------------------- converters


def json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    return "an object"


def to_string(value: Any) -> str:
    if not isinstance(value, str):
        raise TypeError(f"expected a string, got {json_type(value)}")
    return value


def to_integer(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"expected an integer, got {json_type(value)}")
    return value


def to_number(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError(f"expected a number, got {json_type(value)}")
    if not math.isfinite(value):
        raise ValueError("expected a finite number")
    return float(value)


def to_bool(value: Any) -> bool:
    if not isinstance(value, bool):
        raise TypeError(f"expected true or false, got {json_type(value)}")
    return value


def to_string_list(value: Any) -> list[str]:
    if not isinstance(value, list):
        raise TypeError(f"expected a list, got {json_type(value)}")
    return [to_string(item) for item in value]


def mapping_of(convert: Convert) -> Callable[[Any], dict[str, Any]]:
    def parse(value: Any) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise TypeError(f"expected an object, got {json_type(value)}")
        return {key: convert(item) for key, item in value.items()}

    return parse


def optional(convert: Convert) -> Convert:
    def parse(value: Any) -> Any:
        return None if value is None else convert(value)

    return parse


def enum_of(kind: type[Enum]) -> Convert:
    def parse(value: Any) -> Any:
        text = to_string(value)
        try:
            return kind(text)
        except ValueError:
            choices = ", ".join(str(member.value) for member in kind)
            raise ValueError(f"{text!r} is not one of {choices}") from None

    return parse


def enum_value(value: Any) -> Any:
    return value.value if isinstance(value, Enum) else value


def to_created(value: Any) -> datetime:
    text = to_string(value)
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(f"{text!r} is not an ISO 8601 timestamp") from None
    if moment.tzinfo is None:
        raise ValueError(f"{text!r} has no time zone (write it in UTC, e.g. +00:00)")
    return moment.astimezone(UTC)


def encode_created(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat()
    return value


# ---------------------------------------------------------------- view formats


def show_items(value: Mapping[str, Any]) -> str:
    return ", ".join(f"{key}: {item}" for key, item in value.items())


_HASH = re.compile(r"[0-9a-f]{40,64}")


def show_record(value: Mapping[str, Any]) -> str:
    """Like show_items, with commit and file hashes cut to 12 digits (the file keeps them)."""
    return ", ".join(
        f"{key}: {str(item)[:12] if _HASH.fullmatch(str(item)) else item}"
        for key, item in value.items()
    )


def show_seconds(value: Mapping[str, float]) -> str:
    """Timings in seconds; a rate among them (a key ending in `_per_second`) in tok/s."""
    return ", ".join(
        f"{key}: {item:.1f} tok/s" if key.endswith("_per_second") else f"{key}: {item:.1f} s"
        for key, item in value.items()
    )


def show_parts(value: Mapping[str, float]) -> str:
    return ", ".join(f"{key} {item:.2f}" for key, item in value.items())


def show_list(value: list[str]) -> str:
    return ", ".join(value)


def show_fraction(value: float) -> str:
    return f"{value:.2f}"


def show_score(value: float) -> str:
    return f"{value:.1f}"


def show_level(value: int) -> str:
    names = {0: "Discovery", 1: "Framework", 2: "Implementation", 3: "Code"}
    return f"L{value} {names.get(value, '')}".rstrip()
