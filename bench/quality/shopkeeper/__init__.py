"""Shopkeeper: a small shop backend, the codebase of the CodeDreamer quality benchmark."""
