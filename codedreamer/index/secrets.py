"""Find secrets in a file's text by content and redact them before anything is indexed.

The walker already skips secret *files* by name (.env, *.pem, id_rsa). This catches secrets
inside ordinary files: private key blocks, cloud and service tokens (AWS, GitHub, GitLab,
Slack, Stripe, OpenAI, npm, PyPI, ...) and `password = "..."` / `api_key = "..."`
assignments whose value looks random. The rules are detect-secrets' own plugins (Yelp's
maintained detector, run offline; all of its keyword and token plugins); only the value
is replaced, so the code around it is still indexed, and the file's text is redacted before
chunking, so no chunk, identifier list, search text or vector ever holds the value.

Speed: running every plugin on every line would cost more than parsing. Each plugin regex
is reduced (by `required_literals` and `required_run`) to what any match must hold: a
literal string, or a run of RUN_GATE token characters, or both. Literals are found with one
`str.find` pass per core (a short string several literals share), runs with one pass over a
byte mask of the file; a line that passes is tried with the plugin's own regex, and only a
line where that matches is handed to the plugin. `redact_unfiltered` (every plugin on every
line) is the reference the tests hold this to.

Entropy-only plugins (Base64HighEntropyString, HexHighEntropyString: any random-looking
quoted string) are left out: on the CPython standard library they flag 394 strings in 71
files and every one is an alphabet, a hex test vector or a digest, not a secret.
"""

from __future__ import annotations

import math
import re
import re._constants as sre_constants  # type: ignore[import-not-found]
import re._parser as sre_parse  # type: ignore[import-not-found]
import string
from bisect import bisect_right
from collections import Counter
from collections.abc import Iterable, Sequence
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
                if all(heads) and not any("" in head for head in heads):
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


def required_literals(pattern: re.Pattern[str], min_length: int = 3) -> set[str] | None:
    """Lower-case literals one of which any match of `pattern` must contain, if known.

    None when none is known, or when the shortest is under `min_length` characters.
    """
    try:
        parsed = sre_parse.parse(pattern.pattern, pattern.flags)
    except re.error:
        return None
    # Lines are compared lower-cased, so case-sensitive literals gate by their lower case.
    found = _literal_runs(list(parsed))
    if not found or min(map(len, found)) < min_length:
        return None  # too short to be worth a gate
    return {literal.lower() for literal in found}


# Characters of the token shapes that services issue (`ghp_...`, Twilio `AC...`, Discord
# and Telegram bot tokens): a rule whose every match holds a run of RUN_GATE of them is
# only tried on lines that hold such a run, which plain code rarely does.
TOKEN_CHARS = frozenset(string.ascii_letters + string.digits + "_-")
RUN_GATE = 20
_DIGIT_OR_WORD = (sre_constants.CATEGORY_DIGIT, sre_constants.CATEGORY_WORD)


def _token_item(op: Any, arg: Any) -> int | None:
    """Minimum length of one parsed item made only of token characters, else None.

    Zero-width items (`^`, `(?!\\w)`) count as length 0: the run goes on through them.
    `\\d` and `\\w` count as token characters; in text with other than ASCII the run
    mask counts every non-ASCII character as one too, so the gate stays a superset.
    """
    if op is sre_constants.LITERAL:
        return 1 if chr(arg) in TOKEN_CHARS else None
    if op is sre_constants.IN:
        for kind, value in arg:
            if kind is sre_constants.LITERAL and chr(value) in TOKEN_CHARS:
                continue
            if kind is sre_constants.RANGE and all(
                chr(c) in TOKEN_CHARS for c in range(value[0], value[1] + 1)
            ):
                continue
            if kind is sre_constants.CATEGORY and value in _DIGIT_OR_WORD:
                continue
            return None
        return 1
    if op in (sre_constants.MAX_REPEAT, sre_constants.MIN_REPEAT, sre_constants.POSSESSIVE_REPEAT):
        inner = _token_sequence(arg[2])
        return None if inner is None else arg[0] * inner
    if op is sre_constants.SUBPATTERN:
        return _token_sequence(arg[-1])
    if op is sre_constants.BRANCH:
        lengths = [_token_sequence(branch) for branch in arg[1]]
        return None if any(n is None for n in lengths) else min(lengths)  # type: ignore[type-var]
    if op in (sre_constants.AT, sre_constants.ASSERT_NOT):
        return 0
    return None


def _token_sequence(items: Any) -> int | None:
    """Minimum length of a parsed sequence when all of it is token characters, else None."""
    total = 0
    for op, arg in items:
        length = _token_item(op, arg)
        if length is None:
            return None
        total += length
    return total


def required_run(pattern: re.Pattern[str]) -> int:
    """The longest run of TOKEN_CHARS that every match of `pattern` holds (0 if none known)."""
    try:
        parsed = sre_parse.parse(pattern.pattern, pattern.flags)
    except re.error:
        return 0
    best = run = 0
    for op, arg in parsed:
        length = _token_item(op, arg)
        if length is None:
            run = 0
        else:
            run += length
            best = max(best, run)
    return best


# One pass of str.find per core finds the lines that may hold any anchor containing it,
# instead of one pass per anchor (about 80). Speed only: an anchor that contains none of
# these is its own core, so every anchor is still looked for.
_CORE_HINTS = ("key", "pass", "gh", "gl", "xox", "://", "ap", "k_live_", "pypi-age", "contrase")
_RUN_NEEDLE = b"a" * RUN_GATE
_MASK_ASCII = bytes(ord("a") if chr(i) in TOKEN_CHARS else ord(" ") for i in range(256))
# `encode("ascii", "replace")` writes one "?" per other character: count those as token.
_MASK_OTHER = bytes(
    ord("a") if chr(i) in TOKEN_CHARS or chr(i) == "?" else ord(" ") for i in range(256)
)


def shannon_entropy(value: str) -> float:
    """Bits per character of `value`'s own character distribution."""
    if not value:
        return 0.0
    counts = Counter(value)
    total = len(value)
    return -sum(n / total * math.log2(n / total) for n in counts.values())


@dataclass(frozen=True)
class _Gate:
    """One rule of a detect-secrets plugin and what a line must hold before it is tried."""

    plugin: int
    """Index of the plugin in `SecretScanner.plugins`."""
    pattern: re.Pattern[str] | None
    """The plugin's regex, tried on the line before the plugin itself runs there; None for
    KeywordDetector, whose own analysis is the test."""
    literals: frozenset[str]
    """Lower-case; the line must hold one (empty: no literal is needed)."""
    run: bool
    """The line must hold a run of RUN_GATE token characters."""

    def matches(self, line: str) -> bool:
        return self.pattern is None or self.pattern.search(line) is not None


class SecretScanner:
    """detect-secrets' plugins behind gates derived from their own rules; build once.

    Each plugin regex gets the cheapest necessary condition its parse proves: a token run
    of RUN_GATE characters (found for all rules at once in one pass over a byte mask) and/or
    literals (found by one `str.find` pass per core). A line that passes a gate is tried
    with that regex; only lines where it matches are handed to the plugin.
    """

    def __init__(self) -> None:
        import importlib

        self.plugins: list[Any] = []
        self.gates: list[_Gate] = []
        self.skipped: list[str] = []
        for module_name, class_name in _PLUGINS:
            module = importlib.import_module(f"detect_secrets.plugins.{module_name}")
            plugin = getattr(module, class_name)()
            gates = self._gates(module, plugin, len(self.plugins))
            if gates is None:
                # A rule with neither a literal nor a token run to gate it: running it on
                # every line of every file would cost more than parsing.
                self.skipped.append(class_name)
                continue
            self.plugins.append(plugin)
            self.gates.extend(gates)
        # Gates found by literals alone scan the whole text; run gates only the run lines.
        by_anchor: dict[str, list[_Gate]] = {}
        run_anchor: dict[str, list[_Gate]] = {}
        self.run_only: list[_Gate] = []
        for gate in self.gates:
            if gate.run and not gate.literals:
                self.run_only.append(gate)
            for anchor in gate.literals:
                (run_anchor if gate.run else by_anchor).setdefault(anchor, []).append(gate)
        self.by_anchor = by_anchor
        self.run_anchor = run_anchor
        self.anchors = sorted(by_anchor)
        cores = [hint for hint in _CORE_HINTS if any(hint in a for a in self.anchors)]
        cores += [a for a in self.anchors if not any(core in a for core in cores)]
        # Each anchor is looked for under the first core it contains.
        self.core_anchors: dict[str, list[str]] = {core: [] for core in cores}
        for anchor in self.anchors:
            self.core_anchors[next(core for core in cores if core in anchor)].append(anchor)
        self.has_runs = bool(self.run_only or self.run_anchor)

    def plugin_literals(self, name: str) -> set[str]:
        """Every literal that gates the plugin called `name` (for tests and reports)."""
        return {
            literal
            for gate in self.gates
            if type(self.plugins[gate.plugin]).__name__ == name
            for literal in gate.literals
        }

    @staticmethod
    def _gates(module: Any, plugin: Any, index: int) -> list[_Gate] | None:
        patterns: Sequence[re.Pattern[str]] = getattr(plugin, "denylist", ())
        if not patterns and hasattr(module, "DENYLIST"):
            # KeywordDetector: its keyword list gates, its assignment regexes decide.
            words = [re.compile(word, re.IGNORECASE) for word in module.DENYLIST]
            literals = _union(required_literals(word) for word in words)
            return [_Gate(index, None, frozenset(literals), False)] if literals else None
        gates: list[_Gate] = []
        for pattern in patterns:
            literals = required_literals(pattern) or set()
            run = required_run(pattern) >= RUN_GATE
            if not literals and not run:
                # Two-letter literals (Artifactory's `AP`) are common in code, but a line
                # that holds one only costs the regex, not the plugin.
                literals = required_literals(pattern, min_length=2) or set()
                if not literals:
                    return None
            gates.append(_Gate(index, pattern, frozenset(literals), run))
        return gates or None

    def candidates(self, text: str) -> dict[int, set[int]]:
        """Line start offset -> plugins whose regexes match on that line.

        Exactly the lines and plugins that trying every plugin's regexes on every line
        would give, found with one `str.find` pass per core and one for token runs.
        """
        found: dict[int, set[int]] = {}
        size = len(text)

        def consider(start: int, end: int, gates: Iterable[_Gate]) -> None:
            line = text[start:end]
            for gate in gates:
                if gate.plugin not in found.get(start, ()) and gate.matches(line):
                    found.setdefault(start, set()).add(gate.plugin)

        lowered = text.lower()
        same = len(lowered) == len(text)
        if same:
            for core, anchors in self.core_anchors.items():
                at = lowered.find(core)
                while at != -1:
                    start = lowered.rfind("\n", 0, at) + 1
                    end = lowered.find("\n", at)
                    end = size if end == -1 else end
                    low = lowered[start:end]
                    for anchor in anchors:
                        if anchor in low:
                            consider(start, end, self.by_anchor[anchor])
                    at = lowered.find(core, end)
        else:  # lower-casing changed the length (rare letters): look line by line
            start = 0
            for line in text.split("\n"):
                low = line.lower()
                for anchor in self.anchors:
                    if anchor in low:
                        consider(start, start + len(line), self.by_anchor[anchor])
                start += len(line) + 1
        if self.has_runs:
            mask = text.encode("ascii", "replace").translate(
                _MASK_ASCII if text.isascii() else _MASK_OTHER
            )
            at = mask.find(_RUN_NEEDLE)
            while at != -1:
                start = text.rfind("\n", 0, at) + 1
                end = text.find("\n", at)
                end = size if end == -1 else end
                consider(start, end, self.run_only)
                low = lowered[start:end] if same else text[start:end].lower()
                for anchor, gates in self.run_anchor.items():
                    if anchor in low:
                        consider(start, end, gates)
                at = mask.find(_RUN_NEEDLE, end)
        return found

    def redact(self, path: str, text: str) -> Redaction:
        """`text` with every secret value replaced by REDACTED (lines and code kept)."""
        found = self.candidates(text)
        if not found:
            return Redaction(text, 0)
        lines = text.split("\n")
        starts = list(accumulate(map((1).__add__, map(len, lines)), initial=0))
        wanted = {bisect_right(starts, start) - 1: rules for start, rules in found.items()}
        return self._redact_rows(path, lines, wanted)

    def redact_unfiltered(self, path: str, text: str) -> Redaction:
        """`redact` without the gates: every plugin on every line (the reference, for tests)."""
        lines = text.split("\n")
        everything = set(range(len(self.plugins)))
        return self._redact_rows(path, lines, {row: everything for row in range(len(lines))})

    def _redact_rows(self, path: str, lines: list[str], wanted: dict[int, set[int]]) -> Redaction:
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


def _union(sets: Iterable[set[str] | None]) -> set[str]:
    """The union of literal sets, or empty when any of them is unknown (None)."""
    out: set[str] = set()
    for literals in sets:
        if not literals:
            return set()
        out |= literals
    return out


_AROUND_TOKEN = " \t\"'=:"


def _matched_values(plugin: Any, line: str) -> set[str]:
    """What a token plugin's rules match: the whole token, or its captured value when the
    rule also matches the name around it (`aws_secret = "..."` keeps `aws_secret`)."""
    values: set[str] = set()
    for pattern in plugin.denylist:
        for match in pattern.finditer(line):
            group = match.group(1) if pattern.groups else None
            value = group if group and len(group) >= 16 else match.group(0)
            # Artifactory's rules take the space, `=` or quotes around the token too.
            values.add(value.strip(_AROUND_TOKEN) or value)
    return values


@cache
def scanner() -> SecretScanner:
    """The process's scanner (plugins are built once; index workers build their own)."""
    return SecretScanner()


def redact_secrets(path: str, text: str) -> Redaction:
    """`text` of the file at `path` (relative) with its secret values redacted."""
    return scanner().redact(path, text)
