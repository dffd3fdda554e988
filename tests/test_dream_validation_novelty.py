"""Novelty and duplicates: rewordings are caught, different findings are novel, the template
and copied seed code do not count, and the scores separate the two."""

from __future__ import annotations

import itertools

import numpy as np

from codedreamer.dream.validation import EarlierDream, validate_insight
from codedreamer.dream.validation.duplicates import TopicKey, check_duplicates, title_words
from codedreamer.dream.validation.novelty import (
    Comparable,
    comparable_text,
    default_embed,
    nearest,
    rescale_cosine,
)

INVENTORY = """class Inventory:
    def __init__(self):
        self.items = {}

    def add_item(self, name, quantity):
        if quantity <= 0:
            raise ValueError("quantity must be positive")
        self.items[name] = self.items.get(name, 0) + quantity

    def remove_item(self, name, q):
        try:
            current = self.items[name]
        except KeyError:
            return
        self.items[name] = current - q
"""
# Three findings about the same code, each written twice in different words.
REWORDED = [
    (
        "TITLE: remove_item lets stock go negative\nINSIGHT: remove_item subtracts q from "
        "self.items[name] without checking that enough stock is left, so the count can become "
        "negative.\nPLAN: 1. compare q with current 2. raise ValueError when q > current",
        "TITLE: Prevent negative stock in remove_item\nINSIGHT: When q is larger than the "
        "current count, remove_item stores a negative number in self.items; there is no check "
        "against the available quantity.\nPLAN: 1. check current >= q first 2. raise an error",
    ),
    (
        "TITLE: remove_item silently ignores unknown names\nINSIGHT: remove_item catches "
        "KeyError and returns None, so a caller removing an item that was never added gets no "
        "error and cannot tell it failed.\nPLAN: 1. re-raise KeyError with a message",
        "TITLE: Unknown item names are swallowed by remove_item\nINSIGHT: The except KeyError: "
        "return in remove_item hides the mistake of removing a missing item; the caller is "
        "never told.\nPLAN: 1. raise a clear error for unknown names",
    ),
    (
        "TITLE: add_item accepts non-integer quantities\nINSIGHT: add_item only checks quantity "
        "<= 0, so a float like 0.5 is added to self.items and breaks the totals later.\n"
        "PLAN: 1. check isinstance(quantity, int) 2. raise TypeError",
        "TITLE: Type-check quantity in add_item\nINSIGHT: Nothing stops add_item from storing "
        "2.5 items, since quantity is never checked to be an int; totals become fractional.\n"
        "PLAN: 1. validate the type of quantity 2. add a test",
    ),
]


def novelty_of(text: str, earlier: list[str]) -> float:
    own = Comparable.of("own", text, INVENTORY)
    others = [Comparable.of(str(i), t, INVENTORY) for i, t in enumerate(earlier)]
    return nearest(own, others, default_embed())[0].novelty


def test_novelty_separates_rewordings_from_different_findings() -> None:
    same = [novelty_of(a, [b]) for a, b in REWORDED]
    texts = [t for pair in REWORDED for t in pair]
    different = [
        novelty_of(texts[i], [texts[j]])
        for i, j in itertools.combinations(range(len(texts)), 2)
        if i // 2 != j // 2
    ]
    assert max(same) < 0.4 <= min(different), (same, different)
    assert min(different) >= 0.6


def test_rewordings_are_rejected_against_any_earlier_dream_even_rejected_ones() -> None:
    for first, second in REWORDED:
        earlier = [EarlierDream("d1", first, status="rejected")]
        verdict = validate_insight(
            second,
            seed_code=INVENTORY,
            symbols=["Inventory"],
            earlier=earlier,
            novelty_threshold=0.4,
        )
        assert verdict.reason in {"near_duplicate", "not_novel"}, verdict
        assert "d1" in verdict.detail or verdict.reason == "not_novel"


def test_template_and_copied_seed_code_do_not_make_answers_similar() -> None:
    seed_block = "```python\n" + INVENTORY + "```"
    a = f"TITLE: remove_item lets stock go negative\nINSIGHT: q is unchecked.\nPLAN:\n{seed_block}"
    b = f"TITLE: Inventory has no lock\nINSIGHT: two threads race on items.\nPLAN:\n{seed_block}"
    assert "self.items = {}" not in comparable_text(a, INVENTORY)
    assert "TITLE" not in comparable_text(a, INVENTORY)
    assert novelty_of(a, [b]) > 0.6
    # Without cleaning, the shared block would make them near-duplicates.
    raw = Comparable.of("a", a), Comparable.of("b", b)
    assert nearest(raw[0], [raw[1]])[0].text_similarity > 0.6


def test_same_symbol_category_and_title_is_a_duplicate_topic() -> None:
    key = TopicKey.of("Inventory.remove_item", "bugs", "remove_item lets stock go negative")
    assert key.matches(TopicKey.of("Inventory.remove_item", "bugs", "Stock goes negative"))
    assert not key.matches(TopicKey.of("Inventory.add_item", "bugs", "Stock goes negative"))
    assert not key.matches(TopicKey.of("Inventory.remove_item", "security", "Stock negative"))
    assert title_words("Adding checks to items") == {"check", "item"}
    earlier = [
        EarlierDream(
            "d7", "unrelated words entirely", "Negative stock", "Inventory.remove_item", "bugs"
        )
    ]
    verdict = check_duplicates(
        REWORDED[0][0],
        seed_code=INVENTORY,
        earlier=earlier,
        novelty_threshold=0.4,
        topic=key,
    )
    assert verdict.reason == "duplicate_topic" and "d7" in verdict.detail


def test_an_engine_embedder_can_replace_the_default() -> None:
    def constant(texts: object) -> np.ndarray:
        rows = np.zeros((len(texts), 4), dtype=np.float32)  # type: ignore[arg-type]
        rows[:, 0] = 1.0
        return rows

    verdict = check_duplicates(
        REWORDED[0][0],
        seed_code=INVENTORY,
        earlier=[EarlierDream("d1", REWORDED[2][0])],
        novelty_threshold=0.4,
        embed=constant,
    )
    assert verdict.reason == "near_duplicate" and "embedding 1.00" in verdict.detail


def test_rescaled_cosine_is_clamped() -> None:
    assert rescale_cosine(0.1) == 0.0 and rescale_cosine(0.95) == 1.0
    assert 0.0 < rescale_cosine(0.5) < 1.0
