"""Stage 2 Code: the coder model turns the insight into a change, checked against the file.

The model is asked for a unified diff against the real file. What comes back is checked
in memory, never in the user's checkout: a diff must apply to the file's current content
(dream/patch.py) and the patched file must still parse (verify/parse_check.py: Python
compiled, other languages by tree-sitter); an answer that gives an "existing" and an
"improved" fragment instead must quote code that is in the file and change it, and the
improved fragment must be in the file's language and parse as a fragment of it
(verify/fragment.py: tried as written, as class members, as a function body, ...).
Every check goes into `CodeDraft.checks` (stored in the dream); the first failed one is
`CodeDraft.problem`, which the Critic sees and the refinement must fix.
"""

from __future__ import annotations

from codedreamer.dream.context import CodeDraft, CycleContext
from codedreamer.dream.parse import code_blocks, extract_diff
from codedreamer.dream.patch import PatchError, apply_diff, fragment_location
from codedreamer.dream.prompts import (
    CODE_SYSTEM,
    PRIORITY_CODE,
    PRIORITY_TASK,
    code_block,
    code_task,
)
from codedreamer.dream.stages import StageResult, run_stage
from codedreamer.dream.think import seed_of
from codedreamer.dream.validation.code_blocks import block_problem, canonical_language
from codedreamer.models.budget import PromptSection, budget_prompt
from codedreamer.verify.parse_check import check_change


def parses(source: str, patched: str, language: str, path: str = "<file>") -> str:
    """ "ok...", "fails: ..." or "not checked: ..." for a patched file in `language`."""
    return check_change(source, patched, canonical_language(language), path)


def fragment_problem(code: str, info: str, language: str, closed: bool = True) -> tuple[str, str]:
    """(check, what is wrong) for a code block meant for a file in `language`, or ("", "").

    The check is "language" (another language by its label, or by what it parses as) or
    "parses" (it does not parse as a fragment of the language, see verify/fragment.py).
    """
    found = block_problem(code, info, language)
    if found is None:
        return "", ""
    reason, detail = found
    if reason == "wrong_language":
        return "language", detail
    return "parses", detail + ("; the block was cut off" if not closed else "")


def pair_to_diff(source: str, existing: str, improved: str, path: str) -> str:
    """A unified diff replacing the `existing` lines of `source` with `improved`; "" if the
    existing lines are not in the file (ignoring trailing whitespace) exactly once."""
    import difflib

    wanted = [line.rstrip() for line in existing.strip("\n").split("\n")]
    lines = source.split("\n")
    stripped = [line.rstrip() for line in lines]
    starts = [
        i for i in range(len(lines) - len(wanted) + 1) if stripped[i : i + len(wanted)] == wanted
    ]
    if len(starts) != 1 or not any(wanted):
        return ""
    at = starts[0]
    patched = lines[:at] + improved.strip("\n").split("\n") + lines[at + len(wanted) :]
    before = [line + "\n" for line in lines]
    after = [line + "\n" for line in patched]
    return "".join(difflib.unified_diff(before, after, f"a/{path}", f"b/{path}", n=3))


def check_draft(
    answer: str, source: str | None, seed: str, language: str, path: str = ""
) -> CodeDraft:
    """Everything Stage 2's answer can be checked for without running anything."""
    draft = CodeDraft(language=language)
    checks = draft.checks
    diff = extract_diff(answer)
    blocks = [b for b in code_blocks(answer) if b.body.strip() and b.body.strip("\n") != diff]
    if diff:
        draft.diff = diff
        checks["format"] = "diff"
        if source is None:
            checks["diff_applies"] = "not checked: file unreadable"
        else:
            try:
                patched = apply_diff(source, diff)
            except PatchError as exc:
                checks["diff_applies"] = f"fails: {exc}"
                draft.problem = draft.problem or f"the diff does not apply: {exc}"
            else:
                checks["diff_applies"] = "ok"
                checks["parses"] = parses(source, patched, language, path or "<file>")
                if checks["parses"].startswith("fails"):
                    draft.problem = f"the patched file does not parse ({checks['parses'][7:]})"
                draft.code = "\n".join(
                    line[1:]
                    for line in diff.split("\n")
                    if line.startswith("+") and not line.startswith("+++")
                )
        return draft
    if not blocks:
        checks["format"] = "none"
        draft.problem = "no code in the answer"
        return draft
    checks["format"] = "code"
    improved = blocks[-1]
    draft.code = improved.body.strip("\n")
    check, wrong = fragment_problem(draft.code, improved.info, language, improved.closed)
    if check:
        checks[check] = f"fails: {wrong}"
        draft.problem = f"the answer's code is {wrong}"
    else:
        checks["parses"] = "ok: as a fragment"
    whole = source if source is not None else seed
    if len(blocks) >= 2:
        existing = blocks[0].body
        where = fragment_location(whole, existing)
        checks["existing_matches"] = f"ok: line {where}" if where else "fails"
        if where is None:
            draft.problem = draft.problem or "the 'existing' code is not in the file"
    normalised = " ".join(draft.code.split())
    if normalised and (
        (normalised == " ".join(blocks[0].body.split()) and len(blocks) >= 2)
        or fragment_location(whole, draft.code) is not None
    ):
        checks["improved_differs"] = "fails: already in the file"
        draft.problem = draft.problem or "the 'improved' code is what the file already has"
    else:
        checks["improved_differs"] = "ok"
    if not draft.problem and len(blocks) >= 2 and source is not None and path:
        # An existing/improved pair becomes a diff against the real file, so it can be
        # verified and applied like any other patch.
        paired = pair_to_diff(source, blocks[0].body, draft.code, path)
        if paired:
            draft.diff = paired
            checks["diff_from_pair"] = "ok"
            try:
                patched = apply_diff(source, paired)
            except PatchError as exc:  # cannot happen for our own diff; recorded if it does
                checks["diff_applies"] = f"fails: {exc}"
            else:
                checks["diff_applies"] = "ok"
                checks["parses"] = parses(source, patched, language, path)
                if checks["parses"].startswith("fails"):
                    draft.problem = f"the patched file does not parse ({checks['parses'][7:]})"
            return draft
    return draft


def generate(context: CycleContext, task: str, *, stage: str = "code") -> StageResult:
    settings = context.settings
    model = context.services.coder()
    prompt = budget_prompt(
        model,
        CODE_SYSTEM,
        [
            PromptSection("task", task, PRIORITY_TASK, required=True),
            PromptSection("code", code_block(seed_of(context)), PRIORITY_CODE, required=True),
        ],
        max_tokens=context.stage_tokens(settings.coder_max_tokens),
    )
    result = run_stage(
        model,
        prompt.messages,
        stage="code",
        max_tokens=prompt.max_tokens,
        temperature=min(settings.dream_temperature, 0.4),
        # Identifiers repeat in code: a repeat penalty meant for prose would garble them.
        repeat_penalty=1.0,
        sink=context.services.sink,
        cancel=context.cancel,
    )
    context.stage_results.append(result)
    return result


def code_step(context: CycleContext) -> None:
    assert context.chunk is not None
    chunk = context.chunk
    task = code_task(chunk.path, context.title, context.insight, context.plan)
    result = generate(context, task)
    if result.finish_reason == "cancelled":
        context.reject("cancelled", "generation stopped before it finished")
        return
    source = context.services.read_source(chunk.path)
    context.draft = check_draft(result.text, source, chunk.content, chunk.language, chunk.path)
    if context.draft.checks.get("format") == "none":
        context.reject("no_code", "the Code stage produced no code")
