"""Code fragments from model answers parse, or not, in every indexed language (real tree-sitter).

The snippets are the kind models write: a method without its class, statements without
their function, struct fields, match arms, an elided tail. Each language has ones that must
parse and broken ones that must not.
"""

from __future__ import annotations

import pytest

from codedreamer.index.languages import LANGUAGES
from codedreamer.verify.fragment import (
    FAILS,
    NOT_CHECKED,
    OK,
    WRAPPERS,
    check_fragment,
    elides,
    guess_language,
)
from codedreamer.verify.parse_check import check_source

GOOD = {
    "python": [
        "def total(self):\n    return sum(self.items.values())",
        "return 1",  # a function body
        "    if rate <= 0:\n        raise ValueError(rate)",  # indented, as copied from a method
        "await session.close()",
        "with open(path) as handle:\n    # ...\n",  # elided body
    ],
    "javascript": [
        "res.cookie = function cookie(name, value, options) {\n"
        "  var opts = merge({}, options);\n  return this;\n};",
        "cookie(name, value) {\n  this.set(name, value);\n}",  # a class member
        "static async load() { return 1 }",
        "name: 'cart',\nrender(items) { return items.map(String); },",  # object members
        "return items.filter(Boolean);",
        "const o = {\n  ...defaults,\n  x: 1,\n};",  # spread, not elision
        "function renderCart(cart) {\n  const list = document.createElement('ul');\n  // ...\n",
    ],
    "typescript": [
        "private cache: Map<string, number> = new Map();",
        "get(key: string): number | undefined {\n  return this.cache.get(key);\n}",
        "name: string;\nage?: number;",
        "export async function load(path: string): Promise<Config> {\n"
        "  const raw = await fs.readFile(path, 'utf8');\n  return JSON.parse(raw) as Config;\n}",
    ],
    "tsx": ['const Item = ({ name }: Props) => <li className="item">{name}</li>;'],
    "go": [
        'if err != nil {\n\treturn fmt.Errorf("read %s: %w", path, err)\n}',
        "defer f.Close()",
        "func (s *Server) Close() error {\n\treturn s.ln.Close()\n}",
        'Name string\nAge  int `json:"age"`',  # struct fields
        "Read(p []byte) (n int, err error)",  # an interface method
    ],
    "rust": [
        "let v: Vec<_> = items.iter().map(|x| x * 2).collect();",
        "fn close(&mut self) -> io::Result<()> {\n    self.file.sync_all()\n}",
        "pub name: String,\npub age: u32,",  # struct fields
        "Some(v) => v,\nNone => 0,",  # match arms
        "self.len() == 0",  # an expression
    ],
    "java": [
        "public void close() throws IOException {\n  in.close();\n}",
        "try (var in = new FileInputStream(f)) {\n  return in.read();\n}",
        "@Override\npublic String toString() {\n  return name;\n}",
        "private final int size;",
    ],
    "c": [
        "if (p == NULL) {\n  return -1;\n}",
        "char *buf = malloc(n);\nif (!buf) return NULL;",
        "static int add(int a, int b) { return a + b; }",
        "for (i = 0; i < n; i++) sum += a[i];",
    ],
    "cpp": [
        "auto it = m.find(k);\nif (it != m.end()) return it->second;",
        "void close() override { fd_.reset(); }",
        "std::unique_ptr<Foo> p = std::make_unique<Foo>();",
    ],
    "csharp": [
        "public int Size { get; set; }",
        "using var s = File.OpenRead(path);",
        "if (x == null) throw new ArgumentNullException(nameof(x));",
    ],
    "ruby": ["def close\n  @io.close\nend", "return nil if x.nil?"],
    "php": [
        "$x = htmlspecialchars($name, ENT_QUOTES);",
        "public function close(): void { fclose($this->fh); }",
    ],
    "kotlin": ["fun close() { stream.close() }", "override fun toString(): String = name"],
    "bash": ['rm -rf -- "$dir"', 'if [ -z "$x" ]; then\n  exit 1\nfi'],
}

BAD = {
    "python": ["def broken(:", "x = (1,", "nonlocal z"],
    "javascript": ["function f(a { return a; }", "let x = ;", "if (x) {\n  return 1;\n"],
    "typescript": ["const x: number = ;", "function f(a: string { }"],
    "tsx": ["const x = <div>;"],
    "go": ["x := ", "if err != nil {\n\treturn err", "func f( {"],
    "rust": ["let x = ;", "fn f( {"],
    "java": ["int x = 1", "public void f( {"],  # a missing `;` is not elision
    "c": ["int x = 1", "if (p == NULL {"],
    "cpp": ["int x = 1", "auto x = ;"],
    "csharp": ["var x = ;", "public void F( {"],
    "ruby": ["def close(\n", "x = [1, 2"],
    "php": ["$x = ;", "function f( {"],
    "kotlin": ["val x: Int = ", "fun f( {"],
    "bash": ['if [ -z "$x" ]; then\n  exit 1\n', "echo $("],
}


def test_every_indexed_language_has_good_and_bad_snippets() -> None:
    names = {spec.name for spec in LANGUAGES}
    assert names == set(GOOD) == set(BAD)
    assert names - {"python"} == set(WRAPPERS)


@pytest.mark.parametrize(
    ("language", "code"), [(lang, code) for lang, codes in GOOD.items() for code in codes]
)
def test_real_snippets_parse(language: str, code: str) -> None:
    result = check_fragment(code, language)
    assert result.status == OK, result


@pytest.mark.parametrize(
    ("language", "code"), [(lang, code) for lang, codes in BAD.items() for code in codes]
)
def test_broken_snippets_do_not(language: str, code: str) -> None:
    result = check_fragment(code, language)
    assert result.status == FAILS, result
    assert result.detail.startswith("line "), result


def test_how_a_fragment_parsed_is_recorded() -> None:
    assert check_fragment("x = 1", "python").summary() == "ok: as written"
    assert check_fragment("return x", "python").summary() == "ok: as a function body"
    assert check_fragment("cookie(n) { return n; }", "javascript").detail == "as class members"
    assert check_fragment("Name string", "go").detail == "as struct fields"
    assert check_fragment("Some(v) => v,", "rust").detail == "as match arms"


def test_the_problem_line_is_the_fragments_own() -> None:
    # Wrappers add lines before the fragment; the detail counts the fragment's lines.
    assert check_fragment("x := 1\ny := ", "go").detail == "line 2: syntax error"
    assert check_fragment("int a = 1;\nint b = 2", "java").detail == "line 2: missing ';'"
    assert check_fragment("a = 1\nb = (", "python").detail.startswith("line 2:")


def test_elision_may_leave_blocks_open_but_excuses_nothing_else() -> None:
    torn = "function f() {\n  const x = 1;\n"
    assert check_fragment(torn, "javascript").status == FAILS
    assert check_fragment(torn + "  // ... rest unchanged\n", "javascript").status == OK
    assert "elided" in check_fragment(torn + "  ...\n", "javascript").detail
    go = "func f() error {\n\tif err != nil {\n\t\treturn err\n\t}\n\t// ...\n"
    assert check_fragment(go, "go").status == OK
    # A missing `;` is not an open block: elision does not excuse it.
    assert check_fragment("int x = 1\n// ...", "java").status == FAILS
    assert check_fragment("x = 1\n...\ny = 2", "rust").status == FAILS  # not Rust
    assert elides("a\n// ...\n") and elides("  # rest of the function unchanged")
    assert not elides("const o = {...defaults};") and not elides("...args")


def test_python_is_compiled_so_what_the_grammar_allows_the_language_may_not() -> None:
    # tree-sitter's Python grammar accepts these; the compiler does not.
    assert check_fragment("def f(x, x):\n    pass", "python").status == FAILS
    assert check_fragment("f(**a, *b)", "python").status == FAILS
    assert check_source("return 1\n", "python").startswith("fails: line 1: 'return' outside")
    # A whole file gets no wrapper.
    assert check_source("return items.filter(Boolean);\n", "javascript") == "ok"
    assert check_source("cookie(n) { return n; }\n", "javascript").startswith("fails")


def test_a_language_without_a_parser_is_not_checked() -> None:
    assert check_fragment("IDENTIFICATION DIVISION.", "cobol").status == NOT_CHECKED
    assert check_fragment("IDENTIFICATION DIVISION.", "cobol").ok


def test_guessing_the_language_of_a_fragment() -> None:
    assert guess_language("def f(x):\n    return [i for i in x if i]", exclude=["go"]) == "python"
    assert guess_language(
        "const total = items.reduce((a, b) => a + b, 0);", exclude=["python"]
    ) == ("javascript")
    assert guess_language("fn main() { let x: u32 = 1; }", exclude=["python"]) == "rust"
    assert (
        guess_language("func main() {\n\tx := 1\n\tfmt.Println(x)\n}", exclude=["python"]) == "go"
    )
    # Prose parses as nothing we guess (Ruby, Kotlin and bash would take it, so they are not
    # guessed).
    assert guess_language("See the docs for details") is None
    assert guess_language("this is not code at all, is it?") is None
