"""Files only their owner may read: the data folder (0700), and in it or wherever the operator
points, the database with its WAL and shared-memory files, the key file, the letter exports and
the files the terminal chat keeps (0600).

Each mode is set explicitly, not left to the umask: a file or folder is created with its mode and
then set to it again (``os.open``'s and ``mkdir``'s modes are cut by the umask, never widened).
"""

from __future__ import annotations

import os
from pathlib import Path

#: a file only its owner reads and writes
PRIVATE_FILE = 0o600
#: a folder only its owner opens
PRIVATE_FOLDER = 0o700


def private_folder(path: Path) -> Path:
    """Make ``path`` (and any missing parents) a folder; the ones made here are 0700. A folder
    that already exists keeps its mode: it may be one the operator chose and shares on purpose."""
    path = Path(path)
    missing = []
    for folder in (path, *path.parents):
        if folder.exists():
            break
        missing.append(folder)
    for folder in reversed(missing):
        try:
            folder.mkdir(mode=PRIVATE_FOLDER)
        except FileExistsError:
            continue  # made meanwhile by another process
        os.chmod(folder, PRIVATE_FOLDER)
    return path


def private_file(path: Path) -> Path:
    """Make sure ``path`` exists and is 0600 (created empty if missing, in a 0700 folder if that
    is missing too); its content is left as it is."""
    path = Path(path)
    if path.exists():
        try:
            os.chmod(path, PRIVATE_FILE)
        except PermissionError:
            pass  # another user's file, opened read-only: its owner decides its mode
        return path
    private_folder(path.parent)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT, PRIVATE_FILE)
    try:
        os.fchmod(fd, PRIVATE_FILE)
    finally:
        os.close(fd)
    return path


def write_private(path: Path, data: bytes | str) -> Path:
    """Write ``data`` (text as UTF-8) to ``path``, replacing its content, as a 0600 file; an
    existing file of another mode is set to 0600 before anything is written into it."""
    path = Path(path)
    private_folder(path.parent)
    payload = data.encode("utf-8") if isinstance(data, str) else data
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, PRIVATE_FILE)
    try:
        os.fchmod(fd, PRIVATE_FILE)
        with os.fdopen(fd, "wb", closefd=False) as fh:
            fh.write(payload)
    finally:
        os.close(fd)
    return path


def make_private(path: Path) -> None:
    """Set an existing file to 0600 (nothing when it isn't there, or isn't this user's)."""
    try:
        os.chmod(path, PRIVATE_FILE)
    except (FileNotFoundError, PermissionError):
        pass
