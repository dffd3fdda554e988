"""CodeDreamer: local language models dream about a codebase and keep ranked suggestions."""

__version__ = "0.1.0"
