"""The store's write lock: one process writes a store, and the lock file says which (pid and host).

The lock is an `flock` on `.superscale.lock`, released by the kernel when its process dies however it
dies. The file keeps the holder's pid and host after that, so a reader can tell a sweep that is running
from one whose process is gone (kill -9, a lost machine): `ls` shows the latter as
"interrupted (process gone)", without taking the lock (which would race with a writer starting).
"""

from __future__ import annotations

import fcntl
import os
import socket
from pathlib import Path
from typing import Any

from superscale.store import schema

__all__ = ["StoreBusyError", "acquire_lock", "lock_holder", "release_lock", "writer_gone"]


class StoreBusyError(FileExistsError):
    """Another process holds the store's lock."""


def _host() -> str:
    return socket.gethostname() or "localhost"


def lock_holder(path: Path) -> tuple[int, str] | None:
    """(pid, host) recorded in the store's lock file, None when there is none or it says nothing usable
    (files written before the host was recorded give this host)."""
    try:
        words = (Path(path) / schema.LOCK_FILE).read_text(encoding="utf-8", errors="replace").split()
    except OSError:
        return None
    if not words or not words[0].isdigit():
        return None
    return int(words[0]), words[1] if len(words) > 1 else _host()


def writer_gone(path: Path) -> bool:
    """True when the lock file names a process of this host that no longer exists."""
    holder = lock_holder(path)
    if holder is None or holder[1] != _host():
        return False  # another machine's process (a shared disk) cannot be checked from here
    try:
        os.kill(holder[0], 0)
    except ProcessLookupError:
        return True
    except PermissionError:  # it exists, owned by someone else
        return False
    return False


def acquire_lock(path: Path) -> Any:
    """Take the store's write lock and record this pid and host; StoreBusyError if another process holds
    it."""
    fh = open(Path(path) / schema.LOCK_FILE, "a+")  # noqa: SIM115 (held until release_lock)
    try:
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        fh.seek(0)
        words = fh.read().split()
        fh.close()
        holder = f"pid {words[0]}" + (f" on {words[1]}" if len(words) > 1 else "") if words else "unknown"
        raise StoreBusyError(
            f"store {str(path)!r} is being written by another process ({holder}); "
            "wait for it to finish or stop it"
        ) from None
    fh.seek(0)
    fh.truncate()
    fh.write(f"{os.getpid()} {_host()}\n")
    fh.flush()
    return fh


def release_lock(fh: Any) -> None:
    """Give the lock back (the file stays: deleting it would race with a waiting writer)."""
    fcntl.flock(fh.fileno(), fcntl.LOCK_UN)
    fh.close()
