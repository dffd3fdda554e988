"""The dream file format: a `Dream` as Markdown with machine-readable front matter.

Layout::

    ---
    id: "20250101-120000-0123abcd"
    created: "2025-01-01T12:00:00+00:00"
    ...                               (one `key: <JSON>` line per field)
    ---

    # Title

    ## Insight

    prose ...

    ## Code

    ```python
    code ...
    ```

Every front-matter value is written as JSON, which is also valid YAML flow syntax, so YAML
tools read the header while this module parses it back with `json` alone. The front matter
is the source of truth for every field except the sections; the `# Title` line is for people.

Sections are framed so that any content survives a round trip exactly:

- Code sections are fenced with more backticks than the longest backtick run inside them,
  so nothing in the code can close the fence.
- In prose sections a line starting with `#` (after any backslashes) gets one extra
  leading backslash. That is Markdown's own escape — `\\## Plan` renders as the text
  "## Plan" — and it means no prose line can look like a section heading.
- A section is `## Name`, a blank line, the content, a newline; sections are separated
  by one blank line. Empty sections are left out.
"""

from __future__ import annotations

import json
import re
from datetime import UTC
from pathlib import Path
from typing import Any

from codedreamer.errors import StorageError
from codedreamer.storage.dream import Dream, is_dream_id
from codedreamer.storage.fields import FieldSpec, declared

FRONT_MATTER_FENCE = "---"

_DECLARED = declared(Dream)
_SPECS: dict[str, FieldSpec] = {name: spec for name, spec, _ in _DECLARED}

# Front-matter keys in the order they are written (the order Dream declares them).
FRONT_MATTER_KEYS: tuple[str, ...] = tuple(name for name, spec, _ in _DECLARED if not spec.section)

# (Dream field, heading, fenced as code?) in the order they are written.
SECTIONS: tuple[tuple[str, str, bool], ...] = tuple(
    (name, spec.heading, bool(spec.fence)) for name, spec, _ in _DECLARED if spec.section
)
_FRONT_MATTER_KEY_SET = frozenset(FRONT_MATTER_KEYS)
_HEADING_LINES = {f"## {heading}": name for name, heading, _ in SECTIONS}
_FENCED = {name for name, _, fenced in SECTIONS if fenced}

_ESCAPED_LINE = re.compile(r"^\\*#")
_UNESCAPE_LINE = re.compile(r"^\\+#")
_BACKTICK_RUN = re.compile(r"`+")
_FENCE_OPEN = re.compile(r"^(`{3,})[^`]*$")
_FENCE_INFO_UNSAFE = re.compile(r"[^A-Za-z0-9_+.#-]")

# Fields the dataclass has no default for must be in every file; the others fall back to
# their defaults, so files written before a field existed still load.
_REQUIRED_KEYS = frozenset(
    name for name, spec, required in _DECLARED if required and not spec.section
)

# JSON leaves these unescaped, but YAML treats them as line breaks or forbids them.
_YAML_UNSAFE = re.compile("[\x7f-\x9f\u2028\u2029\ufeff\ufffe\uffff]")


class DreamFormatError(StorageError):
    """A dream cannot be written or read in the dream file format."""


# ---------------------------------------------------------------- writing


def front_matter_values(dream: Dream) -> dict[str, Any]:
    """The front-matter fields as JSON-ready values (also the base of `--json` output)."""
    created = dream.created
    if created.tzinfo is None:
        raise DreamFormatError(f"dream {dream.id}: created must be timezone-aware")
    try:
        created_text = created.astimezone(UTC).isoformat()
    except OverflowError as exc:
        raise DreamFormatError(f"dream {dream.id}: created is out of range ({exc})") from None
    values: dict[str, Any] = {
        key: _SPECS[key].encode(getattr(dream, key)) for key in FRONT_MATTER_KEYS
    }
    values["created"] = created_text
    values = {key: _plain(value) for key, value in values.items()}
    return values


def dream_to_dict(dream: Dream) -> dict[str, Any]:
    """Every field of `dream` as plain JSON-ready data: front matter, then sections."""
    data = front_matter_values(dream)
    for name, _, _ in SECTIONS:
        data[name] = getattr(dream, name)
    return data


def fence_for(code: str) -> str:
    """A backtick fence longer than any backtick run in `code` (at least three)."""
    longest = max((len(run) for run in _BACKTICK_RUN.findall(code)), default=0)
    return "`" * max(3, longest + 1)


def _escape_prose(text: str) -> str:
    return "\n".join(
        "\\" + line if _ESCAPED_LINE.match(line) else line for line in text.split("\n")
    )


def _unescape_prose(text: str) -> str:
    return "\n".join(line[1:] if _UNESCAPE_LINE.match(line) else line for line in text.split("\n"))


def _heading_title(title: str) -> str:
    # The real title lives in the front matter; the heading only has to read well.
    return " ".join(title.split()) or "Untitled dream"


def _fence_info(language: str) -> str:
    return _FENCE_INFO_UNSAFE.sub("", language)


def dream_to_markdown(dream: Dream) -> str:
    """Serialise `dream` to the dream file format. Raises DreamFormatError for bad values."""
    _check_dream(dream)
    values = front_matter_values(dream)
    lines = [FRONT_MATTER_FENCE]
    for key in FRONT_MATTER_KEYS:
        lines.append(f"{key}: {_json_line(values[key])}")
    lines.append(FRONT_MATTER_FENCE)
    head = "\n".join(lines) + "\n\n" + f"# {_heading_title(dream.title)}\n"

    blocks: list[str] = []
    for name, heading, fenced in SECTIONS:
        content: str = getattr(dream, name)
        if not content:
            continue
        if fenced:
            fence = fence_for(content)
            info = dream.language if _SPECS[name].fence == "language" else _SPECS[name].fence
            body = f"{fence}{_fence_info(info)}\n{content}\n{fence}"
        else:
            body = _escape_prose(content)
        blocks.append(f"## {heading}\n\n{body}\n")
    if not blocks:
        return head
    return head + "\n" + "\n".join(blocks)


def _check_dream(dream: Dream) -> None:
    """Refuse values the reader would reject, so a bad dream fails when written, not later."""
    if not is_dream_id(dream.id):
        raise DreamFormatError(f"{dream.id!r}: not a valid dream id")
    if dream.parent is not None and not is_dream_id(dream.parent):
        raise DreamFormatError(f"dream {dream.id}: parent {dream.parent!r} is not a dream id")
    for key in FRONT_MATTER_KEYS:
        spec = _SPECS[key]
        try:
            spec.convert(spec.encode(getattr(dream, key)))
        except (TypeError, ValueError) as exc:
            raise DreamFormatError(f"dream {dream.id}: {key}: {exc}") from None


def _plain(value: Any) -> Any:
    """A fresh copy of lists and dicts, so JSON-ready output never aliases the dream."""
    if isinstance(value, list):
        return list(value)
    if isinstance(value, dict):
        return dict(value)
    return value


def _json_line(value: Any) -> str:
    encoded = json.dumps(value, ensure_ascii=False, allow_nan=False)
    return _YAML_UNSAFE.sub(lambda m: f"\\u{ord(m.group()):04x}", encoded)


# ---------------------------------------------------------------- reading


def read_dream_file(path: Path) -> Dream:
    """Read and parse one dream file. Raises StorageError naming the file."""
    return dream_from_bytes(read_raw(path), source=str(path))


def read_raw(path: Path) -> bytes:
    """The bytes of a dream file; StorageError naming the file when it cannot be read."""
    try:
        return Path(path).read_bytes()
    except OSError as exc:
        raise StorageError(f"{path}: cannot read ({exc.strerror or exc})") from None


def dream_from_bytes(raw: bytes, source: str = "<dream>") -> Dream:
    """Parse a dream file's bytes (UTF-8). Raises DreamFormatError("<source>: <reason>")."""
    try:
        # Decoded from bytes, not read as text: text mode would turn "\r\n" into "\n".
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise DreamFormatError(f"{source}: not UTF-8 ({exc.reason} at byte {exc.start})") from None
    return dream_from_markdown(text, source=source)


def dream_from_markdown(text: str, source: str = "<dream>") -> Dream:
    """Parse the dream file format. Raises DreamFormatError("<source>: <reason>")."""
    try:
        return _parse(text)
    except _ParseError as exc:
        raise DreamFormatError(f"{source}: {exc}") from None


class _ParseError(Exception):
    pass


def _parse(text: str) -> Dream:
    if not text:
        raise _ParseError("empty file")
    lines = text.removeprefix("\ufeff").split("\n")
    if lines[0] != FRONT_MATTER_FENCE:
        raise _ParseError("no front matter (the file must start with a '---' line)")
    try:
        end = lines.index(FRONT_MATTER_FENCE, 1)
    except ValueError:
        raise _ParseError("front matter is not closed by a '---' line") from None
    values = _parse_front_matter(lines[1:end], first_line_number=2)
    sections: dict[str, Any] = _parse_sections(lines[end + 1 :], first_line_number=end + 2)
    return Dream(**values, **sections)


def _parse_front_matter(lines: list[str], first_line_number: int) -> dict[str, Any]:
    entries: list[tuple[int, str, str]] = []
    seen: set[str] = set()
    for offset, line in enumerate(lines):
        number = first_line_number + offset
        if not line.strip() or line.startswith("#"):
            continue
        key, sep, encoded = line.partition(":")
        key = key.strip()
        if not sep:
            raise _ParseError(f"line {number}: front matter line is not 'key: value'")
        if key not in _FRONT_MATTER_KEY_SET:
            raise _ParseError(f"line {number}: unknown front-matter key {key!r}")
        if key in seen:
            raise _ParseError(f"line {number}: front-matter key {key!r} appears twice")
        seen.add(key)
        entries.append((number, key, encoded))
    raw = dict(zip((key for _, key, _ in entries), _decode_values(entries), strict=True))
    missing = sorted(_REQUIRED_KEYS - raw.keys())
    if missing:
        raise _ParseError(f"front matter is missing {', '.join(missing)}")
    values: dict[str, Any] = {}
    for key, value in raw.items():
        try:
            values[key] = _SPECS[key].convert(value)
        except (TypeError, ValueError) as exc:
            raise _ParseError(f"{key}: {exc}") from None
    return values


def _decode_values(entries: list[tuple[int, str, str]]) -> list[Any]:
    """Decode every value with one JSON call (the hot path of `dreams list`).

    A line that is not exactly one JSON value makes the array invalid or the wrong length;
    then each line is decoded alone, which names the bad one.
    """
    try:
        decoded = json.loads("[" + ",".join(encoded for _, _, encoded in entries) + "]")
    except ValueError:
        decoded = None
    if isinstance(decoded, list) and len(decoded) == len(entries):
        return decoded
    values = []
    for number, key, encoded in entries:
        try:
            values.append(json.loads(encoded))
        except ValueError:
            raise _ParseError(f"line {number}: {key}: value is not valid JSON") from None
    return values


def _parse_sections(lines: list[str], first_line_number: int) -> dict[str, str]:
    sections: dict[str, str] = {}
    i = 0
    # Before the first section: blank lines and the one `# Title` line, nothing else.
    seen_title = False
    while i < len(lines) and lines[i] not in _HEADING_LINES:
        line = lines[i]
        if line.startswith("# ") and not seen_title:
            seen_title = True
        elif line.strip():
            raise _ParseError(f"line {first_line_number + i}: unexpected text before sections")
        i += 1
    while i < len(lines):
        heading = lines[i]
        name = _HEADING_LINES[heading]
        if name in sections:
            raise _ParseError(f"line {first_line_number + i}: section {heading!r} appears twice")
        i += 1
        if i < len(lines) and lines[i] == "":
            i += 1
        if name in _FENCED:
            sections[name], i = _read_fenced(lines, i, heading, first_line_number)
            while i < len(lines) and lines[i] not in _HEADING_LINES:
                if lines[i].strip():
                    raise _ParseError(
                        f"line {first_line_number + i}: unexpected text after the code "
                        f"fence of {heading!r}"
                    )
                i += 1
        else:
            end = i
            while end < len(lines) and lines[end] not in _HEADING_LINES:
                end += 1
            body = lines[i:end]
            # Each section ends with one newline, then (between sections) one blank line.
            if body and body[-1] == "":
                body = body[:-1]
            sections[name] = _unescape_prose("\n".join(body))
            i = end
    return sections


def _read_fenced(lines: list[str], i: int, heading: str, first_line_number: int) -> tuple[str, int]:
    match = _FENCE_OPEN.match(lines[i]) if i < len(lines) else None
    if match is None:
        raise _ParseError(f"line {first_line_number + i}: {heading!r} has no opening code fence")
    fence = match.group(1)
    # Content never holds a backtick run as long as the fence, so the first bare fence
    # line closes it.
    for end in range(i + 1, len(lines)):
        if lines[end] == fence:
            return "\n".join(lines[i + 1 : end]), end + 1
    raise _ParseError(f"line {first_line_number + i}: the code fence of {heading!r} is not closed")
