"""Atomic writes of files and whole output folders: a reader (or the next run) sees the old content or
the new one, never a mix, and an interrupted or failed write leaves no debris.

- :func:`atomic_write_bytes` / :func:`atomic_write_text`: the data go to a hidden temporary file in the
  target's folder (created with the mode a plain ``open`` would give, or the replaced file's own mode), are
  flushed and fsynced, then moved over the target with :func:`os.replace` (atomic on POSIX and Windows).
- :func:`replace_dir`: a context manager yielding a hidden temporary folder beside the target
  (``.<name>.tmp-<random>``, same parent, so the renames stay on one file system); when the block ends
  normally the old folder is renamed away, the new one renamed in and the old one deleted; when the block
  raises (KeyboardInterrupt included) the temporary folder is removed and the old folder is untouched.
- :func:`check_output_dir`: the checks :func:`replace_dir` makes, for callers that want them before hours of
  fitting (an existing *file* at the target, a file in the way, a folder that is not writable).

What it does not cover: power loss (files inside a swapped folder are not fsynced one by one), a
``kill -9`` during the block (the hidden temporary folder stays until removed by hand) and two processes
writing the same target at once (the last swap wins).
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import stat
from collections.abc import Iterator
from pathlib import Path

from wq.errors import ConfigError

__all__ = ["atomic_write_bytes", "atomic_write_text", "check_output_dir", "replace_dir"]


def _fsync_dir(folder: Path) -> None:
    """Make a rename durable (best effort: not every platform can open a folder)."""
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _new_name(folder: Path, prefix: str, suffix: str = "") -> Path:
    return folder / f"{prefix}{secrets.token_hex(6)}{suffix}"


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically (temporary file in the same folder, fsync, :func:`os.replace`).

    The folder is created when missing. An existing file keeps its permission bits; a new one gets those a
    plain ``open`` would give (0o666 less the umask). On any failure the temporary file is removed and
    ``path`` is unchanged.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    mode = stat.S_IMODE(path.stat().st_mode) if path.is_file() else None
    while True:
        tmp = _new_name(path.parent, f".{path.name}.", ".tmp")
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
            break
        except FileExistsError:  # pragma: no cover - 48 random bits
            continue
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        if mode is not None:
            os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    _fsync_dir(path.parent)
    return path


def atomic_write_text(path: str | os.PathLike, text: str, encoding: str = "utf-8") -> Path:
    """:func:`atomic_write_bytes` of ``text`` encoded with ``encoding``."""
    return atomic_write_bytes(path, text.encode(encoding))


def check_output_dir(path: str | os.PathLike, what: str = "output folder") -> Path:
    """Check that ``path`` can become (or be replaced as) a folder; return it (a symbolic link resolved).

    ConfigError, naming ``what`` and the path, when ``path`` is an existing file, when an existing part of
    its parent path is a file, or when the nearest existing parent folder is not writable.
    """
    path = Path(path)
    if path.is_symlink():
        path = path.resolve()
    if path.exists() and not path.is_dir():
        raise ConfigError(f"{what} {path} is an existing file, not a folder: give a folder (it is replaced as a "
                          f"whole) or a new name")
    parent = path.parent
    while not parent.exists() and parent != parent.parent:
        parent = parent.parent
    if not parent.is_dir():
        raise ConfigError(f"{what} {path}: {parent} is a file, so the folder cannot be made")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise ConfigError(f"{what} {path}: folder {parent} is not writable")
    return path


@contextlib.contextmanager
def replace_dir(target: str | os.PathLike, what: str = "output folder") -> Iterator[Path]:
    """Yield a new hidden folder beside ``target``; swap it in for ``target`` when the block succeeds.

    On success: old ``target`` (if any) renamed to ``.<name>.old-<random>``, the new folder renamed to
    ``target``, the old one deleted. On any exception in the block or in the swap: the new folder is deleted,
    ``target`` is left as it was, and the exception propagates. Checks of :func:`check_output_dir` first.
    """
    target = check_output_dir(target, what)
    parent = target.parent
    parent.mkdir(parents=True, exist_ok=True)
    while True:
        tmp = _new_name(parent, f".{target.name}.tmp-")
        try:
            tmp.mkdir()  # mode 0o777 less the umask, like any folder the user makes
            break
        except FileExistsError:  # pragma: no cover - 48 random bits
            continue
    try:
        yield tmp
        _swap(tmp, target)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def _swap(new: Path, target: Path) -> None:
    old = None
    if target.exists():
        old = _new_name(target.parent, f".{target.name}.old-")
        os.rename(target, old)
    try:
        os.rename(new, target)
    except BaseException:
        if old is not None:
            os.rename(old, target)
        raise
    _fsync_dir(target.parent)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
