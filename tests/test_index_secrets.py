"""Secrets inside ordinary files are redacted before indexing: detect-secrets, real LanceDB."""

from __future__ import annotations

import re
import sysconfig
from pathlib import Path

from test_index_indexer import _age, _write, make_settings

from codedreamer.index.indexer import index_codebase, open_index
from codedreamer.index.secrets import (
    REDACTED,
    redact_secrets,
    required_literals,
    required_run,
    scanner,
)

# Fake but well-formed values, in the shapes the real services issue.
AWS = "AKIAQX7G2M4RZK3PLV5N"
AWS_SECRET = "wJalrXUtnFEMIxK7MDENGsbPxRfiCYzq8Lk3TnB2"
GITHUB = "ghp_R8m2KqZ7xT4vN9bW3cY6pL1sD5fH0jG2aE7u"
GITLAB = "glpat-Zk8mQ2rT5vX9wB3nC7yL"
SLACK = "xoxb-2048163995-4096327891234-Qw7Er9Ty3Ui5Op1As8Df2Gh"
PASSWORD = "x8Kq2vLp9Zr4Tn6WmQ3s"
KEY_LINES = [
    "MIIEowIBAAKCAQEAvR7d0Zp9mQk3T8yLhX2cW5nB4rF6gJ1sK0aE9uI7oP3lM8qN",
    "Zx4Cv6Bn2Mq8Wr5Ty1Ui9Op3As7Df4Gh0Jk6Lz2Xc8Vb5Nm1Qw3Er7Ty9Ui2Op4As",
]
TWILIO = "AC3f9a1c7e5b2d4a6c8e0f1b3d5a7c9e2f"
DISCORD = "MTA4NzQ2NTI3OTk4ODk4NDk2Mg.GhT7xQ.Zk3vP9mL2qR8wX5nB1cY7tD4sF6"
TELEGRAM = "5732189045:AAHk3vP9mL2qR8wX5nB1cY7tD4sF6gH0jKw"
ARTIFACTORY = "AKCp8kqZ3vX9wB2nC7yL5mT4"
SECRETS = [AWS, AWS_SECRET, GITHUB, GITLAB, SLACK, PASSWORD, *KEY_LINES]

CONFIG_PY = f'''"""Service settings."""

AWS_ACCESS_KEY_ID = "{AWS}"
aws_secret_access_key = "{AWS_SECRET}"
GITHUB_TOKEN = "{GITHUB}"
api_key = "{PASSWORD}"
password = "changeme"


def client_for(region):
    return connect(region, key=AWS_ACCESS_KEY_ID, token=GITHUB_TOKEN)
'''
DEPLOY_JS = f"""const gitlab = '{GITLAB}';
const slack = "{SLACK}";

function notify(text) {{
  return post(slack, text);
}}
"""
KEY_PY = (
    'TEST_KEY = """-----BEGIN RSA PRIVATE KEY-----\n'
    + "\n".join(KEY_LINES)
    + '\n-----END RSA PRIVATE KEY-----"""\n\n\ndef load_key():\n    return TEST_KEY\n'
)


def test_each_kind_is_redacted_and_the_code_kept() -> None:
    result = redact_secrets("config.py", CONFIG_PY)
    assert result.secrets == 4
    for value in (AWS, AWS_SECRET, GITHUB, PASSWORD):
        assert value not in result.text
    assert f'AWS_ACCESS_KEY_ID = "{REDACTED}"' in result.text
    assert f'aws_secret_access_key = "{REDACTED}"' in result.text
    # A guessable password is not a random secret; the code is untouched.
    assert 'password = "changeme"' in result.text
    assert "def client_for(region):" in result.text
    assert result.text.count("\n") == CONFIG_PY.count("\n")
    js = redact_secrets("deploy.js", DEPLOY_JS)
    assert js.secrets == 2 and GITLAB not in js.text and SLACK not in js.text
    key = redact_secrets("keys.py", KEY_PY)
    assert key.secrets == 1
    assert "-----BEGIN RSA PRIVATE KEY-----" in key.text and "def load_key():" in key.text
    assert not any(line in key.text for line in KEY_LINES)


def test_plain_code_is_left_alone() -> None:
    code = (
        "def parse_token(text):\n"
        "    secret = os.environ['APP_SECRET']\n"
        "    return hashlib.sha256(b'x').hexdigest()  # 2cf24dba5fb0a30e26e83b2ac5b9e29e\n"
    )
    assert redact_secrets("auth.py", code).text == code


def test_gates_come_from_the_plugins_own_rules() -> None:
    found = scanner()
    assert {"akia", "asia"} <= found.plugin_literals("AWSKeyDetector")
    assert "ghp_" in found.plugin_literals("GitHubTokenDetector")
    assert {"password", "api_key", "apikey"} <= found.plugin_literals("KeywordDetector")
    assert required_literals(re.compile("(?:AKIA|ASIA)[0-9A-Z]{16}")) == {"akia", "asia"}
    assert required_literals(re.compile(r"\d{8}:[A-Za-z]{35}")) is None
    # Rules without a literal are gated by the token run every match holds.
    assert required_run(re.compile(r"AC[a-z0-9]{32}")) == 34
    assert required_run(re.compile(r"\d{8,10}:[0-9A-Za-z_-]{35}")) == 35
    assert required_run(re.compile(r"[MNO][\w-]{23,25}\.[\w-]{6}\.[\w-]{27}")) == 27
    assert required_run(re.compile(r"password\s*=\s*\S+")) == 8
    # Every plugin that was left out for want of a gate now has one.
    assert found.skipped == []
    names = {type(plugin).__name__ for plugin in found.plugins}
    assert {"TwilioKeyDetector", "DiscordBotTokenDetector", "TelegramBotTokenDetector"} <= names
    assert "ArtifactoryDetector" in names


TOKENS_PY = f"""TWILIO_KEY = "{TWILIO}"
DISCORD = '{DISCORD}'
bot = Bot(token="{TELEGRAM}")
ARTIFACTORY_TOKEN = "{ARTIFACTORY}"


def send(text):
    return bot.send(text)
"""


def test_twilio_discord_telegram_and_artifactory_tokens_are_redacted() -> None:
    result = redact_secrets("tokens.py", TOKENS_PY)
    assert result.secrets == 4
    for value in (TWILIO, DISCORD, TELEGRAM, ARTIFACTORY):
        assert value not in result.text
    assert f'TWILIO_KEY = "{REDACTED}"' in result.text
    assert f'ARTIFACTORY_TOKEN = "{REDACTED}"' in result.text
    assert "def send(text):" in result.text


def _stdlib_sample() -> list[tuple[str, str]]:
    """Real code with URLs, keys, hex digests and long names: where gates could slip."""
    root = Path(sysconfig.get_paths()["stdlib"])
    found = []
    for rel in ("urllib/request.py", "base64.py", "hmac.py", "secrets.py", "netrc.py"):
        if (root / rel).is_file():
            found.append((rel, (root / rel).read_text(encoding="utf-8")))
    return found


def test_gated_scan_finds_exactly_what_every_plugin_on_every_line_finds() -> None:
    """The gates only skip work: the same lines are redacted as without them."""
    texts = [
        ("config.py", CONFIG_PY),
        ("deploy.js", DEPLOY_JS),
        ("keys.py", KEY_PY),
        ("tokens.py", TOKENS_PY),
        # Upper case whose lower case is longer: the line-by-line path.
        ("i.py", f"NAME = 'İstanbul'\napi_key = \"{PASSWORD}\"\nT = '{TWILIO}'\n"),
        ("u.py", f"s = 'ünïcode'\nDISCORD = '{DISCORD}'\n"),
        *_stdlib_sample(),
    ]
    assert len(texts) >= 8
    caught = 0
    for path, text in texts:
        gated = scanner().redact(path, text)
        assert gated == scanner().redact_unfiltered(path, text), path
        caught += gated.secrets
    assert caught >= 14


def _everything_stored(index_dir: Path) -> str:
    """Every value of every column of every LanceDB table, as text."""
    import lancedb

    db = lancedb.connect(index_dir)
    parts: list[str] = []
    for name in db.list_tables().tables:
        table = db.open_table(name).to_arrow()
        assert table.num_rows
        for column in table.columns:
            parts.append(repr(column.to_pylist()))
    return "\n".join(parts)


def test_secrets_reach_no_table_no_chunk_and_no_file_of_the_index(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    for rel, text in {
        "app/config.py": CONFIG_PY,
        "web/deploy.js": DEPLOY_JS,
        "app/keys.py": KEY_PY,
        "docs/setup.md": f"Export `GITHUB_TOKEN={GITHUB}` before running.\n",
    }.items():
        _age(_write(root, rel, text))
    settings = make_settings(tmp_path)
    report = index_codebase(root, settings)
    assert report.files_indexed == 4
    assert report.secrets_redacted == 8 and report.files_with_secrets == 4
    stored = _everything_stored(settings.index_dir)
    raw = b"".join(p.read_bytes() for p in settings.index_dir.rglob("*") if p.is_file())
    for value in SECRETS:
        assert value not in stored, value
        assert value.encode() not in raw, value
    store = open_index(settings, read_only=True)
    chunks = store.chunks_for_path("app/config.py")
    text = "\n".join(c.content for c in chunks)
    assert REDACTED in text and "def client_for(region):" in text
    # Searching for the secret finds nothing; the code around it is still found.
    assert not any(AWS in h.chunk.content for h in store.search(AWS, k=10))
    assert any(h.chunk.symbol == "client_for" for h in store.search("client for", k=5))
