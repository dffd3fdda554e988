"""The walker on real directory trees: ignore rules, secrets, odd files and names."""

from __future__ import annotations

import os
from pathlib import Path

from codedreamer.index.walker import FileEntry, IgnoreRules, Skipped, classify, walk, watch_dirs


def _tree(root: Path, files: dict[str, str]) -> None:
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


def _scan(root: Path, exclude: tuple[str, ...] = ()) -> tuple[set[str], dict[str, str]]:
    rules = IgnoreRules(root, exclude)
    indexed: set[str] = set()
    skipped: dict[str, str] = {}
    for item in walk(root, rules):
        if isinstance(item, FileEntry):
            indexed.add(item.rel)
        else:
            skipped[item.rel] = item.reason
    return indexed, skipped


def test_gitignore_nested_and_negated(tmp_path: Path) -> None:
    _tree(
        tmp_path,
        {
            ".gitignore": "*.log\ngenerated/\n!keep.log\n",
            "app/.gitignore": "local_*.py\n",
            "app/main.py": "x = 1\n",
            "app/local_settings.py": "x = 2\n",
            "app/debug.log": "no\n",
            "keep.log": "kept? no: .log is not a code type\n",
            "generated/out.py": "x = 3\n",
            "lib/generated.py": "x = 4\n",
        },
    )
    indexed, skipped = _scan(tmp_path)
    assert indexed == {"app/main.py", "lib/generated.py"}
    assert skipped["app/local_settings.py"] == "gitignored"
    assert skipped["app/debug.log"] == "gitignored"
    assert skipped["generated/"] == "gitignored"
    assert skipped["keep.log"] == "unsupported_type"


def test_exclude_patterns_match_relative_paths_not_the_absolute_root(tmp_path: Path) -> None:
    # A project that lives inside a directory named like a skipped one is still indexed.
    root = tmp_path / "build" / "tests" / "project"
    _tree(
        root,
        {
            "src/app.py": "x = 1\n",
            "tests/test_app.py": "x = 2\n",
            "src/app_test.py": "x = 3\n",
            "src/conftest.py": "x = 4\n",
            "dist/bundle.js": "x = 5\n",
            "node_modules/pkg/index.js": "x = 6\n",
        },
    )
    indexed, skipped = _scan(root, ("tests", "test_*", "*_test.py", "conftest.py"))
    assert indexed == {"src/app.py"}
    assert skipped["tests/"] == "excluded"
    assert skipped["src/app_test.py"] == "excluded"
    assert skipped["dist/"] == "builtin"
    assert skipped["node_modules/"] == "builtin"


def test_secrets_are_never_indexed(tmp_path: Path) -> None:
    _tree(
        tmp_path,
        {
            ".env": "TOKEN=1\n",
            ".env.local": "TOKEN=2\n",
            "prod.env": "TOKEN=3\n",
            "server.pem": "-----BEGIN-----\n",
            "tls.key": "k\n",
            "id_rsa": "k\n",
            "id_ed25519.pub": "k\n",
            "data.sqlite": "x\n",
            "app.db": "x\n",
            ".ssh/config.py": "x = 1\n",
            "secrets/creds.json": "{}\n",
            "config/settings.py": "x = 1\n",
        },
    )
    indexed, skipped = _scan(tmp_path)
    assert indexed == {"config/settings.py"}
    secrets = [".env", ".env.local", "prod.env", "server.pem", "tls.key", "id_rsa"]
    secrets += ["id_ed25519.pub", "data.sqlite", "app.db", ".ssh/", "secrets/"]
    for rel in secrets:
        assert skipped[rel] == "secret", rel


def test_symlinks_fifos_and_odd_names(tmp_path: Path) -> None:
    _tree(tmp_path, {"real.py": "x = 1\n"})
    (tmp_path / "loop").symlink_to(tmp_path / "loop")
    (tmp_path / "dirloop").symlink_to(tmp_path, target_is_directory=True)
    (tmp_path / "alias.py").symlink_to(tmp_path / "real.py")
    os.mkfifo(tmp_path / "pipe.py")
    odd = ["with space.py", "ünïcödé.py", "new\nline.py", "quote'name.py"]
    for name in odd:
        (tmp_path / name).write_text("y = 2\n")
    bad = os.fsencode(str(tmp_path)) + b"/bad\xff.py"
    with open(bad, "wb") as handle:
        handle.write(b"z = 3\n")
    indexed, skipped = _scan(tmp_path)
    assert indexed == {"real.py", *odd}
    assert skipped["loop"] == skipped["dirloop"] == skipped["alias.py"] == "symlink"
    assert skipped["pipe.py"] == "not_regular"
    assert "bad_name" in skipped.values()


def test_classify_agrees_with_walk(tmp_path: Path) -> None:
    _tree(tmp_path, {".gitignore": "out/\n", "out/a.py": "1\n", "src/b.py": "2\n", ".env": "x\n"})
    rules = IgnoreRules(tmp_path)
    assert isinstance(classify(tmp_path, "src/b.py", rules), FileEntry)
    assert classify(tmp_path, "out/a.py", rules) == Skipped("out/a.py", "gitignored")
    assert classify(tmp_path, ".env", rules) == Skipped(".env", "secret")
    assert classify(tmp_path, "src/missing.py", rules) is None


def test_watch_dirs_skip_ignored_trees(tmp_path: Path) -> None:
    _tree(
        tmp_path,
        {
            ".gitignore": "generated/\n",
            "src/pkg/a.py": "1\n",
            "generated/deep/x.py": "1\n",
            "node_modules/a/b/c.js": "1\n",
        },
    )
    for i in range(50):
        (tmp_path / "node_modules" / f"dep{i}").mkdir()
    dirs = {p.relative_to(tmp_path).as_posix() for p in watch_dirs(tmp_path, IgnoreRules(tmp_path))}
    assert dirs == {".", "src", "src/pkg"}


TEST_LAYOUTS = {
    "test/index.js": "1\n",
    "tests/test_cli.py": "1\n",
    "src/__tests__/button.js": "1\n",
    "spec/models/user_spec.rb": "1\n",
    "lib/user_spec.rb": "1\n",
    "lib/user_test.rb": "1\n",
    "algo/score_test.go": "1\n",
    "algo/testdata/input.txt": "1\n",
    "web/app.test.js": "1\n",
    "web/app.test.tsx": "1\n",
    "web/app.spec.ts": "1\n",
    "web/app.spec.js": "1\n",
    "src/main/java/com/x/ParserTest.java": "1\n",
    "src/test/java/com/x/Helper.java": "1\n",
    "Core/ParserTests.cs": "1\n",
    "Core.Tests/Anything.cs": "1\n",
    "pkg/test_codec.py": "1\n",
    "pkg/codec_test.py": "1\n",
    "pkg/conftest.py": "1\n",
    "app/ShapeTest.kt": "1\n",
    "app/UserTest.php": "1\n",
    "native/parse_test.cc": "1\n",
}
REAL_CODE = {
    "src/main/java/com/x/Parser.java": "1\n",
    "Core/Parser.cs": "1\n",
    "lib/user.rb": "1\n",
    "algo/score.go": "1\n",
    "web/app.js": "1\n",
    "web/testing.ts": "1\n",
    "pkg/codec.py": "1\n",
    "pkg/contest.py": "1\n",
    "app/Shape.kt": "1\n",
    "native/parse.cc": "1\n",
    "docs/testing.md": "1\n",
}


def test_test_layouts_of_every_language_are_skipped_by_default(tmp_path: Path) -> None:
    # The codebase itself lives under a directory named `tests`: only relative paths count.
    root = tmp_path / "tests" / "project"
    _tree(root, {**TEST_LAYOUTS, **REAL_CODE})
    indexed, skipped = _scan(root)
    assert indexed == set(REAL_CODE)
    for rel in ["test/", "tests/", "src/__tests__/", "spec/", "algo/testdata/", "Core.Tests/"]:
        assert skipped[rel] == "test", rel
    for rel in ["lib/user_spec.rb", "algo/score_test.go", "web/app.test.tsx", "pkg/conftest.py"]:
        assert skipped[rel] == "test", rel
    assert classify(root, "web/app.spec.ts", IgnoreRules(root)) == Skipped(
        "web/app.spec.ts", "test"
    )
    dirs = {p.relative_to(root).as_posix() for p in watch_dirs(root, IgnoreRules(root))}
    assert "src/__tests__" not in dirs and "web" in dirs


def test_tests_can_be_included_by_setting_or_by_negated_pattern(tmp_path: Path) -> None:
    _tree(tmp_path, {**TEST_LAYOUTS, **REAL_CODE})
    everything = set(TEST_LAYOUTS) | set(REAL_CODE)
    rules = IgnoreRules(tmp_path, include_tests=True)
    indexed = {item.rel for item in walk(tmp_path, rules) if isinstance(item, FileEntry)}
    assert indexed == everything
    # The user's own patterns decide first: a negation re-includes what it names only.
    indexed, skipped = _scan(tmp_path, ("!tests/", "!*_test.go"))
    assert {"tests/test_cli.py", "algo/score_test.go"} <= indexed
    assert skipped["test/"] == "test"
    assert skipped["pkg/test_codec.py"] == "test"
