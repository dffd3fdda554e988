"""Our themes (TOML files in the repository's themes/ folder) and the remembered choice.

A theme file is data, not code: it is parsed and checked here, and a bad file is reported
and skipped while the others load. The chosen theme is kept in DATA_DIR/tui.json, written
atomically, so a crash while saving never leaves a half-written preferences file.
"""

from __future__ import annotations

import json
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from codedreamer.safe_text import safe_line

if TYPE_CHECKING:
    from textual.theme import Theme

DEFAULT_THEME = "nocturne"
PREFS_NAME = "tui.json"
_COLOUR_KEYS = (
    "primary",
    "secondary",
    "accent",
    "warning",
    "error",
    "success",
    "foreground",
    "background",
    "surface",
    "panel",
)
_KNOWN_KEYS = {"name", "dark", "variables", *_COLOUR_KEYS}


def themes_dir() -> Path:
    """Our theme files: the repository's themes/ folder, reached through the package.

    `theme_files` is a link to ../../themes in a checkout and a real folder in an installed
    wheel, so both an editable install and `pip install .` (Docker) find the themes.
    """
    return Path(__file__).resolve().parent / "theme_files"


@dataclass(frozen=True)
class ThemeFiles:
    """Themes that loaded, in file-name order, and one line per file that did not."""

    themes: list[Theme]
    problems: list[str]


def parse_theme(path: Path) -> Theme:
    """The theme in `path`; ValueError with a one-line reason for a bad file."""
    from textual.color import Color, ColorParseError
    from textual.theme import Theme

    try:
        data: dict[str, Any] = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise ValueError(f"cannot read: {exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ValueError(f"not TOML: {exc}") from None
    unknown = sorted(set(data) - _KNOWN_KEYS)
    if unknown:
        raise ValueError(f"unknown keys {', '.join(unknown)}")
    name = data.get("name")
    if name != path.stem:
        raise ValueError(f"`name` must be {path.stem!r} (the file name), got {name!r}")
    if "primary" not in data:
        raise ValueError("`primary` colour is missing")
    colours: dict[str, str] = {}
    for key in _COLOUR_KEYS:
        if key not in data:
            continue
        value = data[key]
        try:
            if not isinstance(value, str):
                raise ColorParseError(f"expected a string, got {type(value).__name__}")
            Color.parse(value)
        except ColorParseError:
            raise ValueError(f"`{key}` is not a colour: {value!r}") from None
        colours[key] = value
    dark = data.get("dark", True)
    if not isinstance(dark, bool):
        raise ValueError("`dark` must be true or false")
    variables = data.get("variables", {})
    if not isinstance(variables, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in variables.items()
    ):
        raise ValueError("`[variables]` must map names to strings")
    return Theme(
        name=name,
        primary=colours["primary"],
        secondary=colours.get("secondary"),
        accent=colours.get("accent"),
        warning=colours.get("warning"),
        error=colours.get("error"),
        success=colours.get("success"),
        foreground=colours.get("foreground"),
        background=colours.get("background"),
        surface=colours.get("surface"),
        panel=colours.get("panel"),
        dark=dark,
        variables=dict(variables),
    )


def load_themes(directory: Path | None = None) -> ThemeFiles:
    """Every `*.toml` theme in `directory` (default: the repository's themes/)."""
    folder = directory or themes_dir()
    themes: list[Theme] = []
    problems: list[str] = []
    try:
        paths = sorted(folder.glob("*.toml"))
    except OSError as exc:
        return ThemeFiles([], [f"{safe_line(str(folder))}: {exc}"])
    for path in paths:
        try:
            themes.append(parse_theme(path))
        except ValueError as exc:
            problems.append(f"theme {safe_line(path.name)} skipped: {safe_line(str(exc))}")
    return ThemeFiles(themes, problems)


# --------------------------------------------------------------------- remembered choice


def prefs_path(data_dir: Path) -> Path:
    return data_dir / PREFS_NAME


def read_saved_theme(data_dir: Path) -> str | None:
    """The theme name saved in DATA_DIR/tui.json; None when none (or the file is bad)."""
    try:
        data = json.loads(prefs_path(data_dir).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    theme = data.get("theme") if isinstance(data, dict) else None
    return theme if isinstance(theme, str) and theme else None


def save_theme(data_dir: Path, theme: str) -> None:
    """Remember `theme` in DATA_DIR/tui.json (atomic), keeping any other keys there."""
    from codedreamer.storage.atomic import atomic_write_text

    path = prefs_path(data_dir)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(data, dict):
            data = {}
    except (OSError, ValueError):
        data = {}
    data["theme"] = theme
    data_dir.mkdir(parents=True, exist_ok=True)
    atomic_write_text(path, json.dumps(data, indent=2) + "\n")
