"""Find secrets in a file's text by content and redact them before anything is indexed.

The walker already skips secret *files* by name (.env, *.pem, id_rsa). This catches secrets
inside ordinary files: private key blocks, cloud and service tokens (AWS, GitHub, GitLab,
Slack, Stripe, OpenAI, npm, PyPI, ...) and `password = "..."` / `api_key = "..."`
assignments whose value looks random. The rules are detect-secrets' own plugins (Yelp's
maintained detector, run offline); only the value is replaced, so the code around it is
still indexed, and the file's text is redacted before chunking, so no chunk, identifier
list, search text or vector ever holds the value.

Speed: running every plugin on every line would cost more than parsing. Each plugin's
regular expressions are reduced (by `required_literals`) to literal strings that any match
must contain; a line is handed to a plugin only when it holds one of them. Entropy-only
plugins (any random-looking string) are left out: in code they flag hashes, test data
and base64 blobs far more often than secrets.
"""

from __future__ import annotations

import math
import re
import re._constants as sre_constants  # type: ignore[import-not-found]
import re._parser as sre_parse  # type: ignore[import-not-found]
from bisect import bisect_right
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from itertools import accumulate
from typing import Any

REDACTED = "[redacted-secret]"
# A generic `password = "..."` counts when its value is this random (bits per character)
# and this long: "changeme" and "test" stay, "x8Kq2vLp9Zr4" goes.
KEYWORD_MIN_ENTROPY = 3.0
KEYWORD_MIN_LENGTH = 8
_PLUGINS = (
    ("aws", "AWSKeyDetector"),
    ("github_token", "GitHubTokenDetector"),
    ("gitlab_token", "GitLabTokenDetector"),
    ("slack", "SlackDetector"),
    ("private_key", "PrivateKeyDetector"),
    ("stripe", "StripeDetector"),
    ("openai", "OpenAIDetector"),
    ("npm", "NpmDetector"),
    ("pypi_token", "PypiTokenDetector"),
    ("sendgrid", "SendGridDetector"),
    ("twilio", "TwilioKeyDetector"),
    ("discord", "DiscordBotTokenDetector"),
    ("telegram_token", "TelegramBotTokenDetector"),
    ("mailchimp", "MailchimpDetector"),
    ("artifactory", "ArtifactoryDetector"),
    ("azure_storage_key", "AzureStorageKeyDetector"),
    ("basic_auth", "BasicAuthDetector"),
    ("jwt", "JwtTokenDetector"),
    ("keyword", "KeywordDetector"),
)
_END_OF_KEY = re.compile(r"-----END [A-Z0-9 ]*PRIVATE KEY[A-Z ]*-----|---- END SSH2")


@dataclass(frozen=True)
class Redaction:
    text: str
    secrets: int
    """Secret values replaced (a private key block counts once)."""


_MAX_ALTERNATIVES = 64


def _exact(items: Any) -> set[str] | None:
    """The strings a parsed sequence matches, when it is only literals, small classes and
    alternations of those (`gh[pousr]`, `(?:AKIA|ASIA)`); None otherwise."""
    found = {""}
    for op, arg in items:
        if op is sre_constants.LITERAL:
            options = {chr(arg)}
        elif op is sre_constants.IN and all(o is sre_constants.LITERAL for o, _ in arg):
            options = {chr(a) for _, a in arg}
        elif op is sre_constants.SUBPATTERN:
            options = _exact(arg[-1]) or set()
        elif op is sre_constants.MAX_REPEAT and arg[0] == 0 and arg[1] == 1:
            inner = _exact(arg[2])  # `api_?key`: with and without the `_`
            options = {"", *inner} if inner else set()
        elif op is sre_constants.BRANCH:
            parts = [_exact(branch) for branch in arg[1]]
            options = set().union(*parts) if all(p for p in parts) else set()  # type: ignore[arg-type]
            if not options:
                # `(?:A3T[A-Z0-9]|ABIA)`: each branch's exact beginning still counts.
                heads = [_exact_prefix(branch) for branch in arg[1]]
                if all(heads):
                    tails = set().union(*heads)
                    return {head + tail for head in found for tail in tails} or None
        else:
            options = set()
        if not options:
            return None
        found = {head + tail for head in found for tail in options}
        if len(found) > _MAX_ALTERNATIVES:
            return None
    return found


def _exact_prefix(items: Any) -> set[str]:
    """The strings the longest exact beginning of a sequence matches ({""} if none)."""
    for end in range(len(items), 0, -1):
        found = _exact(items[:end])
        if found is not None:
            return found
    return {""}


def _literal_runs(items: Any) -> set[str] | None:
    """Literal strings one of which every match of this parsed sequence contains.

    None when no such set is known (the sequence can match without any fixed text).
    """
    best: set[str] | None = None

    def offer(candidate: set[str] | None) -> None:
        nonlocal best
        if (
            candidate
            and "" not in candidate
            and (best is None or min(map(len, candidate)) > min(map(len, best)))
        ):
            best = candidate

    segment: list[Any] = []
    for op, arg in [*items, (None, None)]:
        if op is not None and _exact([(op, arg)]) is not None:
            segment.append((op, arg))
            continue
        # The run of exact pieces before this item must appear as one of its strings.
        offer(_exact(segment) if segment else None)
        segment = []
        if op is sre_constants.SUBPATTERN:
            offer(_literal_runs(arg[-1]))
        elif op is sre_constants.BRANCH:
            parts = [_literal_runs(branch) for branch in arg[1]]
            if all(parts):
                offer(set().union(*parts))  # type: ignore[arg-type]
        elif op in (sre_constants.MAX_REPEAT, sre_constants.MIN_REPEAT) and arg[0] >= 1:
            offer(_literal_runs(arg[2]))
    return best


def required_literals(pattern: re.Pattern[str]) -> set[str] | None:
    """Lower-case literals one of which any match of `pattern` must contain, if known."""
    try:
        parsed = sre_parse.parse(pattern.pattern, pattern.flags)
    except re.error:
        return None
    # Lines are compared lower-cased, so case-sensitive literals gate by their lower case.
    found = _literal_runs(list(parsed))
    if not found or min(map(len, found)) < 3:
        return None  # too short to be worth a gate: the plugin runs on every line
    return {literal.lower() for literal in found}


def shannon_entropy(value: str) -> float:
    """Bits per character of `value`'s own character distribution."""
    if not value:
        return 0.0
    counts = Counter(value)
    total = len(value)
    return -sum(n / total * math.log2(n / total) for n in counts.values())


class SecretScanner:
    """detect-secrets' plugins behind literal gates; build once per process."""

    def __init__(self) -> None:
        import importlib

        self.plugins: list[Any] = []
        self.gates: list[set[str]] = []
        self.skipped: list[str] = []
        for module_name, class_name in _PLUGINS:
            module = importlib.import_module(f"detect_secrets.plugins.{module_name}")
            plugin = getattr(module, class_name)()
            gate = self._gate(module, plugin)
            if gate is None:
                # No literal of three characters or more gates it: scanning every line of
                # every file with it would cost more than parsing (Twilio, Discord, ...).
                self.skipped.append(class_name)
                continue
            self.plugins.append(plugin)
            self.gates.append(gate)
        self.anchors = sorted(set().union(*self.gates))
        self.by_anchor: dict[str, set[int]] = {}
        for index, gate in enumerate(self.gates):
            for anchor in gate:
                self.by_anchor.setdefault(anchor, set()).add(index)

    @staticmethod
    def _gate(module: Any, plugin: Any) -> set[str] | None:
        patterns: Sequence[re.Pattern[str]] = getattr(plugin, "denylist", ())
        if not patterns and hasattr(module, "DENYLIST"):
            # KeywordDetector: its keyword list gates, its assignment regexes decide.
            patterns = [re.compile(word, re.IGNORECASE) for word in module.DENYLIST]
        literals: set[str] = set()
        for pattern in patterns:
            found = required_literals(pattern)
            if found is None:
                return None
            literals |= found
        return literals or None

    def redact(self, path: str, text: str) -> Redaction:
        """`text` with every secret value replaced by REDACTED (lines and code kept)."""
        lowered = text.lower()
        present = [anchor for anchor in self.anchors if anchor in lowered]
        if not present:
            return Redaction(text, 0)
        lines = text.split("\n")
        # Which plugins to run on which lines: only where one of their literals occurs.
        wanted: dict[int, set[int]] = {}
        if len(lowered) == len(text):
            starts = list(accumulate(map((1).__add__, map(len, lines)), initial=0))
            for anchor in present:
                plugins = self.by_anchor[anchor]
                at = lowered.find(anchor)
                while at != -1:
                    wanted.setdefault(bisect_right(starts, at) - 1, set()).update(plugins)
                    at = lowered.find(anchor, at + 1)
        else:  # lower-casing changed the length (rare letters): look line by line
            for row, line in enumerate(lines):
                low = line.lower()
                for anchor in present:
                    if anchor in low:
                        wanted.setdefault(row, set()).update(self.by_anchor[anchor])
        count = 0
        key_end = -1
        for row in sorted(wanted):
            if row <= key_end:
                continue
            found, in_key = self._line(path, lines, row, wanted[row])
            count += found
            if in_key:
                # A private key block: every line up to its END line is key material.
                key_end = row
                while key_end + 1 < len(lines) and not _END_OF_KEY.search(lines[key_end + 1]):
                    key_end += 1
                    if lines[key_end].strip():
                        lines[key_end] = REDACTED
        return Redaction("\n".join(lines), count)

    def _line(self, path: str, lines: list[str], row: int, plugins: set[int]) -> tuple[int, bool]:
        """Redact one line in place: (values replaced, whether a private key block starts)."""
        line = lines[row]
        values: set[str] = set()
        key_block = False
        count = 0
        for index in sorted(plugins):
            plugin = self.plugins[index]
            found = plugin.analyze_line(filename=path, line=line, line_number=row + 1)
            if not found:
                continue
            name = type(plugin).__name__
            if name == "PrivateKeyDetector":
                key_block = not _END_OF_KEY.search(line)
                count += 1
            elif name == "KeywordDetector":
                values.update(
                    value
                    for value in (f.secret_value or "" for f in found)
                    if len(value) >= KEYWORD_MIN_LENGTH
                    and shannon_entropy(value) >= KEYWORD_MIN_ENTROPY
                )
            else:
                values.update(_matched_values(plugin, line))
        for value in sorted(values, key=len, reverse=True):
            if value and value in line:
                line = line.replace(value, REDACTED)
                count += 1
        lines[row] = line
        return count, key_block


def _matched_values(plugin: Any, line: str) -> set[str]:
    """What a token plugin's rules match: the whole token, or its captured value when the
    rule also matches the name around it (`aws_secret = "..."` keeps `aws_secret`)."""
    values: set[str] = set()
    for pattern in plugin.denylist:
        for match in pattern.finditer(line):
            group = match.group(1) if pattern.groups else None
            values.add(group if group and len(group) >= 16 else match.group(0))
    return values


@cache
def scanner() -> SecretScanner:
    """The process's scanner (plugins are built once; index workers build their own)."""
    return SecretScanner()


def redact_secrets(path: str, text: str) -> Redaction:
    """`text` of the file at `path` (relative) with its secret values redacted."""
    return scanner().redact(path, text)
