"""Code-structure queries (index/symbols.py) over a real index: tree-sitter and LanceDB on disk."""

from __future__ import annotations

from pathlib import Path

import pytest
from test_index_indexer import _age, _write, make_settings

from codedreamer.index.chunk import Chunk
from codedreamer.index.indexer import index_codebase, open_index
from codedreamer.index.store import IndexStore
from codedreamer.index.symbols import SymbolChunk, SymbolDef, SymbolIndex, symbols_for

FILES = {
    "net/__init__.py": "",
    "net/codec.py": (
        "def decode_body(raw):\n    return raw.decode()\n\n\ndef unused_helper():\n    return 0\n"
    ),
    "net/client.py": (
        "from .codec import decode_body\n"
        "\n"
        "\n"
        "class Client:\n"
        "    def fetch(self, raw):\n"
        "        return self.parse(raw)\n"
        "\n"
        "    def parse(self, raw):\n"
        "        return decode_body(raw)\n"
        "\n"
        "\n"
        "def recursive_only(n):\n"
        "    return recursive_only(n - 1) if n else 0\n"
    ),
    "other/dup.py": "def decode_body(data):\n    return bytes(data)\n",
    "other/user.py": "def convert(data):\n    return decode_body(data)\n",
    "app.py": (
        "from net.client import Client\n"
        "\n"
        "\n"
        "def main():\n"
        '    return Client().fetch(b"")\n'
        "\n"
        "\n"
        "main()\n"
    ),
}


@pytest.fixture
def indexed(tmp_path: Path) -> tuple[Path, IndexStore]:
    root = tmp_path / "repo"
    for rel, text in FILES.items():
        _age(_write(root, rel, text))
    settings = make_settings(tmp_path)
    store = open_index(settings)
    index_codebase(root, settings, store=store)
    return root, store


def _one(defs: list[SymbolDef], path: str) -> SymbolDef:
    found = [d for d in defs if d.path == path]
    assert len(found) == 1, defs
    return found[0]


def _names(defs: list[SymbolDef]) -> set[tuple[str, str]]:
    return {(d.path, d.qualified_name) for d in defs}


def test_definitions_bare_and_qualified(indexed: tuple[Path, IndexStore]) -> None:
    _, store = indexed
    symbols = symbols_for(store)
    assert {d.path for d in symbols.definitions("decode_body")} == {
        "net/codec.py",
        "other/dup.py",
    }
    (parse,) = symbols.definitions("Client.parse")
    assert (parse.kind, parse.name, parse.start_line, parse.end_line) == ("method", "parse", 8, 9)
    assert symbols.definitions("parse") == [parse]
    (client,) = symbols.definitions("Client")
    # A class spans its members.
    assert (client.kind, client.start_line, client.end_line) == ("class", 4, 9)
    assert symbols.definitions("nothing_like_this") == []
    assert symbols.exists("decode_body") and symbols.exists("unused_helper")
    assert not symbols.exists("nothing_like_this")
    assert symbols.line_count("net/client.py") == 13
    assert symbols.line_count("missing.py") is None


def test_references_leave_out_definitions(indexed: tuple[Path, IndexStore]) -> None:
    _, store = indexed
    symbols = symbols_for(store)
    refs = {(r.path, r.line) for r in symbols.references("decode_body")}
    assert refs == {("net/client.py", 1), ("net/client.py", 9), ("other/user.py", 2)}
    assert symbols.reference_count("decode_body") == 3
    assert symbols.references("unused_helper") == []
    assert symbols.reference_count("unused_helper") == 0
    # A recursive call is a reference line, though it is inside the definition.
    assert [(r.path, r.line) for r in symbols.references("recursive_only")] == [
        ("net/client.py", 13)
    ]


def test_callers_and_callees_resolve_through_imports(indexed: tuple[Path, IndexStore]) -> None:
    _, store = indexed
    symbols = symbols_for(store)
    codec = _one(symbols.definitions("decode_body"), "net/codec.py")
    dup = _one(symbols.definitions("decode_body"), "other/dup.py")
    # client.py imports net/codec.py, so its call resolves there; other/user.py imports
    # nothing and decode_body is defined twice: ambiguous, so it is nobody's caller.
    # Name-based: the top-level import line counts as a use by the file's top-level code.
    assert _names(symbols.callers(codec)) == {
        ("net/client.py", ""),
        ("net/client.py", "Client.parse"),
    }
    assert symbols.callers(dup) == []
    assert _names(symbols.callees("Client.parse")) == {("net/codec.py", "decode_body")}
    assert _names(symbols.callees("Client.fetch")) == {("net/client.py", "Client.parse")}
    assert _names(symbols.callers("Client.parse")) == {("net/client.py", "Client.fetch")}
    # Top-level code is a caller too: app.py imports Client and calls main at module level.
    assert _names(symbols.callers("Client")) == {("app.py", ""), ("app.py", "main")}
    assert _names(symbols.callers("main")) == {("app.py", "")}
    # A recursive call is not a caller of itself.
    assert symbols.callers("recursive_only") == []
    assert symbols.callees("recursive_only") == []


def test_imports_and_the_definitions_a_file_uses(indexed: tuple[Path, IndexStore]) -> None:
    _, store = indexed
    symbols = symbols_for(store)
    assert symbols.imports("net/client.py") == ["net/codec.py"]
    assert symbols.imports("app.py") == ["net/client.py"]
    assert _names(symbols.imported_definitions("net/client.py")) == {
        ("net/codec.py", "decode_body")
    }
    used_by_app = _names(symbols.imported_definitions("app.py"))
    assert ("net/client.py", "Client") in used_by_app
    assert ("net/client.py", "Client.fetch") in used_by_app
    assert ("net/client.py", "recursive_only") not in used_by_app
    # Per chunk: main uses Client and fetch; app.py's import line uses only Client.
    (main,) = symbols.definitions("main")
    in_main = _names(symbols.imported_definitions("app.py", chunk_id=main.chunk_ids[0]))
    assert in_main == {("net/client.py", "Client"), ("net/client.py", "Client.fetch")}


def test_unreferenced_is_conservative(indexed: tuple[Path, IndexStore]) -> None:
    _, store = indexed
    symbols = symbols_for(store)
    unused = _names(symbols.unreferenced())
    assert ("net/codec.py", "unused_helper") in unused
    assert ("net/client.py", "recursive_only") in unused  # only calls itself
    assert ("other/user.py", "convert") in unused
    for used in [
        ("net/codec.py", "decode_body"),
        ("other/dup.py", "decode_body"),  # the name is used elsewhere: not provably dead
        ("net/client.py", "Client"),
        ("net/client.py", "Client.parse"),
        ("net/client.py", "Client.fetch"),
        ("app.py", "main"),
    ]:
        assert used not in unused, used
    assert unused == _names(symbols.unreferenced(kinds=("function", "method", "class")))
    assert _names(symbols.unreferenced(kinds=("class",))) == set()


def test_owner_and_definition_at(indexed: tuple[Path, IndexStore]) -> None:
    _, store = indexed
    symbols = symbols_for(store)
    (parse,) = symbols.definitions("Client.parse")
    assert symbols.owner(parse.chunk_ids[0]) == parse
    assert symbols.owner("no-such-chunk") is None
    assert symbols.definition_at("net/client.py", 9) == parse
    assert symbols.definition_at("net/client.py", 4) == symbols.definitions("Client")[0]
    top = symbols.definition_at("app.py", 8)
    assert top is not None and (top.kind, top.name, top.qualified_name) == ("module", "", "")
    assert symbols.definition_at("nowhere.py", 1) is None


def test_cached_per_table_version(indexed: tuple[Path, IndexStore]) -> None:
    root, store = indexed
    first = symbols_for(store)
    assert symbols_for(store) is first
    path = root / "net" / "codec.py"
    path.write_text(FILES["net/codec.py"] + "\n\ndef brand_new_function():\n    return 1\n")
    _age(path, 5)
    index_codebase(root, make_settings(root.parent), store=store)
    second = symbols_for(store)
    assert second is not first
    assert second.definitions("brand_new_function")
    assert not first.definitions("brand_new_function")
    # The rebuild reused the unchanged chunks' counts: it answers as a fresh build does.
    fresh = SymbolIndex.build(store.symbol_chunks(), imports=store.file_imports())
    assert second.all_definitions == fresh.all_definitions
    assert second.unreferenced() == fresh.unreferenced()
    for definition in fresh.all_definitions:
        assert second.callers(definition) == fresh.callers(definition)
        assert second.callees(definition) == fresh.callees(definition)
    for name in ("decode_body", "brand_new_function", "Client", "main"):
        assert second.reference_count(name) == fresh.reference_count(name)
        assert second.exists(name) == fresh.exists(name)


def _chunk(
    cid: str, path: str, kind: str, qualified: str, lines: tuple[int, int], text: str
) -> SymbolChunk:
    symbol = qualified.rsplit(".", 1)[-1]
    return SymbolChunk(cid, path, "python", kind, symbol, qualified, lines[0], lines[1], text)


def test_pure_build_without_a_store() -> None:
    chunks = [
        _chunk("h", "a.py", "class", "Box", (1, 1), "class Box:"),
        _chunk(
            "m", "a.py", "method", "Box.make", (2, 3), "    def make(self):\n        return Box()"
        ),
        _chunk("t", "a.py", "module", "", (5, 5), "VALUE = 1"),
        _chunk("u", "b.py", "function", "use", (1, 2), "def use():\n    return VALUE"),
    ]
    texts = {c.id: c for c in chunks}

    def load(ids: object) -> list[Chunk]:
        assert isinstance(ids, list)
        return [
            Chunk(
                c.id,
                c.path,
                c.language,
                c.kind,
                c.symbol,
                c.qualified_name,
                c.start_line,
                c.end_line,
                c.content,
                "",
            )
            for c in (texts[i] for i in ids)
        ]

    symbols = SymbolIndex.build(chunks, imports={"b.py": ["a.py"]}, load=load)
    # Box is used only inside its own method: not a use, so Box is unreferenced; so is make.
    assert _names(symbols.unreferenced()) == {
        ("a.py", "Box"),
        ("a.py", "Box.make"),
        ("b.py", "use"),
    }
    assert [(r.path, r.line) for r in symbols.references("Box")] == [("a.py", 3)]
    assert symbols.callers("Box") == []
    assert _names(symbols.callees("Box.make")) == {("a.py", "Box")}
    (top,) = [d for d in symbols.all_definitions if d.path == "a.py" and not d.name]
    assert top.chunk_ids == ("t",)
    # VALUE is not a definition (no named chunk), so use() has no callees to resolve.
    assert symbols.callees("use") == []
    assert symbols.exists("VALUE")


def test_member_assignment_definitions_are_symbols(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    files = {
        "lib/response.js": (
            "var res = module.exports = {};\n"
            "\n"
            "res.cookie = function cookie(name, value) {\n"
            "  return this.set('Set-Cookie', name + '=' + value);\n"
            "};\n"
            "\n"
            "res.clearCookie = function clearCookie(name) {\n"
            "  return this.cookie(name, '');\n"
            "};\n"
            "\n"
            "exports.unusedExport = function () {\n"
            "  return 1;\n"
            "};\n"
        ),
        "lib/app.js": (
            "var res = require('./response');\n"
            "\n"
            "function logout(response) {\n"
            "  return response.clearCookie('sid');\n"
            "}\n"
        ),
    }
    for rel, text in files.items():
        _age(_write(root, rel, text))
    settings = make_settings(tmp_path)
    store = open_index(settings)
    index_codebase(root, settings, store=store)
    symbols = symbols_for(store)
    (cookie,) = symbols.definitions("res.cookie")
    assert symbols.definitions("cookie") == [cookie]
    assert (cookie.kind, cookie.path, cookie.start_line, cookie.end_line) == (
        "method",
        "lib/response.js",
        3,
        5,
    )
    assert _names(symbols.callers(cookie)) == {("lib/response.js", "res.clearCookie")}
    assert _names(symbols.callers("clearCookie")) == {("lib/app.js", "logout")}
    assert _names(symbols.imported_definitions("lib/app.js")) == {
        ("lib/response.js", "res.clearCookie")
    }
    unused = _names(symbols.unreferenced())
    assert ("lib/response.js", "exports.unusedExport") in unused
    assert ("lib/response.js", "res.cookie") not in unused
