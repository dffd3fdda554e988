"""Resolve import strings, as the chunker extracted them, to files in the index.

Best effort and conservative: Python modules (absolute, relative, src layouts), relative
JS/TS paths, quoted C/C++ includes, Ruby `require_relative`, Rust `mod`, shell `source`.
An import that does not name an indexed file (a library) resolves to nothing.
"""

from __future__ import annotations

import posixpath
from collections.abc import Iterable, Mapping, Sequence

_JS_EXTENSIONS = (".ts", ".tsx", ".js", ".jsx", ".mjs", ".cjs", ".d.ts")


class ImportResolver:
    def __init__(self, paths: Iterable[str]) -> None:
        self.paths = set(paths)
        # Dotted module name -> files, for every suffix of the path (src/pkg/mod.py -> pkg.mod).
        self.modules: dict[str, list[str]] = {}
        for path in sorted(self.paths):
            if not path.endswith((".py", ".pyi")):
                continue
            stem = path.rsplit(".", 1)[0]
            parts = stem.split("/")
            if parts[-1] == "__init__":
                parts = parts[:-1]
            for start in range(len(parts)):
                name = ".".join(parts[start:])
                if name:
                    self.modules.setdefault(name, []).append(path)

    def resolve(self, importer: str, language: str, target: str) -> str | None:
        here = posixpath.dirname(importer)
        if language == "python":
            return self._python(importer, target)
        if language in {"javascript", "typescript", "tsx"}:
            if not target.startswith("."):
                return None
            base = posixpath.normpath(posixpath.join(here, target))
            candidates = [base, *(base + ext for ext in _JS_EXTENSIONS)]
            candidates += [f"{base}/index{ext}" for ext in _JS_EXTENSIONS]
            return self._first(candidates)
        if language in {"c", "cpp", "bash", "php"}:
            return self._first([posixpath.normpath(posixpath.join(here, target)), target])
        if language == "ruby":
            base = posixpath.normpath(posixpath.join(here, target))
            return self._first([base, base + ".rb"])
        if language == "rust" and "::" not in target:
            return self._first(
                [posixpath.join(here, f"{target}.rs"), posixpath.join(here, target, "mod.rs")]
            )
        return None

    def _first(self, candidates: Sequence[str]) -> str | None:
        for candidate in candidates:
            if candidate in self.paths:
                return candidate
        return None

    def _python(self, importer: str, target: str) -> str | None:
        if target.startswith("."):
            dots = len(target) - len(target.lstrip("."))
            package = posixpath.dirname(importer)
            for _ in range(dots - 1):
                package = posixpath.dirname(package)
            rest = target[dots:].replace(".", "/")
            base = posixpath.join(package, rest) if rest else package
            return self._first([f"{base}.py", f"{base}/__init__.py", f"{base}.pyi"])
        found = self.modules.get(target)
        if not found:
            return None
        if len(found) == 1:
            return found[0]
        # Several files end in this module path: prefer the one nearest the importer.
        return max(found, key=lambda path: len(posixpath.commonpath([path, importer])))


def resolve_all(
    imports: Mapping[str, tuple[str, Sequence[str]]], paths: Iterable[str]
) -> dict[str, list[str]]:
    """importer -> indexed files it imports; `imports` maps importer -> (language, targets)."""
    resolver = ImportResolver(paths)
    out: dict[str, list[str]] = {}
    for importer, (language, targets) in imports.items():
        found: list[str] = []
        for target in targets:
            path = resolver.resolve(importer, language, target)
            if path is not None and path != importer and path not in found:
                found.append(path)
        out[importer] = found
    return out
