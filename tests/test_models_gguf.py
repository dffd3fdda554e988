"""Model file checks: every bad file is one ModelLoadError line naming the variable and path."""

from __future__ import annotations

import os
import shutil
import struct
import tempfile
from pathlib import Path

import pytest

from codedreamer.errors import ModelLoadError
from codedreamer.models.bundled import bundled_model_path
from codedreamer.models.gguf import check_model_file, read_gguf_info

VAR = "DREAMER_MODEL_PATH"


def _string(text: str) -> bytes:
    raw = text.encode()
    return struct.pack("<Q", len(raw)) + raw


def write_gguf(
    path: Path,
    *,
    version: int = 3,
    metadata: dict[str, object] | None = None,
    tensors: list[tuple[str, list[int], int]] | None = None,
    cut_data: int = 0,
) -> int:
    """Write a small but well-formed GGUF; return the size a complete file has."""
    metadata = {"general.architecture": "llama", "llama.context_length": 2048, **(metadata or {})}
    tensors = tensors if tensors is not None else [("w", [64, 4], 0)]  # F32 64x4 = 1024 B
    body = b""
    for key, value in metadata.items():
        body += _string(key)
        if isinstance(value, str):
            body += struct.pack("<I", 8) + _string(value)
        elif isinstance(value, list):
            body += struct.pack("<I", 9) + struct.pack("<IQ", 8, len(value))
            body += b"".join(_string(str(v)) for v in value)
        else:
            body += struct.pack("<I", 4) + struct.pack("<I", int(str(value)))
    infos = b""
    offset = 0
    sizes = {0: 4, 1: 2}
    for name, dims, kind in tensors:
        infos += _string(name) + struct.pack("<I", len(dims))
        infos += b"".join(struct.pack("<Q", d) for d in dims)
        infos += struct.pack("<IQ", kind, offset)
        count = 1
        for d in dims:
            count *= d
        offset += count * sizes[kind]
        offset = -(-offset // 32) * 32
    header = b"GGUF" + struct.pack("<IQQ", version, len(tensors), len(metadata)) + body + infos
    padding = (-len(header)) % 32
    data = b"\0" * offset
    full = header + b"\0" * padding + data
    path.write_bytes(full[: len(full) - cut_data] if cut_data else full)
    return len(full)


def assert_one_line(error: pytest.ExceptionInfo[ModelLoadError], path: Path, var: str = VAR) -> str:
    message = str(error.value)
    assert "\n" not in message
    assert var in message
    assert str(path) in message
    assert error.value.exit_code == 2
    return message


def test_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "nope.gguf"
    with pytest.raises(ModelLoadError) as error:
        check_model_file(path, VAR)
    assert "does not exist" in assert_one_line(error, path)


def test_directory(tmp_path: Path) -> None:
    with pytest.raises(ModelLoadError) as error:
        check_model_file(tmp_path, VAR)
    assert "directory" in assert_one_line(error, tmp_path)


def test_empty_file(tmp_path: Path) -> None:
    path = tmp_path / "empty.gguf"
    path.touch()
    with pytest.raises(ModelLoadError) as error:
        check_model_file(path, VAR)
    assert "empty" in assert_one_line(error, path)


def test_text_file_renamed_gguf(tmp_path: Path) -> None:
    path = tmp_path / "notes.gguf"
    path.write_text("these are my notes, not a model\n")
    with pytest.raises(ModelLoadError) as error:
        check_model_file(path, "DREAMER_CODER_MODEL_PATH")
    assert "not a GGUF" in assert_one_line(error, path, "DREAMER_CODER_MODEL_PATH")


def test_tiny_file_shorter_than_magic(tmp_path: Path) -> None:
    path = tmp_path / "tiny.gguf"
    path.write_bytes(b"GG")
    with pytest.raises(ModelLoadError) as error:
        check_model_file(path, VAR)
    assert "not a GGUF" in assert_one_line(error, path)


def _check_as_nobody(path: Path) -> str:
    """Run the check in a forked child that dropped root, since root ignores permissions."""
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - child process
        status = 1
        try:
            os.close(read_end)
            os.setgid(65534)
            os.setuid(65534)
            try:
                check_model_file(path, VAR)
                message = "no error"
            except ModelLoadError as exc:
                message = str(exc)
            os.write(write_end, message.encode())
            status = 0
        finally:
            os._exit(status)
    os.close(write_end)
    with os.fdopen(read_end, "rb") as pipe:
        message = pipe.read().decode()
    _, status = os.waitpid(pid, 0)
    assert os.WEXITSTATUS(status) == 0, "child failed to run the check"
    return message


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork to drop privileges")
def test_unreadable_file() -> None:
    # pytest's tmp_path is private to root; the unprivileged child must reach the file.
    folder = Path(tempfile.mkdtemp(prefix="codedreamer-perm-"))
    try:
        folder.chmod(0o755)
        path = folder / "locked.gguf"
        write_gguf(path)
        path.chmod(0)
        if os.geteuid() == 0:
            message = _check_as_nobody(path)
        else:
            with pytest.raises(ModelLoadError) as error:
                check_model_file(path, VAR)
            message = str(error.value)
        assert "\n" not in message
        assert VAR in message and str(path) in message
        assert "not readable" in message
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def test_unsupported_version(tmp_path: Path) -> None:
    path = tmp_path / "v9.gguf"
    write_gguf(path, version=9)
    with pytest.raises(ModelLoadError) as error:
        check_model_file(path, VAR)
    assert "unsupported GGUF version 9" in assert_one_line(error, path)


def test_synthetic_file_reads_header(tmp_path: Path) -> None:
    path = tmp_path / "ok.gguf"
    size = write_gguf(
        path,
        metadata={
            "tokenizer.chat_template": "{{ messages }}",
            "general.name": "Toy",
            "tokenizer.ggml.tokens": ["a", "b", "c"],
        },
    )
    info = read_gguf_info(path, VAR)
    assert info.version == 3
    assert info.context_length == 2048
    assert info.chat_template == "{{ messages }}"
    assert info.model_name == "Toy"
    assert info.array_lengths["tokenizer.ggml.tokens"] == 3
    assert info.expected_size == size == info.file_size


def test_synthetic_file_missing_tensor_data(tmp_path: Path) -> None:
    path = tmp_path / "cut.gguf"
    write_gguf(path, cut_data=100)
    with pytest.raises(ModelLoadError) as error:
        check_model_file(path, VAR)
    assert "truncated" in assert_one_line(error, path)


def test_header_cut_short(tmp_path: Path) -> None:
    full = tmp_path / "full.gguf"
    write_gguf(full, metadata={"general.name": "x" * 200})
    cut = tmp_path / "cut.gguf"
    cut.write_bytes(full.read_bytes()[:120])
    with pytest.raises(ModelLoadError) as error:
        check_model_file(cut, VAR)
    assert "truncated" in assert_one_line(error, cut)


def test_garbage_after_magic(tmp_path: Path) -> None:
    path = tmp_path / "garbage.gguf"
    path.write_bytes(b"GGUF" + struct.pack("<IQQ", 3, 1 << 40, 1 << 40) + b"\xff" * 64)
    with pytest.raises(ModelLoadError) as error:
        check_model_file(path, VAR)
    assert "corrupt" in assert_one_line(error, path)


def test_control_characters_in_path_stay_on_one_line(tmp_path: Path) -> None:
    path = tmp_path / "bad\nname.gguf"
    with pytest.raises(ModelLoadError) as error:
        check_model_file(path, VAR)
    message = str(error.value)
    assert "\n" not in message
    assert "bad\\nname.gguf" in message


# --- the real bundled model -----------------------------------------------------------


def test_bundled_model_header() -> None:
    path = bundled_model_path()
    info = read_gguf_info(path, VAR)
    assert info.architecture == "llama"
    assert info.chat_template is not None and "im_start" in info.chat_template
    assert info.context_length is not None and info.context_length >= 2048
    # Every tensor type in this Q4_1 file is one we can size, so the length check is exact.
    assert info.expected_size is not None
    assert info.expected_size <= info.file_size


def test_truncated_copy_of_real_model(tmp_path: Path) -> None:
    source = bundled_model_path()
    size = source.stat().st_size
    cut = tmp_path / "SmolLM2-cut.gguf"
    with source.open("rb") as src, cut.open("wb") as dst:
        shutil.copyfileobj(src, dst, length=1 << 20)
        dst.truncate(size - 4096)
    with pytest.raises(ModelLoadError) as error:
        check_model_file(cut, VAR)
    assert "truncated" in assert_one_line(error, cut)


def test_real_model_cut_inside_header(tmp_path: Path) -> None:
    cut = tmp_path / "head.gguf"
    with bundled_model_path().open("rb") as src:
        cut.write_bytes(src.read(50_000))
    with pytest.raises(ModelLoadError) as error:
        check_model_file(cut, VAR)
    assert "truncated" in assert_one_line(error, cut)
