"""Runs one GGUF chat model with llama-cpp-python: load, count tokens, stream, cancel.

A `ChatModel` loads lazily, checks the file first (one-line ModelLoadError), keeps
llama.cpp's native logs out of the terminal, and always formats prompts with a known chat
template: the GGUF's own `tokenizer.chat_template`, or an explicitly named and logged
fallback, never llama-cpp-python's silent "llama-2" default.

`chat()` returns a `ChatResponse`: iterate it for text pieces as they stream, or call
`.text()`; both are the same code path, and `.stats` is filled when the stream ends.

Traps handled here:
- llama.cpp contexts are not thread-safe: each model has one lock, held while a response
  streams and released when it ends, is cancelled, or is closed or garbage-collected.
- llama-cpp-python has no cancel API: the response checks the cancel event before asking
  for each next token, and a stopping criterion checks it again after every sampled token,
  so a cancel stops within one token. Prompt prefill is a single native call and cannot
  be interrupted; a cancel during prefill takes effect once it returns.
- special-token text inside code ("<|im_end|>") would be tokenized as real control tokens
  by the chat handler; message contents are defused first (`defuse_special_tokens`).
- prompt + max_tokens must fit n_ctx: `chat()` counts the templated prompt with the
  model's tokenizer and refuses (PromptBudgetError) rather than letting llama.cpp silently
  shorten the answer; `budget.budget_prompt` builds prompts that always pass.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Generator, Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from codedreamer.errors import ModelLoadError, PromptBudgetError
from codedreamer.models.abort import PrefillAbort
from codedreamer.models.data import ChatMessage, FinishReason, GenerationStats, ModelSpec
from codedreamer.models.gguf import read_gguf_info, show_path
from codedreamer.models.quiet import stderr_to_file

if TYPE_CHECKING:
    from types import TracebackType

__all__ = [
    "ChatMessage",
    "ChatModel",
    "ChatResponse",
    "GenerationStats",
    "ModelSpec",
]

log = logging.getLogger(__name__)

GGUF_TEMPLATE_FORMAT = "chat_template.default"
"""llama-cpp-python's name for the template stored in the GGUF itself."""

DEFAULT_FALLBACK_FORMAT = "chatml"
"""Used, and logged, when a GGUF carries no chat template. ChatML is the most common
instruct format today; name another with ChatModel(fallback_chat_format=...)."""

_LOCK_POLL_SECONDS = 0.05


class _Progress:
    """Per-generation state that the stopping criterion (inside llama.cpp's loop) updates."""

    def __init__(
        self,
        prompt_tokens: int,
        cancel: threading.Event | None,
        prefill_abort: PrefillAbort | None = None,
    ) -> None:
        self.prompt_tokens = prompt_tokens
        self.cancel = cancel
        self.prefill_abort = prefill_abort
        self.seen_context = 0
        self.cancel_hit = False

    @property
    def sampled(self) -> int:
        # The criterion sees the evaluated context just before each sampled token is
        # returned: prompt + earlier tokens. So the k-th token shows prompt + k - 1.
        return max(0, self.seen_context - self.prompt_tokens + 1) if self.seen_context else 0

    def __call__(self, input_ids: Any, _logits: Any) -> bool:
        if self.prefill_abort is not None:
            self.prefill_abort.prefill_done()  # a token was sampled: the prefill is over
            self.prefill_abort = None
        self.seen_context = max(self.seen_context, len(input_ids))
        if self.cancel is not None and self.cancel.is_set():
            self.cancel_hit = True
            return True
        return False


class ChatModel:
    """One GGUF chat model. Lazy: nothing is read until `load()` or first use."""

    def __init__(
        self,
        spec: ModelSpec,
        *,
        log_path: Path | None = None,
        fallback_chat_format: str = DEFAULT_FALLBACK_FORMAT,
    ) -> None:
        self.spec = spec
        self.log_path = log_path
        self.fallback_chat_format = fallback_chat_format
        self._lock = threading.Lock()
        self._llama: Any = None
        self._formatter: Any = None
        self._progress: _Progress | None = None
        # Thread holding the generation lock, so a same-thread re-entry fails loudly
        # instead of deadlocking on the non-reentrant lock.
        self._owner: int | None = None
        self._chat_format: str | None = None
        self._n_ctx: int | None = None
        self._n_ctx_train: int | None = None
        self._grammars: dict[str, Any] = {}
        self._special_texts: tuple[str, ...] = ()

    # -- identity ------------------------------------------------------------------------

    @property
    def name(self) -> str:
        return self.spec.path.stem

    @property
    def loaded(self) -> bool:
        return self._llama is not None

    @property
    def chat_format(self) -> str:
        """The chat format in use: "chat_template.default" (the GGUF's own) or the fallback."""
        self.load()
        assert self._chat_format is not None
        return self._chat_format

    @property
    def n_ctx(self) -> int:
        """The context window actually allocated (DREAMER_N_CTX capped at n_ctx_train)."""
        self.load()
        assert self._n_ctx is not None
        return self._n_ctx

    @property
    def n_ctx_train(self) -> int | None:
        self.load()
        return self._n_ctx_train

    @property
    def llama(self) -> Any:
        """The underlying `llama_cpp.Llama`; callers must not use it while a response streams."""
        self.load()
        return self._llama

    # -- loading -------------------------------------------------------------------------

    def load(self) -> None:
        """Validate and load the model once; ModelLoadError (exit 2) on any bad file."""
        if self._llama is not None:
            return
        with self._lock:
            if self._llama is None:
                self._load_locked()

    def _load_locked(self) -> None:
        spec = self.spec
        info = read_gguf_info(spec.path, spec.env_var)
        n_ctx = spec.n_ctx
        trained = info.context_length
        if trained is not None and n_ctx > trained:
            log.info(
                "%s: n_ctx %d is above the model's trained context %d; using %d",
                self.name,
                n_ctx,
                trained,
                trained,
            )
            n_ctx = trained
        try:
            import llama_cpp
            from llama_cpp import llama_chat_format
        except ImportError as exc:
            raise ModelLoadError(
                f"{spec.env_var}: {show_path(spec.path)}: llama-cpp-python is not installed "
                f"({exc}); pip install llama-cpp-python"
            ) from None
        try:
            with stderr_to_file(self.log_path):
                llama = llama_cpp.Llama(
                    model_path=str(spec.path),
                    n_ctx=n_ctx,
                    n_gpu_layers=spec.n_gpu_layers,
                    n_threads=spec.n_threads,
                    n_threads_batch=spec.n_threads,
                    verbose=False,
                )
        except (ValueError, RuntimeError, OSError) as exc:
            first_line = (str(exc).strip().splitlines() or ["unknown error"])[0]
            raise ModelLoadError(
                f"{spec.env_var}: {show_path(spec.path)}: llama.cpp cannot load the model "
                f"({first_line})"
            ) from None

        template = info.chat_template or llama.metadata.get("tokenizer.chat_template")
        if template:
            inner = llama_chat_format.Jinja2ChatFormatter(
                template=template,
                eos_token=_token_text(llama, llama.token_eos()),
                bos_token=_token_text(llama, llama.token_bos()),
                stop_token_ids=[llama.token_eos()],
            )
            chat_format = GGUF_TEMPLATE_FORMAT
            log.info("%s: chat format %s (the GGUF's own template)", self.name, chat_format)
        else:
            inner = _named_formatter(llama_chat_format, self.fallback_chat_format)
            if inner is None:
                llama.close()
                raise ModelLoadError(
                    f"{spec.env_var}: {show_path(spec.path)}: the model has no chat template and "
                    f"the fallback format {self.fallback_chat_format!r} is unknown"
                )
            chat_format = self.fallback_chat_format
            log.warning(
                "%s: no chat template in the GGUF; using the %s format instead",
                self.name,
                chat_format,
            )

        self._formatter = _CountingFormatter(inner, self)
        llama.chat_handler = llama_chat_format.chat_formatter_to_chat_completion_handler(
            self._formatter
        )
        llama.chat_format = chat_format
        self._chat_format = chat_format
        self._n_ctx = int(llama.n_ctx())
        self._n_ctx_train = trained or int(llama_cpp.llama_model_n_ctx_train(llama.model))
        self._special_texts = _special_token_texts(llama_cpp, llama)
        self._llama = llama

    def close(self) -> None:
        """Free the model; waits for a response streaming in another thread to finish.

        Raises RuntimeError if a response of this model is still open in this same thread
        (waiting for it would never end): close that response first.
        """
        self._refuse_reentry("close the model")
        with self._lock:
            llama, self._llama = self._llama, None
            if llama is not None:
                llama.close()

    # -- tokens --------------------------------------------------------------------------

    def count_tokens(self, text: str) -> int:
        """Tokens `text` takes with this model's tokenizer (no BOS, special tokens as text).

        Tokenizing only reads the vocabulary, so it does not wait for a running generation.
        """
        self.load()
        return len(self._llama.tokenize(text.encode("utf-8"), add_bos=False, special=False))

    def count_prompt_tokens(self, messages: Sequence[ChatMessage]) -> int:
        """Exact prompt tokens for `messages` with the chat template applied, as sent."""
        return len(self.prompt_token_ids(messages))

    def render_prompt(self, messages: Sequence[ChatMessage]) -> str:
        """The prompt text llama.cpp will see: template applied, special tokens defused."""
        self.load()
        result = self._formatter.inner(messages=self._message_dicts(messages))
        prompt: str = result.prompt
        return prompt

    def prompt_token_ids(self, messages: Sequence[ChatMessage]) -> list[int]:
        """The prompt's token ids exactly as the chat handler tokenizes them."""
        self.load()
        result = self._formatter.inner(messages=self._message_dicts(messages))
        tokens: list[int] = self._llama.tokenize(
            result.prompt.encode("utf-8"), add_bos=not result.added_special, special=True
        )
        return tokens

    def _message_dicts(self, messages: Sequence[ChatMessage]) -> list[dict[str, str]]:
        # The handler tokenizes the whole rendered prompt with special tokens enabled, so
        # "<|im_end|>" inside dreamed-about code would become a real end-of-turn token.
        return [
            {"role": m.role, "content": defuse_special_tokens(m.content, self._special_texts)}
            for m in messages
        ]

    # -- generation ----------------------------------------------------------------------

    def chat(
        self,
        messages: Sequence[ChatMessage],
        *,
        max_tokens: int,
        temperature: float,
        repeat_penalty: float = 1.0,
        top_p: float = 0.95,
        stop: Sequence[str] = (),
        cancel: threading.Event | None = None,
        seed: int | None = None,
        json_schema: Mapping[str, Any] | None = None,
    ) -> ChatResponse:
        """Start a streamed chat completion; generation begins when the response is iterated.

        `json_schema` constrains the output with a grammar built from the schema (the
        `response_format` json_schema option of llama-cpp-python is silently ignored, so we
        do not use it). Raises PromptBudgetError when prompt + max_tokens would exceed n_ctx.
        """
        if max_tokens < 1:
            raise PromptBudgetError(f"max_tokens must be positive (got {max_tokens})")
        prompt_tokens = self.count_prompt_tokens(messages)
        if prompt_tokens + max_tokens > self.n_ctx:
            raise PromptBudgetError(
                f"{self.name}: prompt of {prompt_tokens} tokens + max_tokens {max_tokens} "
                f"exceeds n_ctx {self.n_ctx}; budget the prompt with budget_prompt()"
            )
        params: dict[str, Any] = {
            "messages": self._message_dicts(messages),
            "max_tokens": max_tokens,
            "temperature": temperature,
            "repeat_penalty": repeat_penalty,
            "top_p": top_p,
            "stop": list(stop),
            "seed": seed,
            "stream": True,
        }
        if json_schema is not None:
            params["grammar"] = self._grammar_for(json_schema)
        return ChatResponse(self, params, prompt_tokens, cancel)

    def _grammar_for(self, schema: Mapping[str, Any]) -> Any:
        from llama_cpp.llama_grammar import LlamaGrammar

        key = json.dumps(schema, sort_keys=True)
        grammar = self._grammars.get(key)
        if grammar is None:
            # A grammar is only its text; llama.cpp builds a fresh sampler from it per call,
            # so one object can be reused across generations.
            with stderr_to_file(self.log_path):
                grammar = LlamaGrammar.from_json_schema(key, verbose=False)
            self._grammars[key] = grammar
        return grammar

    def _refuse_reentry(self, action: str) -> None:
        if self._owner == threading.get_ident():
            raise RuntimeError(
                f"{self.name}: cannot {action} while a response from it is still open in this "
                "thread; iterate that response to the end or close() it first"
            )

    def _acquire(self, cancel: threading.Event | None) -> bool:
        """Take the generation lock; give up (False) if `cancel` is set while waiting."""
        self._refuse_reentry("start a generation")
        while not self._lock.acquire(timeout=_LOCK_POLL_SECONDS):
            if cancel is not None and cancel.is_set():
                return False
        self._owner = threading.get_ident()
        return True


class _Generation:
    """State of one generation, shared by the response and its stream generator.

    Kept apart from ChatResponse so that the generator does not reference the response:
    without that cycle, dropping the response frees the generator at once, and its
    `finally` releases the model lock without waiting for the cyclic garbage collector.
    """

    def __init__(
        self,
        model: ChatModel,
        params: dict[str, Any],
        prompt_tokens: int,
        cancel: threading.Event | None,
    ) -> None:
        self.model = model
        self.params = params
        self.prompt_tokens = prompt_tokens
        self.cancel = cancel
        self.pieces: list[str] = []
        self.progress: _Progress | None = None
        self.stats: GenerationStats | None = None

    def finish(self, reason: FinishReason, seconds: float, first: float | None) -> None:
        sampled = self.progress.sampled if self.progress is not None else 0
        decode_seconds = seconds - first if first is not None else 0.0
        if sampled > 1 and decode_seconds > 0:
            rate = (sampled - 1) / decode_seconds
        else:
            rate = sampled / seconds if seconds > 0 else 0.0
        self.stats = GenerationStats(
            prompt_tokens=self.prompt_tokens,
            completion_tokens=sampled,
            first_token_seconds=first,
            seconds=seconds,
            tokens_per_second=rate,
            finish_reason=reason,
        )


def _stream(state: _Generation) -> Generator[str, None, None]:
    """Yield text pieces; holds the model lock from the first `next()` to the end."""
    model = state.model
    cancel = state.cancel
    first: float | None = None
    reason: FinishReason = "cancelled"
    if not model._acquire(cancel):
        state.finish("cancelled", 0.0, None)
        return
    # Timings start once the lock is ours: waiting for another generation is not latency
    # of this one.
    start = time.perf_counter()
    try:
        llama = model._llama
        if llama is None:
            raise ModelLoadError(f"{model.spec.env_var}: model {model.name} was closed")
        prefill_abort = PrefillAbort(llama, cancel) if cancel is not None else None
        progress = _Progress(state.prompt_tokens, cancel, prefill_abort)
        state.progress = progress
        model._progress = progress
        if prefill_abort is not None:
            prefill_abort.install()
        stream = llama.create_chat_completion(**state.params)
        try:
            reason = "length"
            while True:
                if cancel is not None and cancel.is_set():
                    reason = "cancelled"
                    break
                try:
                    chunk = next(stream)
                except StopIteration:
                    break
                except RuntimeError as exc:
                    if prefill_abort is not None and prefill_abort.explains(exc):
                        reason = "cancelled"
                        break
                    raise
                choice = chunk["choices"][0]
                piece = choice["delta"].get("content")
                if piece:
                    if first is None:
                        first = time.perf_counter() - start
                    state.pieces.append(piece)
                    try:
                        yield piece
                    except GeneratorExit:
                        # The consumer closed or dropped the response mid-stream.
                        reason = "cancelled"
                        raise
                if choice.get("finish_reason"):
                    reason = "stop" if choice["finish_reason"] == "stop" else "length"
            if progress.cancel_hit:
                reason = "cancelled"
        finally:
            if prefill_abort is not None:
                prefill_abort.prefill_done()
            stream.close()
            model._progress = None
    finally:
        model._owner = None
        model._lock.release()
        if state.stats is None:
            state.finish(reason, time.perf_counter() - start, first)


class ChatResponse:
    """A streamed chat completion: an iterator of text pieces with stats at the end.

    Iterating yields pieces as llama.cpp produces them; `.text()` consumes the rest and
    returns the whole answer; `.stats` is set once the stream has ended (naturally, by
    cancel, or by `close()`). Iterating again after the end replays the pieces. Use it as
    a context manager, or call `close()`, to stop early and free the model at once.
    """

    def __init__(
        self,
        model: ChatModel,
        params: dict[str, Any],
        prompt_tokens: int,
        cancel: threading.Event | None,
    ) -> None:
        self.model = model
        self._state = _Generation(model, params, prompt_tokens, cancel)
        self._stream = _stream(self._state)

    @property
    def prompt_tokens(self) -> int:
        return self._state.prompt_tokens

    @property
    def stats(self) -> GenerationStats | None:
        """Counts and timings, or None while the stream has not ended."""
        return self._state.stats

    @property
    def completion_tokens_so_far(self) -> int:
        """Tokens sampled up to now; live while streaming."""
        progress = self._state.progress
        return progress.sampled if progress is not None else 0

    def __iter__(self) -> Iterator[str]:
        if self._state.stats is not None:
            return iter(list(self._state.pieces))
        return self._stream

    def text(self) -> str:
        """Consume the stream (if not done) and return the full text."""
        for _ in self._stream:
            pass
        return "".join(self._state.pieces)

    def close(self) -> None:
        """Stop the generation now and release the model; stats say "cancelled" if unfinished.

        Call it from the thread that iterates; to stop a stream from another thread, set
        the `cancel` event passed to `chat()`.
        """
        self._stream.close()
        if self._state.stats is None:
            self._state.finish("cancelled", 0.0, None)

    def __enter__(self) -> ChatResponse:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


class _CountingFormatter:
    """Wraps a llama-cpp-python chat formatter to add our per-token stopping criterion."""

    def __init__(self, inner: Any, model: ChatModel) -> None:
        self.inner = inner
        self.model = model

    def __call__(self, **kwargs: Any) -> Any:
        from llama_cpp import StoppingCriteriaList

        result = self.inner(**kwargs)
        progress = self.model._progress
        if progress is not None:
            criteria = list(result.stopping_criteria or [])
            criteria.append(progress)
            result.stopping_criteria = StoppingCriteriaList(criteria)
        return result


def _token_text(llama: Any, token: int) -> str:
    if token < 0:
        return ""
    raw: bytes = llama.detokenize([token], special=True)
    return raw.decode("utf-8", errors="ignore")


def _named_formatter(module: Any, name: str) -> Any:
    """The registered formatter function for a named chat format, or None."""
    formatters = {
        "chatml": "format_chatml",
        "llama-2": "format_llama2",
        "llama-3": "format_llama3",
        "gemma": "format_gemma",
        "mistral-instruct": "format_mistral_instruct",
        "zephyr": "format_zephyr",
        "alpaca": "format_alpaca",
        "vicuna": "format",
    }
    attribute = formatters.get(name)
    return getattr(module, attribute, None) if attribute else None


ZERO_WIDTH_SPACE = "\u200b"


def defuse_special_tokens(text: str, specials: Sequence[str]) -> str:
    """Break up special-token strings in `text` so the tokenizer reads them as plain text.

    A zero-width space after the first character keeps the text readable for the model
    while no longer matching the control token. `specials` longest first, so that a token
    that contains another is handled whole.
    """
    for special in specials:
        if special in text:
            text = text.replace(special, special[0] + ZERO_WIDTH_SPACE + special[1:])
    return text


def _special_token_texts(llama_cpp: Any, llama: Any) -> tuple[str, ...]:
    """Texts of the control and user-defined tokens in the vocabulary, longest first."""
    vocab = llama_cpp.llama_model_get_vocab(llama.model)
    flags = llama_cpp.LLAMA_TOKEN_ATTR_CONTROL | llama_cpp.LLAMA_TOKEN_ATTR_USER_DEFINED
    texts = set()
    for token in range(llama_cpp.llama_vocab_n_tokens(vocab)):
        if llama_cpp.llama_vocab_get_attr(vocab, token) & flags:
            text = llama_cpp.llama_vocab_get_text(vocab, token).decode("utf-8", errors="replace")
            if len(text) >= 2:
                texts.add(text)
    return tuple(sorted(texts, key=len, reverse=True))
