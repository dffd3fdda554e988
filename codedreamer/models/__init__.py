"""The llama.cpp model runtime: GGUF checks, chat streaming with cancel, token budgets.

Modules: `gguf` (file checks), `bundled` (the default model), `quiet` (fd-2 redirect),
`runtime` (ChatModel, ChatResponse), `budget` (prompt budgeting), `registry` (ModelSet).
Nothing is imported here so that `import codedreamer.models` stays cheap.
"""
