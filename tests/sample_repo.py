"""A tiny git repository to dream about, and the settings that keep a test's files apart."""

from __future__ import annotations

import subprocess
from pathlib import Path

from codedreamer.config.settings import Settings, load_settings

INVENTORY = '''"""A tiny inventory module used as a codebase to dream about."""


class Inventory:
    def __init__(self):
        self.items = {}

    def add_item(self, name, quantity):
        if quantity < 0:
            raise ValueError("quantity must be positive")
        self.items[name] = self.items.get(name, 0) + quantity

    def remove_item(self, name, quantity):
        current = self.items[name]
        if current - quantity < 0:
            print("not enough stock")
        self.items[name] = current - quantity
        if self.items[name] == 0:
            del self.items[name]

    def total_quantity(self):
        total = 0
        for name in self.items:
            total = total + self.items[name]
        return total
'''


def make_repo(root: Path) -> Path:
    """A committed git repo holding one small Python module."""
    root.mkdir(parents=True)
    (root / "inventory.py").write_text(INVENTORY)
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@example.com"]
    subprocess.run([*git, "init", "-q"], cwd=root, check=True)
    subprocess.run([*git, "add", "."], cwd=root, check=True)
    subprocess.run([*git, "commit", "-qm", "init"], cwd=root, check=True)
    return root


def dream_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    """DREAMER_* variables that keep dreams and data under `tmp_path`, with small limits."""
    return {
        "DREAMER_DREAMS_DIR": str(tmp_path / "dreams"),
        "DREAMER_DATA_DIR": str(tmp_path / "data"),
        # Greedy decoding makes a dream reproducible, so tests cannot flake on sampling.
        "DREAMER_DREAM_TEMPERATURE": "0",
        "DREAMER_N_CTX": "2048",
        "DREAMER_N_THREADS": "1",
        **extra,
    }


def settings_for(tmp_path: Path, **extra: str) -> Settings:
    return load_settings(env_file=None, environ=dream_env(tmp_path, **extra)).settings
