"""Chunking with real tree-sitter grammars: every language, size caps, coverage, bad shapes."""

from __future__ import annotations

from pathlib import Path

import pytest

from codedreamer.index.chunk import ParsedFile
from codedreamer.index.chunker import chunk_code, chunk_text
from codedreamer.index.languages import LANGUAGES, language_for
from codedreamer.index.tokens import identifier_terms, query_terms, split_identifier

LANGS = Path(__file__).parent / "fixtures" / "index" / "langs"

# file -> (language, definitions that must be chunks as (kind, qualified name), imports)
EXPECTED: dict[str, tuple[str, set[tuple[str, str]], list[str]]] = {
    "sample.py": (
        "python",
        {
            ("class", "ResponseParser"),
            ("method", "ResponseParser.__init__"),
            ("method", "ResponseParser.parseHTTPResponse"),
            ("function", "top_level_helper"),
        },
        ["os", "collections.OrderedDict", "collections"],
    ),
    "sample.js": (
        "javascript",
        {
            ("class", "ResponseParser"),
            ("method", "ResponseParser.constructor"),
            ("method", "ResponseParser.parseHTTPResponse"),
            ("function", "topLevelHelper"),
            ("function", "arrowHelper"),
        },
        ["./util.js"],
    ),
    "sample.ts": (
        "typescript",
        {
            ("interface", "Parser"),
            ("class", "ResponseParser"),
            ("method", "ResponseParser.parseHTTPResponse"),
            ("function", "topLevelHelper"),
            ("function", "arrowHelper"),
        },
        ["./util"],
    ),
    "sample.tsx": (
        "tsx",
        {
            ("class", "ResponseParser"),
            ("method", "ResponseParser.render"),
            ("function", "TopLevelHelper"),
        },
        ["react"],
    ),
    "sample.go": (
        "go",
        {
            ("type", "ResponseParser"),
            ("method", "ResponseParser.ParseHTTPResponse"),
            ("function", "TopLevelHelper"),
        },
        ["fmt", "strings"],
    ),
    "sample.rs": (
        "rust",
        {
            ("class", "ResponseParser"),
            ("method", "ResponseParser.new"),
            ("method", "ResponseParser.parse_http_response"),
            ("function", "top_level_helper"),
        },
        ["std::collections::HashMap"],
    ),
    "Sample.java": (
        "java",
        {
            ("class", "ResponseParser"),
            ("method", "ResponseParser.parseHTTPResponse"),
            ("method", "ResponseParser.topLevelHelper"),
        },
        ["java.util.List"],
    ),
    "sample.c": (
        "c",
        {
            ("class", "response_parser"),
            ("function", "parse_http_response"),
            ("function", "top_level_helper"),
        },
        ["util.h"],
    ),
    "sample.cpp": (
        "cpp",
        {
            ("class", "sample.ResponseParser"),
            ("method", "sample.ResponseParser.parseHTTPResponse"),
            ("function", "sample.topLevelHelper"),
        },
        [],
    ),
    "Sample.cs": (
        "csharp",
        {
            ("class", "Sample.ResponseParser"),
            ("method", "Sample.ResponseParser.ParseHTTPResponse"),
            ("method", "Sample.Helpers.TopLevelHelper"),
        },
        ["System", "System.Collections.Generic"],
    ),
    "sample.rb": (
        "ruby",
        {
            ("class", "ResponseParser"),
            ("method", "ResponseParser.initialize"),
            ("method", "ResponseParser.parse_http_response"),
            ("function", "top_level_helper"),
        },
        ["json", "util"],
    ),
    "sample.php": (
        "php",
        {
            ("class", "ResponseParser"),
            ("method", "ResponseParser.parseHTTPResponse"),
            ("function", "topLevelHelper"),
        },
        ["util.php"],
    ),
    "sample.sh": (
        "bash",
        {("function", "parse_http_response"), ("function", "top_level_helper")},
        ["./util.sh"],
    ),
    "sample.kt": (
        "kotlin",
        {
            ("class", "ResponseParser"),
            ("method", "ResponseParser.parseHTTPResponse"),
            ("method", "ResponseParser.describe"),
            ("function", "topLevelHelper"),
        },
        ["kotlin.collections.List"],
    ),
}


def _chunk(name: str, text: str | None = None, cap: int = 3000) -> ParsedFile:
    spec = language_for(name)
    assert spec is not None
    source = (LANGS / name).read_text() if text is None else text
    return chunk_code(name, spec, source, source.encode(), cap)


def assert_partition(parsed: ParsedFile, text: str) -> None:
    """Chunks are disjoint whole-line spans that cover every non-blank line exactly once."""
    lines = text.split("\n")
    owner: dict[int, str] = {}
    for chunk in parsed.chunks:
        assert 1 <= chunk.start_line <= chunk.end_line <= len(lines)
        assert chunk.content == "\n".join(lines[chunk.start_line - 1 : chunk.end_line])
        for line in range(chunk.start_line, chunk.end_line + 1):
            assert line not in owner, f"line {line} in {owner[line]} and {chunk.id}"
            owner[line] = chunk.id
    missing = [i + 1 for i, line in enumerate(lines) if line.strip() and i + 1 not in owner]
    assert not missing, f"lines not indexed: {missing}"


def test_every_required_language_has_a_fixture() -> None:
    required = {
        "python", "javascript", "typescript", "tsx", "go", "rust", "java", "c", "cpp",
        "csharp", "ruby", "php", "bash", "kotlin",
    }  # fmt: skip
    assert required <= {spec.name for spec in LANGUAGES}
    assert required == {language for language, _, _ in EXPECTED.values()}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_language_definitions_become_chunks(name: str) -> None:
    language, wanted, imports = EXPECTED[name]
    parsed = _chunk(name)
    assert parsed.language == language
    found = {(c.kind, c.qualified_name) for c in parsed.chunks}
    assert wanted <= found, f"missing {wanted - found}"
    assert not parsed.parse_errors
    assert list(parsed.imports) == imports
    assert any(c.kind == "module" for c in parsed.chunks) or language in {"java", "cpp"}
    assert_partition(parsed, (LANGS / name).read_text())
    # Method chunks do not repeat inside their class chunk.
    classes = [c for c in parsed.chunks if c.kind == "class"]
    for chunk in parsed.chunks:
        if chunk.kind == "method":
            assert all(chunk.content not in c.content for c in classes)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_chunk_metadata(name: str) -> None:
    parsed = _chunk(name)
    for chunk, names in zip(parsed.chunks, parsed.chunk_names, strict=True):
        assert chunk.path == name
        assert len(chunk.content_hash) == 32
        assert chunk.symbol == chunk.qualified_name.rsplit(".", 1)[-1]
        spec = language_for(name)
        assert spec is not None
        assert not (set(names) & spec.keywords)
    assert len({c.id for c in parsed.chunks}) == len(parsed.chunks)
    assert parsed.names  # file-level identifier counts for references


def test_large_function_is_split_under_the_cap_never_dropped() -> None:
    body = "\n".join(f"    value_{i} = compute_{i}(value_{i - 1})" for i in range(1, 400))
    text = f"def huge(value_0):\n{body}\n    return value_399\n\n\ndef small():\n    return 1\n"
    parsed = _chunk("big.py", text, cap=1500)
    parts = [c for c in parsed.chunks if c.qualified_name == "huge"]
    assert len(parts) > 5
    assert all(len(c.content) <= 1500 for c in parts)
    assert parts[0].content.startswith("def huge(value_0):")
    assert parts[-1].content.rstrip().endswith("return value_399")
    assert {c.qualified_name for c in parsed.chunks} == {"huge", "small"}
    assert_partition(parsed, text)


def test_large_class_keeps_header_and_methods_separate() -> None:
    methods = "\n\n".join(
        f"    def method_{i}(self):\n" + "\n".join(f"        x{j} = {j}" for j in range(30))
        for i in range(20)
    )
    text = f'class Big:\n    """Doc."""\n\n    size = 3\n\n{methods}\n'
    parsed = _chunk("big_class.py", text, cap=2000)
    kinds = [(c.kind, c.qualified_name) for c in parsed.chunks]
    assert kinds[0] == ("class", "Big")
    assert '"""Doc."""' in parsed.chunks[0].content and "size = 3" in parsed.chunks[0].content
    assert sum(1 for kind, _ in kinds if kind == "method") == 20
    assert_partition(parsed, text)


def test_comments_above_a_definition_belong_to_it() -> None:
    text = "import os\n\n# Explains helper.\n# Second line.\ndef helper():\n    return os.sep\n"
    parsed = _chunk("c.py", text)
    helper = next(c for c in parsed.chunks if c.symbol == "helper")
    assert helper.start_line == 3
    assert helper.content.startswith("# Explains helper.")


def test_decorated_and_exported_definitions_keep_their_wrappers() -> None:
    parsed = _chunk("d.py", "@cache\n@other(1)\ndef cached():\n    return 1\n")
    assert parsed.chunks[0].qualified_name == "cached"
    assert parsed.chunks[0].start_line == 1
    ts = _chunk("e.ts", "export function shown(): number {\n  return 1;\n}\n")
    assert [(c.kind, c.symbol, c.start_line) for c in ts.chunks] == [("function", "shown", 1)]


def test_very_deep_nesting_does_not_crash() -> None:
    classes = (
        "".join("    " * i + f"class Level{i}:\n" for i in range(200)) + "    " * 200 + "pass\n"
    )
    parsed = _chunk("deep.py", classes)
    assert parsed.chunks
    assert_partition(parsed, classes)
    brackets = "x = " + "[" * 5000 + "]" * 5000 + "\n"
    parsed = _chunk("brackets.py", brackets)
    assert len(parsed.chunks) == 1
    nested_fn = "".join("  " * i + f"function f{i}() {{\n" for i in range(300)) + "".join(
        "  " * i + "}\n" for i in reversed(range(300))
    )
    parsed = _chunk("deep.js", nested_fn, cap=500)
    assert parsed.chunks
    assert_partition(parsed, nested_fn)


def test_syntax_errors_still_chunk_everything() -> None:
    text = "def ok():\n    return 1\n\ndef broken(:\n    pass\n\nclass Fine:\n    x = 1\n"
    parsed = _chunk("broken.py", text)
    assert parsed.parse_errors
    assert_partition(parsed, text)


def test_long_lines_are_cut_in_chunk_text() -> None:
    text = "def f():\n    return '" + "a" * 5000 + "'\n"
    parsed = _chunk("long.py", text)
    assert parsed.truncated_chunks == 1
    assert max(len(line) for line in parsed.chunks[0].content.split("\n")) <= 2000


def test_line_windows_for_text_files() -> None:
    text = "\n".join(f"line {i} " + "x" * 50 for i in range(200)) + "\n"
    parsed = chunk_text("notes.md", "markdown", text, cap=1000)
    assert len(parsed.chunks) > 5
    assert all(c.kind == "window" and c.language == "markdown" for c in parsed.chunks)
    assert all(len(c.content) <= 1000 for c in parsed.chunks)
    assert_partition(parsed, text)
    assert chunk_text("empty.md", "markdown", "", cap=1000).chunks == []


def test_python_relative_and_aliased_imports() -> None:
    text = "from . import sibling\nfrom ..pkg.mod import thing as t\nimport a.b as ab, c\n"
    assert list(_chunk("x/y/z.py", text).imports) == [
        ".sibling", ".", "..pkg.mod.thing", "..pkg.mod", "a.b", "c",
    ]  # fmt: skip


def test_identifier_splitting() -> None:
    assert split_identifier("parseHTTPResponse") == ("parse", "http", "response")
    assert split_identifier("parse_http_response") == ("parse", "http", "response")
    assert split_identifier("XMLHttpRequest2") == ("xml", "http", "request", "2")
    # snake_case and UPPER_CASE take a shortcut past the regex: same cuts, same case.
    assert split_identifier("__init__") == ("init",)
    assert split_identifier("MAX_LINE_CHARS") == ("max", "line", "chars")
    assert split_identifier("_") == ()
    assert split_identifier("snake_Case") == ("snake", "case")
    assert split_identifier("http2_server") == ("http", "2", "server")
    assert identifier_terms("getURL") == ("get", "url", "geturl")
    assert query_terms("http response parseHTTPResponse") == "http response parse parsehttpresponse"


# Definitions written as assignments and other idioms, per language:
# file name -> (source, (kind, qualified name, symbol) chunks that must exist).
IDIOMS: dict[str, tuple[str, set[tuple[str, str, str]]]] = {
    "response.js": (
        "'use strict';\n"
        "var res = Object.create(http.ServerResponse.prototype);\n"
        "module.exports = res;\n"
        "\n"
        "/**\n"
        " * Set a cookie.\n"
        " */\n"
        "res.cookie = function cookie(name, value, options) {\n"
        "  var opts = merge({}, options);\n"
        "  this.append('Set-Cookie', serialize(name, String(value), opts));\n"
        "  return this;\n"
        "};\n"
        "\n"
        "res.send = function send(body) {\n"
        "  return this.end(body);\n"
        "};\n"
        "\n"
        "exports.parse = function (text) {\n"
        "  return text.split(';');\n"
        "};\n"
        "\n"
        "module.exports.render = (view, options) => {\n"
        "  return view(options);\n"
        "};\n"
        "\n"
        "Router.prototype.route = function route(path) {\n"
        "  return new Route(path);\n"
        "};\n"
        "\n"
        "$.fn.highlight = function () {\n"
        "  return this;\n"
        "};\n"
        "\n"
        "const handlers = {\n"
        "  name: 'x',\n"
        "  onClick(event) {\n"
        "    return event;\n"
        "  },\n"
        "  onKey: function (event) {\n"
        "    return event.key;\n"
        "  },\n"
        "};\n"
        "\n"
        "class Widget {\n"
        "  size = 3;\n"
        "  handleClick = (event) => {\n"
        "    return event;\n"
        "  };\n"
        "  render() {\n"
        "    return 1;\n"
        "  }\n"
        "}\n",
        {
            ("method", "res.cookie", "cookie"),
            ("method", "res.send", "send"),
            ("function", "exports.parse", "parse"),
            ("function", "module.exports.render", "render"),
            ("method", "Router.prototype.route", "route"),
            ("method", "$.fn.highlight", "highlight"),
            ("method", "handlers.onClick", "onClick"),
            ("method", "handlers.onKey", "onKey"),
            ("method", "Widget.handleClick", "handleClick"),
            ("method", "Widget.render", "render"),
        },
    ),
    "app.js": (
        "exports = module.exports = createApplication;\n"
        "\n"
        "module.exports = function createServer(options) {\n"
        "  return options;\n"
        "};\n",
        {("function", "createServer", "createServer")},
    ),
    "store.ts": (
        "export class Store {\n"
        "  private onChange = (state: State): void => {\n"
        "    this.emit(state);\n"
        "  };\n"
        "}\n"
        "\n"
        "export const api = {\n"
        "  get(url: string) {\n"
        "    return fetch(url);\n"
        "  },\n"
        "};\n"
        "\n"
        "exports.load = function load(path: string) {\n"
        "  return path;\n"
        "};\n",
        {
            ("method", "Store.onChange", "onChange"),
            ("method", "api.get", "get"),
            ("function", "exports.load", "load"),
        },
    ),
    "shapes.py": (
        "square = lambda x: x * x\n"
        "LIMIT = 3\n"
        "\n"
        "\n"
        "class Shape:\n"
        "    area = lambda self: 0\n"
        "\n"
        "    def grow(self):\n"
        "        return square(LIMIT)\n",
        {
            ("function", "square", "square"),
            ("method", "Shape.area", "area"),
            ("method", "Shape.grow", "grow"),
        },
    ),
    "stack.go": (
        "package stack\n"
        "\n"
        "func (s *Stack[T]) Push(v T) {\n"
        "\ts.items = append(s.items, v)\n"
        "}\n"
        "\n"
        "func (Server) Run() {\n"
        "}\n",
        {("method", "Stack.Push", "Push"), ("method", "Server.Run", "Run")},
    ),
    "stack.rs": (
        "impl<T: Clone> Stack<T> {\n"
        "    fn push(&mut self, v: T) {\n"
        "        self.items.push(v);\n"
        "    }\n"
        "}\n"
        "\n"
        "impl fmt::Display for Point {\n"
        "    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {\n"
        '        write!(f, "p")\n'
        "    }\n"
        "}\n",
        {("method", "Stack.push", "push"), ("method", "Point.fmt", "fmt")},
    ),
    "builder.rb": (
        "class Builder\n"
        "  def self.build(x)\n"
        "    new(x)\n"
        "  end\n"
        "\n"
        "  class << self\n"
        "    def make\n"
        "      build(1)\n"
        "    end\n"
        "  end\n"
        "end\n"
        "\n"
        "def Builder.other\n"
        "  make\n"
        "end\n",
        {
            ("method", "Builder.build", "build"),
            ("method", "Builder.make", "make"),
            ("method", "Builder.other", "other"),
        },
    ),
    "ext.kt": (
        "fun String.shout(): String {\n"
        "    return uppercase()\n"
        "}\n"
        "\n"
        "fun <T> List<T>.second(): T = this[1]\n",
        {("method", "String.shout", "shout"), ("method", "List.second", "second")},
    ),
    "point.cpp": (
        "void Point::move(int dx) {\n"
        "  x += dx;\n"
        "}\n"
        "\n"
        "template <typename T>\n"
        "int Box<T>::size() {\n"
        "  return 1;\n"
        "}\n",
        {("method", "Point.move", "move"), ("method", "Box.size", "size")},
    ),
    "handlers.php": (
        "<?php\n"
        "$handler = function ($request) {\n"
        "    return $request;\n"
        "};\n"
        "$double = fn($x) => $x * 2;\n",
        {("function", "handler", "handler"), ("function", "double", "double")},
    ),
}


@pytest.mark.parametrize("name", sorted(IDIOMS))
def test_definitions_in_common_idioms_get_their_own_named_chunks(name: str) -> None:
    text, wanted = IDIOMS[name]
    parsed = _chunk(name, text)
    found = {(c.kind, c.qualified_name, c.symbol) for c in parsed.chunks}
    assert wanted <= found, f"missing {wanted - found}"
    defined = {(d.kind, d.qualified_name, d.name) for d in parsed.definitions}
    assert wanted <= defined
    assert not parsed.parse_errors
    assert_partition(parsed, text)


def test_member_assignment_chunk_holds_its_doc_comment_and_whole_body() -> None:
    text, _ = IDIOMS["response.js"]
    parsed = _chunk("response.js", text)
    cookie = next(c for c in parsed.chunks if c.qualified_name == "res.cookie")
    assert (cookie.start_line, cookie.end_line) == (5, 12)
    assert cookie.content.startswith("/**") and cookie.content.endswith("};")
    # Plain statements stay module code; no definition swallows them.
    assert not any(c.qualified_name == "res" for c in parsed.chunks)
    module = [c for c in parsed.chunks if c.kind == "module"]
    assert any("Object.create" in c.content for c in module)
    # Non-function members of an object literal are code, not definitions.
    assert not any(c.qualified_name == "handlers.name" for c in parsed.chunks)
    assert not any(c.qualified_name == "Widget.size" for c in parsed.chunks)


def test_doc_block_one_blank_line_above_belongs_to_the_definition() -> None:
    text = (
        "// ---- helpers ----\n"
        "\n"
        "/**\n"
        " * Send a response.\n"
        " */\n"
        "\n"
        "res.send = function send(body) {\n"
        "  return body;\n"
        "};\n"
        "\n"
        "// A section note, not a doc block.\n"
        "\n"
        "function other() {\n"
        "  return 2;\n"
        "}\n"
    )
    parsed = _chunk("doc.js", text)
    send = next(c for c in parsed.chunks if c.qualified_name == "res.send")
    assert send.start_line == 3 and send.content.startswith("/**")
    other = next(c for c in parsed.chunks if c.qualified_name == "other")
    assert other.start_line == 13
    assert any(c.kind == "module" and "helpers" in c.content for c in parsed.chunks)
    assert_partition(parsed, text)
