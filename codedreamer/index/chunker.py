"""Cut one file into chunks: definitions from tree-sitter, line windows for other text.

Rules, for every language in `languages.LANGUAGES`:
- each function, method and class header is its own chunk; a class's methods are not
  repeated inside the class chunk, so no line is indexed twice;
- module-level code between definitions is grouped into "module" chunks;
- a definition larger than the size cap is split on inner boundaries (statements, then
  lines), never dropped; every part keeps the definition's symbol and qualified name;
- comments right above a definition belong to it; closing braces belong to what they close.
Chunk spans are whole lines, disjoint, and cover every non-blank line of the file.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from itertools import accumulate, chain
from pathlib import PurePosixPath

from codedreamer.index.chunk import Chunk, Definition, ParsedFile, chunk_id, content_hash
from codedreamer.index.languages import LanguageSpec
from codedreamer.index.parser import SyntaxNode, captures, parse
from codedreamer.index.tokens import IDENTIFIER, identifier_terms

# Nesting deeper than this is treated as one opaque definition: real code never needs more,
# and generated or hostile input must not exhaust the Python stack.
MAX_SCOPE_DEPTH = 24
MAX_SPLIT_DEPTH = 48
# Lines of a chunk beyond this many characters are cut (minified code inside a small file).
MAX_LINE_CHARS = 2_000

_NAME_TYPES = frozenset(
    {
        "identifier",
        "type_identifier",
        "field_identifier",
        "property_identifier",
        "simple_identifier",
        "constant",
        "name",
        "word",
        "namespace_identifier",
        "qualified_identifier",
        "scoped_identifier",
        "operator_name",
        "destructor_name",
    }
)
_DECLARATOR_FIELDS = ("declarator", "name")
_WRAPPED_FIELDS = ("definition", "declaration")
_CLOSER = re.compile(r"^[\s})\];,]*(end)?[\s})\];,]*$")
# Statement shapes that assign a value (JS/TS/PHP `assignment_expression`, Python `assignment`).
_ASSIGNMENTS = frozenset({"assignment_expression", "assignment"})
# One part of an assignment target: JS allows `$` (jQuery's `$.fn.plugin = function`).
_MEMBER_NAME = re.compile(r"[A-Za-z_$#][A-Za-z0-9_$]*")
# Type arguments, which are not part of a type's name: `Stack<T>`, `Stack[T]`.
_GENERIC_ARGS = re.compile(r"<[^<>]*(?:<[^<>]*>[^<>]*)*>|\[[^\[\]]*\]")


class LineTooLong(Exception):
    """A line is longer than the caller's limit: minified or generated, not worth indexing."""


@dataclass
class _Item:
    """A line span found while walking the tree: a definition or a run of other code."""

    start: int  # 0-based row, inclusive
    end: int
    node: SyntaxNode | None
    is_def: bool
    kind: str
    symbol: str
    qualified: str


@dataclass
class _Segment:
    start: int
    end: int
    kind: str
    symbol: str
    qualified: str


class _Lines:
    """The file's lines with prefix sums, so the size of any span is O(1)."""

    def __init__(self, text: str) -> None:
        self.lines = text.split("\n")
        if self.lines and self.lines[-1] == "":
            self.lines.pop()
        # Offsets of each line start; all-C callables keep this fast on big files.
        self.offsets = list(accumulate(map((1).__add__, map(len, self.lines)), initial=0))
        self.longest = max(map(len, self.lines), default=0)

    def blank(self, row: int) -> bool:
        return not self.lines[row].strip()

    def size(self, start: int, end: int) -> int:
        return self.offsets[end + 1] - self.offsets[start]

    def __len__(self) -> int:
        return len(self.lines)


def _rows(node: SyntaxNode) -> tuple[int, int]:
    start, end = node.start_point[0], node.end_point[0]
    # A node that ends with its newline reports the next row at column 0.
    if end > start and node.end_point[1] == 0:
        end -= 1
    return start, end


def _text(node: SyntaxNode, source: bytes) -> str:
    return source[node.start_byte : node.end_byte].decode("utf-8", "replace")


def _name_of(node: SyntaxNode, source: bytes, depth: int = 0) -> str:
    """The defined name: the `name` field, a C declarator chain, or the first name-like child."""
    if depth > 6:
        return ""
    for field_name in _DECLARATOR_FIELDS:
        child = node.child_by_field_name(field_name)
        if child is None:
            continue
        if child.type in _NAME_TYPES:
            return _text(child, source)
        found = _name_of(child, source, depth + 1)
        if found:
            return found
    typed = node.child_by_field_name("type")
    if typed is not None and node.type == "impl_item":
        return _text(typed, source)
    for child in node.named_children:
        if child.type in _NAME_TYPES:
            return _text(child, source)
        if child.type == "type_spec":  # Go: type Foo struct {...}
            return _name_of(child, source, depth + 1)
    return ""


def _header_end(start: int, body: SyntaxNode) -> int:
    members = body.named_children
    first_member = members[0].start_point[0] if members else body.start_point[0] + 1
    return max(start, min(body.start_point[0], first_member - 1))


def _type_name(text: str) -> str:
    """The bare name of a type as written: `*Stack[T]`, `Stack<T>`, `crate::net::Client`."""
    words: list[str] = IDENTIFIER.findall(_GENERIC_ARGS.sub("", text))
    return words[-1] if words else ""


def _receiver(node: SyntaxNode, source: bytes) -> str:
    """The type a Go method or a Kotlin extension function is declared on, if any."""
    receiver = node.child_by_field_name("receiver")
    if receiver is None:
        return ""
    # Go: `(s *Server)` -> the parameter's type; Kotlin: the receiver is the type itself.
    for child in receiver.named_children:
        typed = child.child_by_field_name("type")
        if typed is not None:
            return _type_name(_text(typed, source))
    return _type_name(_text(receiver, source))


class _Walker:
    """Flattens a syntax tree into definition and code items, in document order."""

    def __init__(self, spec: LanguageSpec, source: bytes) -> None:
        self.spec = spec
        self.source = source
        self.items: list[_Item] = []
        self.definitions: list[Definition] = []

    def walk(
        self,
        nodes: Sequence[SyntaxNode],
        scope: tuple[str, ...],
        owner: tuple[str, str, str],
        in_class: bool,
        depth: int,
    ) -> None:
        spec = self.spec
        pending_comments: list[SyntaxNode] = []
        for node in nodes:
            if not node.is_named:
                continue
            if node.type == "comment" or node.type.endswith("_comment"):
                pending_comments.append(node)
                continue
            target = self._unwrap(node)
            lead = self._leading_row(pending_comments, node, owner)
            if lead is None:
                self._flush_code(pending_comments, owner)
            pending_comments = []
            start = node.start_point[0] if lead is None else lead
            if target.type in spec.definitions:
                self._definition(node, target, start, scope, in_class, depth)
            elif target.type in spec.variable_functions and self._function_value(target):
                name = self._declared_name(target)
                kind = "method" if in_class else "function"
                self._add_def(start, node, target, kind, name, scope)
            elif (assigned := self._assigned_function(target)) is not None:
                parts, kind = assigned
                self._add_def(start, node, target, "method" if in_class else kind, parts, scope)
            elif depth < MAX_SCOPE_DEPTH and (literal := self._object_scope(target)) is not None:
                self._object(node, literal, start, scope, owner, depth)
            elif target.type in spec.scopes and depth < MAX_SCOPE_DEPTH:
                self._scope(node, target, start, scope, owner, in_class, depth)
            else:
                self._code(start, _rows(node)[1], node, owner)
        self._flush_code(pending_comments, owner)

    def _unwrap(self, node: SyntaxNode) -> SyntaxNode:
        spec = self.spec
        current = node
        for _ in range(4):
            if current.type not in spec.wrappers:
                return current
            inner: SyntaxNode | None = None
            for field_name in _WRAPPED_FIELDS:
                inner = current.child_by_field_name(field_name)
                if inner is not None:
                    break
            if inner is None:
                for child in current.named_children:
                    if (
                        child.type in spec.definitions
                        or child.type in spec.variable_functions
                        or child.type in spec.wrappers
                    ):
                        inner = child
                        break
            if inner is None:
                return current
            current = inner
        return current

    def _leading_row(
        self, comments: list[SyntaxNode], node: SyntaxNode, owner: tuple[str, str, str]
    ) -> int | None:
        """The first row of the comments directly above `node` (no blank line between).

        A doc block (`/** ... */`, as JSDoc, Javadoc and PHPDoc write them) right above may
        be followed by one blank line: Express and many other codebases write them so.
        """
        if not comments:
            return None
        row = node.start_point[0]
        first: int | None = None
        for comment in reversed(comments):
            gap = row - (_rows(comment)[1] + 1)
            doc_block = first is None and self.source.startswith(b"/**", comment.start_byte)
            if gap > (1 if doc_block else 0):
                break
            row = comment.start_point[0]
            first = row
        if first is not None and first != comments[0].start_point[0]:
            # Only part of the comment run is attached; the rest stays module code.
            detached = [c for c in comments if c.start_point[0] < first]
            for comment in detached:
                self._code(comment.start_point[0], _rows(comment)[1], comment, owner)
        return first

    def _flush_code(self, comments: list[SyntaxNode], owner: tuple[str, str, str]) -> None:
        for comment in comments:
            self._code(comment.start_point[0], _rows(comment)[1], comment, owner)

    def _code(self, start: int, end: int, node: SyntaxNode, owner: tuple[str, str, str]) -> None:
        kind, symbol, qualified = owner
        self.items.append(_Item(start, end, node, False, kind or "module", symbol, qualified))

    def _function_value(self, declaration: SyntaxNode) -> bool:
        declarators = [c for c in declaration.named_children if c.type == "variable_declarator"]
        if len(declarators) != 1:
            return False
        value = declarators[0].child_by_field_name("value")
        return value is not None and value.type in self.spec.function_values

    def _declared_name(self, declaration: SyntaxNode) -> str:
        for child in declaration.named_children:
            if child.type == "variable_declarator":
                return _name_of(child, self.source)
        return ""

    def _add_def(
        self,
        start: int,
        node: SyntaxNode,
        target: SyntaxNode,
        kind: str,
        name: str | tuple[str, ...],
        scope: tuple[str, ...],
    ) -> None:
        """A definition chunk; a tuple name (`res`, `cookie`) is qualified by all its parts."""
        parts = name if isinstance(name, tuple) else ((name,) if name else ())
        name = parts[-1] if parts else ""
        qualified = ".".join((*scope, *parts))
        end = _rows(node)[1]
        self.items.append(_Item(start, end, target, True, kind, name, qualified))
        if name:
            self.definitions.append(
                Definition(name, kind, qualified, target.start_point[0] + 1, end + 1)
            )

    def _assignment(self, node: SyntaxNode) -> tuple[SyntaxNode, SyntaxNode] | None:
        """(target, value) of a statement that assigns one value to one name, if it is one."""
        if node.type not in self.spec.assignments:
            return None
        if node.type == "expression_statement":
            inner = node.named_children[0] if node.named_children else None
            if inner is None or inner.type not in _ASSIGNMENTS:
                return None
            left, right = inner.child_by_field_name("left"), inner.child_by_field_name("right")
            # `exports = module.exports = function ...`: the value is at the end of the chain.
            while right is not None and right.type in _ASSIGNMENTS:
                right = right.child_by_field_name("right")
        elif node.type == "pair":
            left, right = node.child_by_field_name("key"), node.child_by_field_name("value")
        else:  # class fields: `handle = () => {...}`
            left = node.child_by_field_name("property") or node.child_by_field_name("name")
            right = node.child_by_field_name("value")
        if left is None or right is None:
            return None
        return left, right

    def _target_parts(self, left: SyntaxNode) -> tuple[str, ...] | None:
        """`res.cookie` -> (res, cookie); None for targets that are not plain names."""
        text = _text(left, self.source)
        if left.type == "variable_name":  # PHP: $handler
            text = text.lstrip("$")
        elif left.type == "string":  # an object key written as a string
            text = text.strip("'\"`")
        parts = tuple(re.sub(r"\s+", "", text).split("."))
        if not all(_MEMBER_NAME.fullmatch(part) for part in parts):
            return None
        return parts

    def _assigned_function(self, node: SyntaxNode) -> tuple[tuple[str, ...], str] | None:
        """Name parts and kind of a function defined by assignment, e.g. `res.cookie = function`.

        Member assignments are methods of the object they extend (`res.cookie`,
        `Foo.prototype.bar`); plain names and CommonJS exports are functions. An anonymous
        function assigned to `module.exports` is named `exports`; a named one by its name.
        """
        found = self._assignment(node)
        if found is None:
            return None
        left, right = found
        if right.type not in self.spec.function_values:
            return None
        parts = self._target_parts(left)
        if parts is None:
            return None
        if parts in {("module", "exports"), ("exports",)}:
            own = right.child_by_field_name("name")
            if own is not None:
                return (_text(own, self.source),), "function"
        if len(parts) > 1 and parts[0] not in {"module", "exports"}:
            return parts, "method"
        return parts, "function"

    def _object_scope(self, node: SyntaxNode) -> tuple[tuple[str, ...], SyntaxNode] | None:
        """An object literal holding functions, bound to a name: `const api = { get() {} }`."""
        if not self.spec.object_types:
            return None
        if node.type in self.spec.variable_functions:
            declarators = [c for c in node.named_children if c.type == "variable_declarator"]
            if len(declarators) != 1:
                return None
            left = declarators[0].child_by_field_name("name")
            value = declarators[0].child_by_field_name("value")
        else:
            found = self._assignment(node)
            if found is None:
                return None
            left, value = found
        if left is None or value is None or value.type not in self.spec.object_types:
            return None
        parts = self._target_parts(left)
        if parts is None or not any(self._is_definition(m) for m in value.named_children):
            return None
        return parts, value

    def _object(
        self,
        node: SyntaxNode,
        literal: tuple[tuple[str, ...], SyntaxNode],
        start: int,
        scope: tuple[str, ...],
        owner: tuple[str, str, str],
        depth: int,
    ) -> None:
        """Like a namespace: the opening line is code, each function member its own chunk."""
        parts, body = literal
        self._code(start, _header_end(start, body), node, owner)
        self.walk(list(body.children), (*scope, *parts), owner, True, depth + 1)

    def _definition(
        self,
        node: SyntaxNode,
        target: SyntaxNode,
        start: int,
        scope: tuple[str, ...],
        in_class: bool,
        depth: int,
    ) -> None:
        spec = self.spec
        kind = spec.definitions[target.type]
        if kind == "function" and in_class:
            kind = "method"
        name = _name_of(target, self.source)
        if "::" in name:
            # C++ `void Foo::bar() {...}` outside its class: the method `Foo.bar`.
            outer, _, name = name.rpartition("::")
            scope = (*scope, *(_type_name(part) for part in outer.split("::")))
            kind = "method"
        receiver = ""
        if spec.name == "go" or (spec.name == "kotlin" and not in_class):
            # Go methods and Kotlin extension functions are qualified by their receiver type.
            receiver = _receiver(target, self.source)
        elif target.type == "singleton_method" and not in_class:
            # Ruby `def Foo.build` outside `class Foo`.
            owner_node = target.child_by_field_name("object")
            if owner_node is not None and owner_node.type == "constant":
                receiver = _text(owner_node, self.source)
        if receiver:
            scope = (*scope, receiver)
            kind = "method"
        body = self._body(target) if target.type in spec.containers else None
        members = list(body.children) if body is not None else []
        if (
            body is None
            or depth >= MAX_SCOPE_DEPTH
            or not any(self._is_definition(member) for member in members)
        ):
            self._add_def(start, node, target, kind, name, scope)
            return
        qualified = ".".join((*scope, name))
        owner = (kind, name, qualified)
        end = _rows(node)[1]
        self.definitions.append(
            Definition(name, kind, qualified, target.start_point[0] + 1, end + 1)
        )
        # The header runs to the body's opening line (or the line before the first member,
        # where the body starts on it); the body's own code joins the header.
        self.items.append(
            _Item(start, _header_end(start, body), None, False, kind, name, qualified)
        )
        self.walk(members, (*scope, name), owner, True, depth + 1)

    def _is_definition(self, node: SyntaxNode) -> bool:
        spec = self.spec
        target = self._unwrap(node)
        if target.type in spec.definitions or target.type in spec.scopes:
            return True
        if target.type in spec.bodies:
            return any(self._is_definition(child) for child in target.children)
        if target.type in spec.variable_functions and self._function_value(target):
            return True
        return self._assigned_function(target) is not None

    def _body(self, node: SyntaxNode) -> SyntaxNode | None:
        spec = self.spec
        body = node.child_by_field_name("body")
        if body is not None and (body.type in spec.bodies or not spec.bodies):
            return body
        for child in node.named_children:
            if child.type in spec.bodies:
                return child
        return body

    def _scope(
        self,
        node: SyntaxNode,
        target: SyntaxNode,
        start: int,
        scope: tuple[str, ...],
        owner: tuple[str, str, str],
        in_class: bool,
        depth: int,
    ) -> None:
        name = _name_of(target, self.source) if not target.type.startswith("preproc") else ""
        if target.type == "impl_item":
            name = _type_name(name)  # `impl<T> Stack<T>` -> Stack
        body = self._body(target)
        if body is not None:
            header_end = _header_end(start, body)
            members = list(body.children)
        else:
            # Preprocessor blocks hold their members directly, after the condition.
            members = list(target.named_children)[1:]
            header_end = start
        self._code(start, header_end, target, owner)
        inner_scope = (*scope, name) if name else scope
        methods = in_class or target.type == "impl_item"
        self.walk(members, inner_scope, owner, methods, depth + 1)


def _split_node(
    node: SyntaxNode | None, lo: int, hi: int, lines: _Lines, cap: int, depth: int = 0
) -> list[tuple[int, int]]:
    """Cut rows lo..hi (which `node` spans) into ranges under `cap` characters, on inner nodes."""
    if lines.size(lo, hi) <= cap or lo == hi:
        return [(lo, hi)]
    kids = [] if node is None or depth > MAX_SPLIT_DEPTH else list(node.named_children)
    units: list[tuple[int, int]] = []
    for kid in kids:
        start, end = _rows(kid)
        start, end = max(start, lo), min(end, hi)
        if units and start <= units[-1][1]:
            start = units[-1][1] + 1
        if start > end:
            continue
        if lines.size(start, end) > cap:
            units.extend(_split_node(kid, start, end, lines, cap, depth + 1))
        else:
            units.append((start, end))
    if not units or (len(units) == 1 and units[0] == (lo, hi)):
        return _windows(lo, hi, lines, cap)
    # Rows before the first inner node (a signature) join it; gaps join the unit before them.
    units[0] = (lo, units[0][1])
    filled = [
        (start, units[index + 1][0] - 1 if index + 1 < len(units) else hi)
        for index, (start, _) in enumerate(units)
    ]
    return _pack(filled, lines, cap)


def _pack(units: list[tuple[int, int]], lines: _Lines, cap: int) -> list[tuple[int, int]]:
    packed: list[tuple[int, int]] = []
    for start, end in units:
        if packed and lines.size(packed[-1][0], end) <= cap:
            packed[-1] = (packed[-1][0], end)
        else:
            packed.append((start, end))
    return packed


def _windows(lo: int, hi: int, lines: _Lines, cap: int) -> list[tuple[int, int]]:
    """Consecutive line ranges of at most `cap` characters (a longer single line stands alone)."""
    out: list[tuple[int, int]] = []
    start = lo
    for row in range(lo, hi + 1):
        if row > start and lines.size(start, row) > cap:
            out.append((start, row - 1))
            start = row
    out.append((start, hi))
    return out


def _segments(items: list[_Item], lines: _Lines, cap: int) -> list[_Segment]:
    """Turn items into disjoint line segments: defs alone, runs of same-owner code grouped."""
    raw: list[_Segment] = []
    group: list[_Item] = []

    def flush() -> None:
        if not group:
            return
        first = group[0]
        units: list[tuple[int, int]] = []
        for item in group:
            start = max(item.start, units[-1][1] + 1) if units else item.start
            if start > item.end:
                continue
            if lines.size(start, item.end) > cap:
                units.extend(_split_node(item.node, start, item.end, lines, cap))
            else:
                units.append((start, item.end))
        for start, end in _pack(units, lines, cap):
            raw.append(_Segment(start, end, first.kind, first.symbol, first.qualified))
        group.clear()

    for item in items:
        if item.is_def:
            flush()
            for start, end in _split_node(item.node, item.start, item.end, lines, cap):
                raw.append(_Segment(start, end, item.kind, item.symbol, item.qualified))
            continue
        if group and (group[-1].kind, group[-1].qualified) != (item.kind, item.qualified):
            flush()
        group.append(item)
    flush()
    return _normalise(raw, lines)


def _normalise(raw: list[_Segment], lines: _Lines) -> list[_Segment]:
    """Make segments disjoint, give uncovered lines to a neighbour, trim blank edges."""
    out: list[_Segment] = []
    for segment in raw:
        if out and segment.start <= out[-1].end:
            if segment.end <= out[-1].end:
                continue
            segment.start = out[-1].end + 1
        out.append(segment)
    if not out:
        return out
    total = len(lines)
    # Lines between segments (closing braces, stray tokens) go to the segment before them;
    # lines before the first segment go to the first.
    out[0].start = 0
    for index, segment in enumerate(out):
        nxt = out[index + 1].start if index + 1 < len(out) else total
        segment.end = nxt - 1
    trimmed: list[_Segment] = []
    for segment in out:
        start, end = segment.start, segment.end
        while start <= end and lines.blank(start):
            start += 1
        while end >= start and lines.blank(end):
            end -= 1
        if start > end:
            continue
        segment.start, segment.end = start, end
        trimmed.append(segment)
    # A segment that is only closing punctuation is folded into the one before it.
    merged: list[_Segment] = []
    for segment in trimmed:
        if merged and all(
            _CLOSER.match(lines.lines[row]) for row in range(segment.start, segment.end + 1)
        ):
            merged[-1].end = segment.end
            continue
        merged.append(segment)
    return merged


def path_terms(path: str) -> list[str]:
    """Search terms of a path: directory and file names split like identifiers, no extension."""
    terms: list[str] = []
    for part in PurePosixPath(path).with_suffix("").parts:
        for word in IDENTIFIER.findall(part):
            terms.extend(identifier_terms(word))
    return terms


def _build(
    path: str,
    language: str,
    text: str,
    lines: _Lines,
    segments: list[_Segment],
    definitions: list[Definition],
    keywords: frozenset[str],
    imports: list[str],
    parse_errors: bool,
) -> ParsedFile:
    chunks: list[Chunk] = []
    chunk_names: list[dict[str, int]] = []
    long_lines = lines.longest > MAX_LINE_CHARS
    truncated = 0
    offsets = lines.offsets
    for segment in segments:
        content = text[offsets[segment.start] : offsets[segment.end + 1] - 1]
        if long_lines and any(len(line) > MAX_LINE_CHARS for line in content.split("\n")):
            content = "\n".join(line[:MAX_LINE_CHARS] for line in content.split("\n"))
            truncated += 1
        counts = Counter(IDENTIFIER.findall(content))
        for word in keywords.intersection(counts):
            counts.pop(word)  # dict.pop: Counter's own __delitem__ is Python code
        digest = content_hash(content)
        start_line, end_line = segment.start + 1, segment.end + 1
        chunks.append(
            Chunk(
                id=chunk_id(path, start_line, end_line, digest),
                path=path,
                language=language,
                kind=segment.kind,
                symbol=segment.symbol,
                qualified_name=segment.qualified,
                start_line=start_line,
                end_line=end_line,
                content=content,
                content_hash=digest,
            )
        )
        chunk_names.append(counts)
    # Per identifier, the number of chunks that mention it (a C-level count, no Python loop).
    names = Counter(chain.from_iterable(chunk_names))
    return ParsedFile(
        path=path,
        language=language,
        line_count=len(lines),
        chunks=chunks,
        chunk_names=chunk_names,
        path_terms=path_terms(path),
        definitions=definitions,
        names=dict(names),
        imports=imports,
        truncated_chunks=truncated,
        parse_errors=parse_errors,
    )


def _imports(
    spec: LanguageSpec, root: SyntaxNode, text: str, lines: _Lines, source: bytes
) -> list[str]:
    """Import targets, from the query run only on lines that hold one of the import words."""
    if not spec.imports_query or not spec.import_words:
        return []
    rows: set[int] = set()
    for word in spec.import_words:
        at = text.find(word)
        while at != -1:
            rows.add(bisect_right(lines.offsets, at) - 1)
            at = text.find(word, at + len(word))
    ranges: list[list[int]] = []
    for row in sorted(rows):
        if ranges and row <= ranges[-1][1] + 1:
            ranges[-1][1] = max(ranges[-1][1], row)
            continue
        last = row
        if lines.lines[row].rstrip().endswith("("):
            # A grouped import (Go's `import (`): its targets are on the following lines.
            last = row + 1
            while last + 1 < len(lines) and not lines.lines[last].lstrip().startswith(")"):
                last += 1
        ranges.append([row, last])
    found: list[str] = []
    for first, last in ranges:
        wanted_fn = True
        for node, capture in captures(spec, spec.imports_query, root, (first, 0), (last + 1, 0)):
            if capture == "_fn":
                wanted_fn = _text(node, source) in {"require", "require_relative", "source", "."}
                continue
            if wanted_fn:
                if spec.name == "python":
                    found.extend(_python_imports(node, source))
                else:
                    found.append(_text(node, source).strip().strip("\"'<>`"))
            wanted_fn = True
    return list(dict.fromkeys(item for item in found if item))


def _python_imports(node: SyntaxNode, source: bytes) -> Iterator[str]:
    """Module names an import statement may load; `from a import b` yields a.b and a."""
    if node.type == "import_statement":
        for child in node.named_children:
            target = child.child_by_field_name("name") if child.type == "aliased_import" else child
            if target is not None:
                yield _text(target, source)
        return
    module = node.child_by_field_name("module_name")
    base = _text(module, source) if module is not None else ""
    for child in node.named_children:
        if module is not None and child.start_byte == module.start_byte:
            continue
        if child.type not in {"dotted_name", "aliased_import"}:
            continue
        target = child.child_by_field_name("name") if child.type == "aliased_import" else child
        if target is not None:
            sep = "" if base.endswith(".") else "."
            yield f"{base}{sep}{_text(target, source)}"
    if base:
        yield base


def _lines(text: str, max_line: int | None) -> _Lines:
    lines = _Lines(text)
    if max_line is not None and lines.longest > max_line:
        raise LineTooLong(f"a line of {lines.longest} characters")
    return lines


def chunk_code(
    path: str, spec: LanguageSpec, text: str, source: bytes, cap: int, max_line: int | None = None
) -> ParsedFile:
    """Chunk a source file of a parsed language (`source` is `text` encoded as UTF-8).

    Raises LineTooLong when a line is longer than `max_line`.
    """
    lines = _lines(text, max_line)
    root = parse(spec, source)
    walker = _Walker(spec, source)
    walker.walk(list(root.children), (), ("", "", ""), False, 0)
    items = sorted(walker.items, key=lambda item: (item.start, not item.is_def))
    segments = _segments(items, lines, cap)
    if not segments and len(lines):
        segments = [
            _Segment(s, e, "module", "", "") for s, e in _windows(0, len(lines) - 1, lines, cap)
        ]
        segments = _normalise(segments, lines)
    return _build(
        path,
        spec.name,
        text,
        lines,
        segments,
        walker.definitions,
        spec.keywords,
        _imports(spec, root, text, lines, source),
        bool(getattr(root, "has_error", False)),
    )


def chunk_text(
    path: str, language: str, text: str, cap: int, max_line: int | None = None
) -> ParsedFile:
    """Chunk a text file that has no grammar into line windows of at most `cap` characters."""
    lines = _lines(text, max_line)
    if not len(lines):
        return _build(path, language, text, lines, [], [], frozenset(), [], False)
    windows = [_Segment(s, e, "window", "", "") for s, e in _windows(0, len(lines) - 1, lines, cap)]
    return _build(
        path, language, text, lines, _normalise(windows, lines), [], frozenset(), [], False
    )
