"""Render `.env.example` from the Settings fields, so the file can never fall out of date.

`python -m codedreamer.config.env_example > .env.example` rewrites it; a test compares.
"""

from __future__ import annotations

from pathlib import Path

from codedreamer.config.settings import Settings, env_key


def _default_text(name: str) -> str:
    field = Settings.model_fields[name]
    value = field.get_default(call_default_factory=True)
    if value is None:
        return ""
    if isinstance(value, list):
        return ",".join(str(item) for item in value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Path):
        return str(value)
    return str(value)


def render_env_example() -> str:
    lines = [
        "# CodeDreamer settings. Copy to .env and edit; the environment and CLI options",
        "# override this file. `codedreamer config` shows the effective values and their source.",
        "# Empty model paths use the bundled SmolLM2-135M model and the built-in embedder.",
        "",
    ]
    for name, field in Settings.model_fields.items():
        lines.append(f"# {field.description}")
        lines.append(f"{env_key(name)}={_default_text(name)}")
        lines.append("")
    return "\n".join(lines)


if __name__ == "__main__":
    print(render_env_example(), end="")
