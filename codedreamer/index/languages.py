"""Which files are code in which language, and how each grammar spells definitions.

The chunker is one generic algorithm; everything language-specific is data in this table:
node types that define functions and classes, the containers whose members become their
own chunks, wrappers (decorators, `export`), import queries and keywords (never references).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import PurePosixPath


@dataclass(frozen=True)
class LanguageSpec:
    """How one tree-sitter grammar marks definitions, scopes and imports."""

    name: str
    """Our language id, stored on every chunk."""
    grammar: str
    """The tree-sitter-languages grammar name."""
    extensions: tuple[str, ...]
    definitions: Mapping[str, str]
    """Node type -> chunk kind. "function" becomes "method" inside a class."""
    containers: frozenset[str] = frozenset()
    """Definition types whose members (methods, nested classes) become separate chunks."""
    scopes: frozenset[str] = frozenset()
    """Namespaces, impl blocks, preprocessor conditionals: transparent, may add a name."""
    wrappers: frozenset[str] = frozenset()
    """Decorators, `export`, templates: the definition is inside."""
    bodies: frozenset[str] = frozenset()
    """Member-list node types inside containers and scopes."""
    variable_functions: frozenset[str] = frozenset()
    """Declarations that define a function by assigning one (`const f = () => ...`)."""
    function_values: frozenset[str] = frozenset()
    """Value node types that are functions (arrow functions, lambdas, closures)."""
    assignments: frozenset[str] = frozenset()
    """Statements that may define a function by assigning one to a name or member
    (`res.cookie = function cookie() {...}`, `square = lambda x: x * x`, class fields)."""
    object_types: frozenset[str] = frozenset()
    """Literal types whose function members become methods (`const api = { get() {} }`)."""
    imports_query: str = ""
    import_words: tuple[str, ...] = ()
    """Words on every line that holds an import; the query runs only on those lines."""
    keywords: frozenset[str] = field(default_factory=frozenset)
    filenames: tuple[str, ...] = ()


def _kw(text: str) -> frozenset[str]:
    return frozenset(text.split())


_JS_KEYWORDS = _kw(
    "break case catch class const continue debugger default delete do else export extends "
    "finally for function if import in instanceof new return super switch this throw try "
    "typeof var void while with yield let static async await of null true false undefined "
    "get set from as"
)
_TS_EXTRA = _kw(
    "interface type enum implements namespace declare abstract private protected public "
    "readonly keyof infer is any unknown never string number boolean object symbol module"
)
_C_KEYWORDS = _kw(
    "auto break case char const continue default do double else enum extern float for goto "
    "if inline int long register restrict return short signed sizeof static struct switch "
    "typedef union unsigned void volatile while bool true false NULL include define ifdef "
    "ifndef endif elif pragma undef"
)
_CPP_EXTRA = _kw(
    "class namespace template typename public private protected virtual override final "
    "new delete this operator friend using nullptr try catch throw constexpr noexcept "
    "explicit mutable static_cast dynamic_cast reinterpret_cast const_cast std"
)
_JS_DEFS = {
    "function_declaration": "function",
    "generator_function_declaration": "function",
    "method_definition": "function",
    "class_declaration": "class",
}
_JS_IMPORTS = """
(import_statement source: (string) @import)
(export_statement source: (string) @import)
(call_expression function: (identifier) @_fn arguments: (arguments (string) @import))
"""
_TS_DEFS = {
    **_JS_DEFS,
    "abstract_class_declaration": "class",
    "interface_declaration": "interface",
    "enum_declaration": "enum",
    "type_alias_declaration": "type",
}

LANGUAGES: tuple[LanguageSpec, ...] = (
    LanguageSpec(
        name="python",
        grammar="python",
        extensions=(".py", ".pyi", ".pyw"),
        definitions={"function_definition": "function", "class_definition": "class"},
        containers=frozenset({"class_definition"}),
        wrappers=frozenset({"decorated_definition"}),
        bodies=frozenset({"block"}),
        function_values=frozenset({"lambda"}),
        assignments=frozenset({"expression_statement"}),
        imports_query="(import_statement) @import (import_from_statement) @import",
        import_words=("import",),
        keywords=_kw(
            "False None True and as assert async await break class continue def del elif "
            "else except finally for from global if import in is lambda nonlocal not or pass "
            "raise return try while with yield self cls match case print"
        ),
    ),
    LanguageSpec(
        name="javascript",
        grammar="javascript",
        extensions=(".js", ".mjs", ".cjs", ".jsx"),
        definitions=_JS_DEFS,
        containers=frozenset({"class_declaration"}),
        wrappers=frozenset({"export_statement"}),
        bodies=frozenset({"class_body"}),
        variable_functions=frozenset({"lexical_declaration", "variable_declaration"}),
        function_values=frozenset(
            {"arrow_function", "function", "function_expression", "generator_function"}
        ),
        assignments=frozenset({"expression_statement", "pair", "field_definition"}),
        object_types=frozenset({"object"}),
        imports_query=_JS_IMPORTS,
        import_words=("import", "require", "export"),
        keywords=_JS_KEYWORDS,
    ),
    LanguageSpec(
        name="typescript",
        grammar="typescript",
        extensions=(".ts", ".mts", ".cts"),
        definitions=_TS_DEFS,
        containers=frozenset({"class_declaration", "abstract_class_declaration"}),
        scopes=frozenset({"internal_module", "module"}),
        wrappers=frozenset({"export_statement", "ambient_declaration"}),
        bodies=frozenset({"class_body", "statement_block"}),
        variable_functions=frozenset({"lexical_declaration", "variable_declaration"}),
        function_values=frozenset(
            {"arrow_function", "function", "function_expression", "generator_function"}
        ),
        assignments=frozenset({"expression_statement", "pair", "public_field_definition"}),
        object_types=frozenset({"object"}),
        imports_query=_JS_IMPORTS,
        import_words=("import", "require", "export"),
        keywords=_JS_KEYWORDS | _TS_EXTRA,
    ),
    LanguageSpec(
        name="tsx",
        grammar="tsx",
        extensions=(".tsx",),
        definitions=_TS_DEFS,
        containers=frozenset({"class_declaration", "abstract_class_declaration"}),
        scopes=frozenset({"internal_module", "module"}),
        wrappers=frozenset({"export_statement", "ambient_declaration"}),
        bodies=frozenset({"class_body", "statement_block"}),
        variable_functions=frozenset({"lexical_declaration", "variable_declaration"}),
        function_values=frozenset(
            {"arrow_function", "function", "function_expression", "generator_function"}
        ),
        assignments=frozenset({"expression_statement", "pair", "public_field_definition"}),
        object_types=frozenset({"object"}),
        imports_query=_JS_IMPORTS,
        import_words=("import", "require", "export"),
        keywords=_JS_KEYWORDS | _TS_EXTRA,
    ),
    LanguageSpec(
        name="go",
        grammar="go",
        extensions=(".go",),
        definitions={
            "function_declaration": "function",
            "method_declaration": "method",
            "type_declaration": "type",
        },
        imports_query="(import_spec path: (_) @import)",
        import_words=("import",),
        keywords=_kw(
            "break case chan const continue default defer else fallthrough for func go goto "
            "if import interface map package range return select struct switch type var nil "
            "true false iota string int error bool byte rune"
        ),
    ),
    LanguageSpec(
        name="rust",
        grammar="rust",
        extensions=(".rs",),
        definitions={
            "function_item": "function",
            "struct_item": "class",
            "enum_item": "enum",
            "union_item": "class",
            "trait_item": "trait",
            "type_item": "type",
            "macro_definition": "macro",
        },
        containers=frozenset({"trait_item"}),
        scopes=frozenset({"impl_item", "mod_item", "foreign_mod_item"}),
        bodies=frozenset({"declaration_list"}),
        imports_query=(
            "(use_declaration argument: (_) @import) (mod_item name: (identifier) @import)"
        ),
        import_words=("use ", "mod "),
        keywords=_kw(
            "as async await break const continue crate dyn else enum extern false fn for if "
            "impl in let loop match mod move mut pub ref return self Self static struct super "
            "trait true type unsafe use where while Some None Ok Err"
        ),
    ),
    LanguageSpec(
        name="java",
        grammar="java",
        extensions=(".java",),
        definitions={
            "class_declaration": "class",
            "interface_declaration": "interface",
            "enum_declaration": "enum",
            "record_declaration": "class",
            "annotation_type_declaration": "interface",
            "method_declaration": "method",
            "constructor_declaration": "method",
        },
        containers=frozenset(
            {
                "class_declaration",
                "interface_declaration",
                "enum_declaration",
                "record_declaration",
            }
        ),
        bodies=frozenset({"class_body", "interface_body", "enum_body", "enum_body_declarations"}),
        imports_query="(import_declaration (_) @import)",
        import_words=("import",),
        keywords=_kw(
            "abstract assert boolean break byte case catch char class const continue default "
            "do double else enum extends final finally float for goto if implements import "
            "instanceof int interface long native new package private protected public return "
            "short static strictfp super switch synchronized this throw throws transient try "
            "void volatile while true false null var record String Override"
        ),
    ),
    LanguageSpec(
        name="c",
        grammar="c",
        extensions=(".c", ".h"),
        definitions={
            "function_definition": "function",
            "struct_specifier": "class",
            "union_specifier": "class",
            "enum_specifier": "enum",
            "type_definition": "type",
        },
        scopes=frozenset(
            {"preproc_if", "preproc_ifdef", "preproc_else", "preproc_elif", "linkage_specification"}
        ),
        bodies=frozenset({"declaration_list"}),
        imports_query="(preproc_include path: (string_literal) @import)",
        import_words=("include",),
        keywords=_C_KEYWORDS,
    ),
    LanguageSpec(
        name="cpp",
        grammar="cpp",
        extensions=(".cpp", ".cc", ".cxx", ".c++", ".hpp", ".hh", ".hxx", ".h++", ".ipp"),
        definitions={
            "function_definition": "function",
            "class_specifier": "class",
            "struct_specifier": "class",
            "union_specifier": "class",
            "enum_specifier": "enum",
            "type_definition": "type",
        },
        containers=frozenset({"class_specifier", "struct_specifier"}),
        scopes=frozenset(
            {
                "namespace_definition",
                "preproc_if",
                "preproc_ifdef",
                "preproc_else",
                "preproc_elif",
                "linkage_specification",
            }
        ),
        wrappers=frozenset({"template_declaration"}),
        bodies=frozenset({"declaration_list", "field_declaration_list"}),
        imports_query="(preproc_include path: (string_literal) @import)",
        import_words=("include",),
        keywords=_C_KEYWORDS | _CPP_EXTRA,
    ),
    LanguageSpec(
        name="csharp",
        grammar="c_sharp",
        extensions=(".cs",),
        definitions={
            "class_declaration": "class",
            "struct_declaration": "class",
            "interface_declaration": "interface",
            "record_declaration": "class",
            "enum_declaration": "enum",
            "method_declaration": "method",
            "constructor_declaration": "method",
            "destructor_declaration": "method",
            "operator_declaration": "method",
            "property_declaration": "property",
        },
        containers=frozenset(
            {
                "class_declaration",
                "struct_declaration",
                "interface_declaration",
                "record_declaration",
            }
        ),
        scopes=frozenset({"namespace_declaration", "file_scoped_namespace_declaration"}),
        bodies=frozenset({"declaration_list"}),
        imports_query="(using_directive (_) @import)",
        import_words=("using",),
        keywords=_kw(
            "abstract as base bool break byte case catch char checked class const continue "
            "decimal default delegate do double else enum event explicit extern false finally "
            "fixed float for foreach goto if implicit in int interface internal is lock long "
            "namespace new null object operator out override params private protected public "
            "readonly ref return sbyte sealed short sizeof static string struct switch this "
            "throw true try typeof uint ulong unchecked unsafe ushort using var virtual void "
            "volatile while async await get set value"
        ),
    ),
    LanguageSpec(
        name="ruby",
        grammar="ruby",
        extensions=(".rb", ".rake", ".gemspec"),
        definitions={
            "method": "function",
            "singleton_method": "function",
            "class": "class",
            "module": "module",
        },
        containers=frozenset({"class", "module"}),
        scopes=frozenset({"singleton_class"}),
        bodies=frozenset({"body_statement"}),
        imports_query=(
            "(call method: (identifier) @_fn arguments: (argument_list (string) @import))"
        ),
        import_words=("require",),
        keywords=_kw(
            "alias and begin break case class def defined do else elsif end ensure false for "
            "if in module next nil not or redo rescue retry return self super then true undef "
            "unless until when while yield require require_relative attr_reader attr_accessor"
        ),
        filenames=("Rakefile", "Gemfile"),
    ),
    LanguageSpec(
        name="php",
        grammar="php",
        extensions=(".php",),
        definitions={
            "function_definition": "function",
            "method_declaration": "method",
            "class_declaration": "class",
            "interface_declaration": "interface",
            "trait_declaration": "trait",
            "enum_declaration": "enum",
        },
        containers=frozenset(
            {"class_declaration", "interface_declaration", "trait_declaration", "enum_declaration"}
        ),
        scopes=frozenset({"namespace_definition"}),
        bodies=frozenset({"declaration_list", "compound_statement", "enum_declaration_list"}),
        function_values=frozenset({"anonymous_function_creation_expression", "arrow_function"}),
        assignments=frozenset({"expression_statement"}),
        imports_query="""
(require_once_expression (_) @import) (require_expression (_) @import)
(include_expression (_) @import) (include_once_expression (_) @import)
""",
        import_words=("require", "include"),
        keywords=_kw(
            "abstract and array as break callable case catch class clone const continue "
            "declare default do echo else elseif empty enddeclare endfor endforeach endif "
            "endswitch endwhile extends final finally fn for foreach function global goto if "
            "implements include include_once instanceof insteadof interface isset list match "
            "namespace new or print private protected public readonly require require_once "
            "return static switch throw trait try unset use var while yield this null true "
            "false self parent"
        ),
    ),
    LanguageSpec(
        name="bash",
        grammar="bash",
        extensions=(".sh", ".bash", ".zsh"),
        definitions={"function_definition": "function"},
        imports_query="(command name: (command_name) @_fn argument: (word) @import)",
        import_words=("source", ". "),
        keywords=_kw(
            "if then else elif fi case esac for select while until do done in function time "
            "echo local export return set source readonly declare"
        ),
    ),
    LanguageSpec(
        name="kotlin",
        grammar="kotlin",
        extensions=(".kt", ".kts"),
        definitions={
            "function_declaration": "function",
            "class_declaration": "class",
            "object_declaration": "class",
            "companion_object": "class",
        },
        containers=frozenset({"class_declaration", "object_declaration", "companion_object"}),
        bodies=frozenset({"class_body", "enum_class_body"}),
        imports_query="(import_header (identifier) @import)",
        import_words=("import",),
        keywords=_kw(
            "as break class continue do else false for fun if in interface is null object "
            "package return super this throw true try typealias typeof val var when while "
            "by catch constructor delegate dynamic field file finally get import init param "
            "property receiver set setparam where actual abstract annotation companion const "
            "crossinline data enum expect external final infix inline inner internal lateinit "
            "noinline open operator out override private protected public reified sealed "
            "suspend tailrec vararg String Int Unit"
        ),
    ),
)

_BY_EXTENSION: dict[str, LanguageSpec] = {
    ext: spec for spec in LANGUAGES for ext in spec.extensions
}
_BY_FILENAME: dict[str, LanguageSpec] = {
    name: spec for spec in LANGUAGES for name in spec.filenames
}
_BY_NAME: dict[str, LanguageSpec] = {spec.name: spec for spec in LANGUAGES}

# Text formats worth reading as line windows: docs and configuration people edit by hand.
TEXT_LANGUAGES: Mapping[str, str] = {
    ".md": "markdown",
    ".rst": "rst",
    ".txt": "text",
    ".toml": "toml",
    ".yaml": "yaml",
    ".yml": "yaml",
    ".json": "json",
    ".cfg": "ini",
    ".ini": "ini",
    ".html": "html",
    ".htm": "html",
    ".css": "css",
    ".scss": "css",
    ".sql": "sql",
    ".xml": "xml",
    ".proto": "proto",
    ".graphql": "graphql",
    ".lua": "lua",
    ".swift": "swift",
    ".scala": "scala",
    ".dart": "dart",
    ".zig": "zig",
    ".ex": "elixir",
    ".exs": "elixir",
    ".erl": "erlang",
    ".hs": "haskell",
    ".ml": "ocaml",
    ".r": "r",
    ".jl": "julia",
    ".pl": "perl",
    ".pm": "perl",
    ".vue": "vue",
    ".svelte": "svelte",
    ".tf": "terraform",
    ".cmake": "cmake",
    ".mk": "make",
    ".gradle": "gradle",
}
TEXT_FILENAMES: Mapping[str, str] = {
    "Makefile": "make",
    "Dockerfile": "dockerfile",
    "CMakeLists.txt": "cmake",
    "README": "text",
    "LICENSE": "text",
}


def language_for(path: str) -> LanguageSpec | None:
    """The parsed language of a path (by extension or well-known file name), if any."""
    pure = PurePosixPath(path)
    return _BY_EXTENSION.get(pure.suffix.lower()) or _BY_FILENAME.get(pure.name)


def text_language_for(path: str) -> str | None:
    """The language label of a text file read as line windows, if it is one we read."""
    pure = PurePosixPath(path)
    return TEXT_LANGUAGES.get(pure.suffix.lower()) or TEXT_FILENAMES.get(pure.name)


def spec_named(name: str) -> LanguageSpec | None:
    return _BY_NAME.get(name)
