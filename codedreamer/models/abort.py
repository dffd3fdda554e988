"""Stop llama.cpp inside a prompt's prefill when a generation is cancelled.

The per-token cancel check (a stopping criterion) only runs once tokens are sampled; a long
prompt's prefill is one `llama_decode` call that takes seconds on a small CPU, and pause,
stop or quit would wait for it. llama.cpp's abort callback is polled between the nodes of
the compute graph, so it ends a prefill within milliseconds.

The callback is installed only for the prefill: it is polled once per graph node, and
calling into Python a thousand times per sampled token would cost decode speed (and contend
for the GIL with the UI thread). `PrefillAbort.prefill_done` removes it at the first token.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

log = logging.getLogger(__name__)

ABORTED_MARK = "llama_decode returned 2"
"""What llama-cpp-python raises (RuntimeError) when the callback aborts a decode."""


class PrefillAbort:
    """The abort callback of one generation on one llama context; a no-op when unsupported."""

    def __init__(self, llama: Any, cancel: threading.Event) -> None:
        self._llama = llama
        self._cancel = cancel
        self._callback: Any = None
        self._api: Any = None
        self.fired = False

    def install(self) -> None:
        try:
            import llama_cpp

            set_callback = llama_cpp.llama_set_abort_callback
            callback_type = llama_cpp.ggml_abort_callback
            context = self._llama.ctx
        except (ImportError, AttributeError):
            return  # an older llama-cpp-python: prefill stays uninterruptible

        def should_abort(_data: Any) -> bool:
            if self._cancel.is_set():
                self.fired = True
                return True
            return False

        # Kept on self: ctypes must hold the function object while llama.cpp can call it.
        self._callback = callback_type(should_abort)
        self._api = (set_callback, callback_type, context)
        set_callback(context, self._callback, None)

    def prefill_done(self) -> None:
        """Remove the callback (idempotent); decode speed is not taxed by it."""
        if self._api is None:
            return
        set_callback, callback_type, context = self._api
        self._api = None
        set_callback(context, callback_type(), None)

    def explains(self, error: BaseException) -> bool:
        """True when `error` is llama.cpp giving up because this callback asked it to."""
        return self.fired and ABORTED_MARK in str(error)
