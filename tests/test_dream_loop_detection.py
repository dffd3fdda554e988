"""Loop detection on answers shaped like real ones: headings, lists, code, summaries."""

from __future__ import annotations

from codedreamer.dream.loop_detection import StreamingLoopDetector

NORMAL = """## Analysis
`remove_item` subtracts `q` from the stored count without checking that enough stock is
left, so the count can become negative and `total_quantity` reports nonsense.

## Plan
1. Compare `q` with the current count.
2. Raise `ValueError` when `q` is larger.
3. Add a test that removes more than is stocked.

```python
def remove_item(self, name, q):
    current = self.items[name]
    if q > current:
        raise ValueError("not enough stock")
    self.items[name] = current - q
```

## Summary
`remove_item` must refuse to remove more than is stocked; the check is one comparison.
"""


def stream(text: str, piece: int = 4) -> StreamingLoopDetector:
    detector = StreamingLoopDetector()
    for i in range(0, len(text), piece):
        if detector.feed(text[i : i + piece]):
            break
    return detector


def test_a_normal_answer_with_a_summary_heading_is_not_cut() -> None:
    for piece in (1, 3, 7):
        detector = stream(NORMAL, piece)
        assert detector.loop is None
        assert detector.good_text == NORMAL


def test_a_summary_that_repeats_itself_is_cut_after_the_first_copy() -> None:
    summary = "## Summary\n`remove_item` must refuse to remove more than is stocked.\n\n"
    looping = NORMAL.split("## Summary")[0] + summary * 5
    detector = stream(looping)
    assert detector.loop is not None
    kept = detector.good_text
    assert kept.endswith("more than is stocked.") and kept.count("## Summary") == 1
    assert "## Plan" in kept and "raise ValueError" in kept


def test_repeated_code_lines_need_more_copies_than_prose() -> None:
    braces = "function f() {\n" + "  if (a) {\n    g();\n  }\n" * 2 + "}\n"
    assert stream(braces).loop is None
    assert stream("x = 1\n" + "    }\n" * 30).loop is not None
