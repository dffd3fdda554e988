"""Stage 2's checks on code in any indexed language: diffs, existing/improved pairs, fragments.

Real tree-sitter (and Python's compiler) over real snippets; no model.
"""

from __future__ import annotations

from codedreamer.dream.code import check_draft

JS = """function renderCart(cart) {
  const list = document.createElement('ul');
  for (const item of cart.items) {
    list.innerHTML += '<li>' + item.name + '</li>';
  }
  return list;
}
"""

GO = """package shop

func Total(prices []int) int {
\ttotal := 0
\tfor i := 0; i <= len(prices)-1; i++ {
\t\ttotal += prices[i]
\t}
\treturn total
}
"""


def fenced(info: str, body: str) -> str:
    return f"```{info}\n{body}\n```"


def test_a_javascript_diff_that_breaks_the_file_is_caught() -> None:
    good = (
        "--- a/cart.js\n+++ b/cart.js\n@@ -3,3 +3,5 @@\n"
        "   for (const item of cart.items) {\n"
        "-    list.innerHTML += '<li>' + item.name + '</li>';\n"
        "+    const li = document.createElement('li');\n"
        "+    li.textContent = item.name;\n"
        "+    list.appendChild(li);\n"
        "   }\n"
    )
    draft = check_draft(fenced("diff", good), JS, JS, "javascript", "cart.js")
    assert draft.checks["diff_applies"] == "ok" and draft.checks["parses"] == "ok", draft
    assert draft.problem == ""
    broken = good.replace("li.textContent = item.name;", "li.textContent = ;")
    draft = check_draft(fenced("diff", broken), JS, JS, "javascript", "cart.js")
    assert draft.checks["parses"] == "fails: line 5: syntax error"
    assert draft.problem.startswith("the patched file does not parse")


def test_a_go_fragment_is_checked_in_place() -> None:
    statements = "\ttotal := 0\n\tfor _, p := range prices {\n\t\ttotal += p\n\t}"
    draft = check_draft(fenced("go", statements), GO, GO, "go", "total.go")
    assert draft.problem == "" and draft.checks["parses"] == "ok: as a fragment"
    torn = "\ttotal := 0\n\tfor _, p := range prices {\n\t\ttotal +="
    draft = check_draft("```go\n" + torn, GO, GO, "go", "total.go")  # cut off at the limit
    assert draft.checks["parses"].startswith("fails: a go block that does not parse (line 3")
    assert draft.checks["parses"].endswith("the block was cut off")
    assert draft.problem.startswith("the answer's code is a go block that does not parse")


def test_code_in_another_language_is_named() -> None:
    python = "def total(prices):\n    return sum(prices)"
    unlabelled = check_draft(fenced("", python), GO, GO, "go", "total.go")
    assert (
        unlabelled.checks["language"] == "fails: a block without a language that is python, not go"
    )
    labelled = check_draft(fenced("python", python), GO, GO, "go", "total.go")
    assert labelled.checks["language"] == "fails: a python block in go code"
    assert labelled.problem == "the answer's code is a python block in go code"


def test_a_pair_in_javascript_becomes_a_diff_of_a_file_that_parses() -> None:
    existing = "    list.innerHTML += '<li>' + item.name + '</li>';"
    improved = (
        "    list.append(Object.assign(document.createElement('li'), { textContent: item.name }));"
    )
    answer = f"Existing:\n{fenced('js', existing)}\nImproved:\n{fenced('js', improved)}"
    draft = check_draft(answer, JS, JS, "javascript", "cart.js")
    assert draft.problem == "", draft
    assert draft.checks["diff_from_pair"] == "ok" and draft.checks["parses"] == "ok"
    assert draft.diff.startswith("--- a/cart.js\n+++ b/cart.js\n")
    # An improved line that does not parse is caught before it becomes a diff.
    answer = answer.replace("item.name })", "item.name }")
    draft = check_draft(answer, JS, JS, "javascript", "cart.js")
    assert draft.checks["parses"].startswith("fails: a javascript block that does not parse")
    assert draft.diff == ""


def test_python_fragments_are_compiled_as_function_bodies() -> None:
    source = "def f(items):\n    return len(items)\n"
    ok = check_draft(fenced("python", "    return sum(1 for _ in items)"), source, source, "python")
    assert ok.checks["parses"] == "ok: as a fragment" and ok.problem == ""
    bad = check_draft(fenced("python", "def f(items, items):\n    pass"), source, source, "python")
    assert bad.checks["parses"].startswith("fails: a python block that does not parse (line 1:")


def test_a_file_that_did_not_parse_before_is_judged_by_what_the_change_adds() -> None:
    # A grammar older than the code it reads (or a file broken already): the change is not
    # blamed for problems it did not add, and is still caught when it adds one.
    broken_before = JS + "const legacy = ;\n"
    diff = (
        "--- a/cart.js\n+++ b/cart.js\n@@ -6,2 +6,2 @@\n"
        "-  return list;\n+  return list.cloneNode(true);\n }\n"
    )
    draft = check_draft(fenced("diff", diff), broken_before, JS, "javascript", "cart.js")
    assert draft.checks["parses"] == "ok: no new syntax problems (1 before the change)"
    assert draft.problem == ""
    worse = diff.replace("list.cloneNode(true);", "list.cloneNode(;")
    draft = check_draft(fenced("diff", worse), broken_before, JS, "javascript", "cart.js")
    assert draft.checks["parses"].startswith("fails: line 6")
    python = "def f(:\n    return 1\n"
    pydiff = "--- a/m.py\n+++ b/m.py\n@@ -2 +2 @@\n-    return 1\n+    return 2\n"
    draft = check_draft(fenced("diff", pydiff), python, python, "python", "m.py")
    assert draft.checks["parses"].startswith("not checked: it did not compile before")
