"""Files customers upload with their orders (invoices, photos)."""

from __future__ import annotations

import os

UPLOAD_DIR = "/var/lib/shopkeeper/uploads"
MAX_UPLOAD_BYTES = 5 * 1024 * 1024


def read_upload(filename: str) -> bytes:
    path = os.path.join(UPLOAD_DIR, filename)
    with open(path, "rb") as handle:
        return handle.read()


def store_upload(filename: str, data: bytes) -> str:
    if len(data) > MAX_UPLOAD_BYTES:
        raise ValueError("upload too large")
    safe_name = os.path.basename(filename)
    path = os.path.join(UPLOAD_DIR, safe_name)
    with open(path, "wb") as handle:
        handle.write(data)
    return path
