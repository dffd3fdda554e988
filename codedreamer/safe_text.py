"""Make untrusted text (code, file names, model output) safe to put on a terminal.

A raw ESC byte in a file name or a model's answer would be a terminal escape sequence:
it can move the cursor, retitle the window or hide text. Bidi overrides reorder what is
shown. Every such character is replaced by a visible escape (`\\x1b`, `\\u202e`), so the
user sees that it is there and nothing acts on it. This is separate from markup: callers
still build `rich.text.Text` / Textual `Content` from the result, never parse it.
"""

from __future__ import annotations

import re

# C0 controls except tab and newline, DEL, C1 controls, bidi embeddings/overrides/isolates,
# and the line/paragraph separators some terminals treat as newlines.
_UNSAFE = re.compile(
    "[\x00-\x08\x0b-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069\u2028\u2029]"
)
_UNSAFE_LINE = re.compile("[\x00-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069\u2028\u2029]")


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def safe_text(text: str) -> str:
    """Multi-line text with every control character but newline and tab made visible."""
    return _UNSAFE.sub(_escape, text)


def safe_line(text: str) -> str:
    """One-line text (a path, a label, an error): newlines and tabs are escaped too."""
    return _UNSAFE_LINE.sub(_escape, text)
