"""A scripted model double for the storing soak: answers that pass validation, at model speed.

The bundled 135M model's answers are all rejected on the sample repository, so a soak
with it never reaches the engine's dream-save and verification windows. This double
answers each stage the way a good model would, grounded in the seed code the prompt
shows (tests/sample_repo.py's `inventory.py`): a Think answer that names the seed's own
symbol and varies its wording from cycle to cycle (so novelty and duplicate checks pass),
a Code answer with a unified diff that applies to the file, a Critic verdict and a
reflection in JSON. Each piece is streamed after `seconds_per_piece`, like tokens, so a
kill can land in a generation as it would with a real model.
"""

from __future__ import annotations

import random
import re
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from codedreamer.dream.prompts import CODE_SYSTEM, CRITIC_SYSTEM, REFLECT_SYSTEM

PIECE_CHARS = 4
"""Characters per streamed piece: about one token of English."""

# Words the Think answers are made of. Every answer draws its own handful, so two answers
# share few word triples and few words beyond the seed's names: each is novel to the
# validator. None of them is a code name, a negation or an absence claim.
_WORDS = (
    "audit ledger shelf warehouse supplier batch crate pallet invoice receipt courier "
    "season forecast margin buyer vendor catalogue barcode aisle freight parcel depot "
    "auditor clerk tally quota surplus shortage restock backorder wholesale retail "
    "journal register inspection reconcile consistent predictable explicit durable "
    "caller contract invariant guarantee boundary signal report metric dashboard alert "
    "audit trail history snapshot rollback recovery retry failure recover outage "
    "nightly weekly monthly quarterly yearly morning evening holiday weekend rush "
    "customer operator manager planner analyst reviewer maintainer newcomer tester "
    "clarity intent readability traceability accountability robustness correctness "
    "precision accuracy integrity coherence stability safety fairness simplicity "
    "brittle fragile subtle surprising misleading ambiguous implicit hidden silent "
    "compact tidy focused narrow sharp clear plain direct obvious visible loud"
)
VOCABULARY = tuple(sorted(set(_WORDS.split())))

# The patch every Code answer proposes; it applies to tests/sample_repo.py's inventory.py.
DIFF = """```diff
--- a/inventory.py
+++ b/inventory.py
@@ -13,7 +13,7 @@
     def remove_item(self, name, quantity):
         current = self.items[name]
         if current - quantity < 0:
-            print("not enough stock")
+            raise ValueError("not enough stock")
         self.items[name] = current - quantity
         if self.items[name] == 0:
             del self.items[name]
```"""

CRITIC = '{"severity": "MINOR", "issues": "the change is correct; the message could name the item"}'
REFLECT = '{"priority": "HIGH", "reason": "negative stock corrupts the inventory"}'

_SEED = re.compile(r"Code from (?P<path>\S+), lines \d+-\d+(?: \((?P<symbol>[^)\n]*)\))?:")
_DEFINED = re.compile(r"\bdef\s+([A-Za-z_]\w*)|\bclass\s+([A-Za-z_]\w*)")
_COMPOUND = re.compile(r"_[A-Za-z0-9]|[a-z0-9][A-Z]")


def seed_names(prompt: str) -> list[str]:
    """Names the prompt's seed code defines, the seed's own symbol first."""
    match = _SEED.search(prompt)
    names: list[str] = []
    if match and match.group("symbol"):
        names.append(match.group("symbol").split(".")[-1])
    code = prompt[match.end() :] if match else prompt
    for found in _DEFINED.finditer(code):
        name = found.group(1) or found.group(2)
        if name not in names:
            names.append(name)
    return names


_CONSONANTS = "bdfgklmnprstvz"
_VOWELS = "aeiou"


def pseudo_word(rng: random.Random) -> str:
    """A pronounceable non-word: answers drawn from a few hundred real words alone come out
    near-duplicates of one another on the 256-dimension lexical embedding after a dozen."""
    return "".join(rng.choice(_CONSONANTS) + rng.choice(_VOWELS) for _ in range(3))


def think_answer(prompt: str, rng: random.Random) -> str:
    """A grounded, structured answer whose wording is drawn afresh for every call."""
    names = seed_names(prompt) or ["remove_item"]
    # A compound name counts as grounding without backticks; a plain one is backticked.
    subject = next((n for n in names if _COMPOUND.search(n) and n != "__init__"), names[0])
    words = rng.sample(VOCABULARY, 10)
    coined = [pseudo_word(rng) for _ in range(16)]
    return (
        f"TITLE: {' '.join([words[0], coined[0], words[1], coined[1]]).capitalize()}\n"
        f"INSIGHT: In `{subject}`, the {' '.join(words[2:6])} {' '.join(coined[2:10])} "
        f"matters for {' '.join(words[6:8])} {' '.join(coined[10:13])}.\n"
        f"PLAN: 1. {' '.join(words[8:10])} {' '.join(coined[13:16])}"
    )


@dataclass
class ScriptedResponse:
    """Streams `text` in pieces, one per `seconds_per_piece`, honouring cancel and max_tokens."""

    text: str
    seconds_per_piece: float
    max_tokens: int
    cancel: threading.Event | None
    stats: None = None
    completion_tokens_so_far: int = 0
    _closed: bool = field(default=False, repr=False)

    def __iter__(self) -> Iterator[str]:
        for start in range(0, len(self.text), PIECE_CHARS):
            if self._closed or self.completion_tokens_so_far >= self.max_tokens:
                return
            if self.cancel is not None and self.cancel.is_set():
                return
            time.sleep(self.seconds_per_piece)
            self.completion_tokens_so_far += 1
            yield self.text[start : start + PIECE_CHARS]

    def close(self) -> None:
        self._closed = True


class ScriptedModel:
    """Stands in for a ChatModel: answers by stage (recognised by the system prompt)."""

    name = "soak-scripted"
    chat_format = "scripted"
    n_ctx = 8192

    def __init__(
        self,
        *,
        seconds_per_piece: float,
        seed: int | None = None,
    ) -> None:
        self.seconds_per_piece = seconds_per_piece
        self.rng = random.Random(seed)
        self.loaded = False

    def load(self) -> None:
        self.loaded = True

    def close(self) -> None:
        self.loaded = False

    def count_tokens(self, text: str) -> int:
        return len(text) // PIECE_CHARS + 1

    def count_prompt_tokens(self, messages: Sequence[Any]) -> int:
        return sum(self.count_tokens(m.content) for m in messages) + 8

    def chat(self, messages: Sequence[Any], **options: Any) -> ScriptedResponse:
        system = messages[0].content
        prompt = messages[-1].content
        if system == CODE_SYSTEM:
            text = DIFF
        elif system == CRITIC_SYSTEM:
            text = CRITIC
        elif system == REFLECT_SYSTEM:
            text = REFLECT
        else:
            text = think_answer(prompt, self.rng)
        return ScriptedResponse(
            text,
            self.seconds_per_piece,
            int(options.get("max_tokens") or 1 << 30),
            options.get("cancel"),
        )


@dataclass
class ScriptedModelSet:
    """What the runner and engine use of `ModelSet`: one scripted model for both roles."""

    reasoning: ScriptedModel
    embed_model_path: Path | None = None

    @property
    def coder(self) -> ScriptedModel:
        return self.reasoning

    @property
    def shared_coder(self) -> bool:
        return True

    def check_files(self) -> None:
        """Nothing to check: the double has no model file."""

    def close(self) -> None:
        self.reasoning.close()
