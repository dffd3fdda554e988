"""Checks a GGUF model file before llama.cpp sees it, so a bad file is one clear error.

llama.cpp's own failure for a missing, foreign or cut-short file is a generic
"failed to load model" (and, with `verbose=False`, its reason goes to /dev/null). Reading the
header here lets us name the problem: not there, a directory, unreadable, empty, not GGUF,
an unsupported version, or shorter than its own tensor table says it must be. The header
also tells us what we need before loading: the chat template and the trained context size.
"""

from __future__ import annotations

import mmap
import os
import struct
from dataclasses import dataclass, field
from pathlib import Path

from codedreamer.errors import ModelLoadError

GGUF_MAGIC = b"GGUF"
SUPPORTED_VERSIONS = (2, 3)
DEFAULT_ALIGNMENT = 32

# Sanity bounds: a real file has a few hundred tensors and a few dozen keys; numbers far
# beyond these mean we are reading garbage, not a model.
_MAX_TENSORS = 1 << 20
_MAX_KEYS = 1 << 20
_MAX_DIMS = 4

# GGUF metadata value types (gguf.h, enum gguf_type).
_SCALAR_FORMATS: dict[int, str] = {
    0: "<B",  # uint8
    1: "<b",  # int8
    2: "<H",  # uint16
    3: "<h",  # int16
    4: "<I",  # uint32
    5: "<i",  # int32
    6: "<f",  # float32
    7: "<?",  # bool
    10: "<Q",  # uint64
    11: "<q",  # int64
    12: "<d",  # float64
}
_TYPE_STRING = 8
_TYPE_ARRAY = 9

# ggml tensor types: (elements per block, bytes per block), from ggml.c type_traits.
# Types not listed (newer or rare quantisations) only get the weaker "data starts inside
# the file" check.
GGML_TYPE_SIZES: dict[int, tuple[int, int]] = {
    0: (1, 4),  # F32
    1: (1, 2),  # F16
    2: (32, 18),  # Q4_0
    3: (32, 20),  # Q4_1
    6: (32, 22),  # Q5_0
    7: (32, 24),  # Q5_1
    8: (32, 34),  # Q8_0
    9: (32, 36),  # Q8_1
    10: (256, 84),  # Q2_K
    11: (256, 110),  # Q3_K
    12: (256, 144),  # Q4_K
    13: (256, 176),  # Q5_K
    14: (256, 210),  # Q6_K
    15: (256, 292),  # Q8_K
    16: (256, 66),  # IQ2_XXS
    17: (256, 74),  # IQ2_XS
    18: (256, 98),  # IQ3_XXS
    19: (256, 50),  # IQ1_S
    20: (32, 18),  # IQ4_NL
    21: (256, 110),  # IQ3_S
    22: (256, 82),  # IQ2_S
    23: (256, 136),  # IQ4_XS
    24: (1, 1),  # I8
    25: (1, 2),  # I16
    26: (1, 4),  # I32
    27: (1, 8),  # I64
    28: (1, 8),  # F64
    29: (256, 56),  # IQ1_M
    30: (1, 2),  # BF16
    34: (256, 54),  # TQ1_0
    35: (256, 66),  # TQ2_0
    39: (32, 17),  # MXFP4
}


@dataclass(frozen=True)
class GGUFInfo:
    """What the header of a GGUF file says, as far as CodeDreamer needs it."""

    path: Path
    version: int
    tensor_count: int
    file_size: int
    data_offset: int
    # None when a tensor uses a type we cannot size; then only data_offset was checked.
    expected_size: int | None
    # Scalar and string metadata only; arrays are recorded by length under `array_lengths`.
    metadata: dict[str, object] = field(repr=False)
    array_lengths: dict[str, int] = field(repr=False)

    @property
    def architecture(self) -> str | None:
        value = self.metadata.get("general.architecture")
        return value if isinstance(value, str) else None

    @property
    def context_length(self) -> int | None:
        """The context size the model was trained with (`<arch>.context_length`)."""
        arch = self.architecture
        value = self.metadata.get(f"{arch}.context_length") if arch else None
        return value if isinstance(value, int) and value > 0 else None

    @property
    def chat_template(self) -> str | None:
        value = self.metadata.get("tokenizer.chat_template")
        return value if isinstance(value, str) and value.strip() else None

    @property
    def model_name(self) -> str | None:
        value = self.metadata.get("general.name")
        return value if isinstance(value, str) else None


class _Corrupt(Exception):
    """The header cannot be parsed; the message says where it went wrong."""


def show_path(path: Path) -> str:
    """The path as text that stays on one line even if the name has control characters."""
    text = str(path)
    return text if text.isprintable() else ascii(text)


def _fail(env_var: str, path: Path, problem: str) -> ModelLoadError:
    return ModelLoadError(f"{env_var}: {show_path(path)}: {problem}")


class _Reader:
    """Bounds-checked little-endian reads over a memory map of the file."""

    def __init__(self, buffer: mmap.mmap) -> None:
        self.buffer = buffer
        self.size = len(buffer)
        self.offset = 0

    def unpack(self, fmt: str) -> object:
        width = struct.calcsize(fmt)
        if self.offset + width > self.size:
            raise _Corrupt(f"header ends early at byte {self.offset}")
        (value,) = struct.unpack_from(fmt, self.buffer, self.offset)
        self.offset += width
        return value

    def _integer(self, fmt: str) -> int:
        width = struct.calcsize(fmt)
        if self.offset + width > self.size:
            raise _Corrupt(f"header ends early at byte {self.offset}")
        value: int = struct.unpack_from(fmt, self.buffer, self.offset)[0]
        self.offset += width
        return value

    def u32(self) -> int:
        return self._integer("<I")

    def u64(self) -> int:
        return self._integer("<Q")

    def string(self) -> str:
        length = self.u64()
        if self.offset + length > self.size:
            raise _Corrupt(f"string of {length} bytes runs past the end at byte {self.offset}")
        raw = self.buffer[self.offset : self.offset + length]
        self.offset += length
        return raw.decode("utf-8", errors="replace")

    def skip_string(self) -> None:
        length = self.u64()
        if self.offset + length > self.size:
            raise _Corrupt(f"string of {length} bytes runs past the end at byte {self.offset}")
        self.offset += length

    def value(self, kind: int) -> object:
        if kind in _SCALAR_FORMATS:
            return self.unpack(_SCALAR_FORMATS[kind])
        if kind == _TYPE_STRING:
            return self.string()
        raise _Corrupt(f"unknown metadata type {kind} at byte {self.offset}")

    def skip_array(self) -> int:
        kind = self.u32()
        count = self.u64()
        if kind in _SCALAR_FORMATS:
            width = struct.calcsize(_SCALAR_FORMATS[kind])
            if self.offset + width * count > self.size:
                raise _Corrupt(f"array of {count} values runs past the end")
            self.offset += width * count
        elif kind == _TYPE_STRING:
            if count > self.size:
                raise _Corrupt(f"array of {count} strings cannot fit in the file")
            for _ in range(count):
                self.skip_string()
        elif kind == _TYPE_ARRAY:
            if count > self.size:
                raise _Corrupt(f"array of {count} arrays cannot fit in the file")
            for _ in range(count):
                self.skip_array()
        else:
            raise _Corrupt(f"unknown array element type {kind}")
        return count


def _tensor_bytes(kind: int, dims: list[int]) -> int | None:
    sizes = GGML_TYPE_SIZES.get(kind)
    if sizes is None:
        return None
    block_elements, block_bytes = sizes
    elements = 1
    for dim in dims:
        elements *= dim
    # Rows are whole blocks; the first dimension is a multiple of the block size.
    return (elements // block_elements) * block_bytes


def _parse(buffer: mmap.mmap, path: Path) -> GGUFInfo:
    reader = _Reader(buffer)
    reader.offset = len(GGUF_MAGIC)
    version = reader.u32()
    if version not in SUPPORTED_VERSIONS:
        raise _Corrupt(f"unsupported GGUF version {version}")
    tensor_count = reader.u64()
    kv_count = reader.u64()
    if tensor_count > _MAX_TENSORS or kv_count > _MAX_KEYS:
        raise _Corrupt(f"implausible header ({tensor_count} tensors, {kv_count} keys)")

    metadata: dict[str, object] = {}
    array_lengths: dict[str, int] = {}
    for _ in range(kv_count):
        key = reader.string()
        kind = reader.u32()
        if kind == _TYPE_ARRAY:
            array_lengths[key] = reader.skip_array()
        else:
            metadata[key] = reader.value(kind)

    tensor_end = 0
    sizable = True
    for _ in range(tensor_count):
        reader.skip_string()
        n_dims = reader.u32()
        if n_dims == 0 or n_dims > _MAX_DIMS:
            raise _Corrupt(f"tensor with {n_dims} dimensions")
        dims = [reader.u64() for _ in range(n_dims)]
        kind = reader.u32()
        offset = reader.u64()
        size = _tensor_bytes(kind, dims)
        if size is None:
            sizable = False
            size = 0
        tensor_end = max(tensor_end, offset + size)

    alignment = metadata.get("general.alignment", DEFAULT_ALIGNMENT)
    if not isinstance(alignment, int) or alignment <= 0:
        alignment = DEFAULT_ALIGNMENT
    data_offset = -(-reader.offset // alignment) * alignment
    expected = data_offset + tensor_end
    return GGUFInfo(
        path=path,
        version=version,
        tensor_count=tensor_count,
        file_size=reader.size,
        data_offset=data_offset,
        expected_size=expected if sizable else None,
        metadata=metadata,
        array_lengths=array_lengths,
    )


def read_gguf_info(path: Path, env_var: str) -> GGUFInfo:
    """Parse the header of the GGUF file at `path`; ModelLoadError names `env_var` and `path`."""
    if not path.exists():
        raise _fail(env_var, path, "model file does not exist")
    if path.is_dir():
        raise _fail(env_var, path, "is a directory, not a GGUF model file")
    try:
        handle = path.open("rb")
    except PermissionError:
        raise _fail(env_var, path, "model file is not readable (permission denied)") from None
    except OSError as exc:
        raise _fail(env_var, path, f"cannot open model file ({exc.strerror})") from None
    with handle:
        size = os.fstat(handle.fileno()).st_size
        if size == 0:
            raise _fail(env_var, path, "model file is empty")
        magic = handle.read(4)
        if magic != GGUF_MAGIC:
            raise _fail(env_var, path, "not a GGUF model file (bad magic bytes)")
        try:
            buffer = mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ)
        except (OSError, ValueError) as exc:
            raise _fail(env_var, path, f"cannot read model file ({exc})") from None
        try:
            info = _parse(buffer, path)
        except _Corrupt as exc:
            raise _fail(env_var, path, f"corrupt or truncated GGUF file: {exc}") from None
        finally:
            buffer.close()
    if info.data_offset > info.file_size:
        raise _fail(
            env_var,
            path,
            f"truncated GGUF file: tensor data should start at byte {info.data_offset}, "
            f"file has {info.file_size} bytes",
        )
    if info.expected_size is not None and info.file_size < info.expected_size:
        raise _fail(
            env_var,
            path,
            f"truncated GGUF file: {info.file_size} bytes, its tensor table needs "
            f"{info.expected_size}",
        )
    return info


def check_model_file(path: Path, env_var: str) -> None:
    """Raise ModelLoadError (one line naming `env_var` and `path`) unless `path` looks loadable."""
    read_gguf_info(path, env_var)
