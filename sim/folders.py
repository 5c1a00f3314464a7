"""Results folders that are safe to write: ``<root>/<group>/<run-id>/``, checked before any work.

A run id and a group (the scenario's name, or ``compare``) are single path components, so nothing is
written, or deleted, outside the output root. A run writes into a hidden temporary folder
``.tmp-<run-id>-<pid>`` and renames it at the end; it deletes only what it created, refuses an existing
run folder unless asked to replace it (and then only a folder that holds a run's manifest.json), and
removes the temporary folders of earlier runs whose process is gone.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import re
import shutil
import signal
from dataclasses import dataclass
from pathlib import Path

from .errors import SimInputError

_COMPONENT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")
_OWNED = re.compile(r"^\.(tmp|old)-(.+)-(\d+)$")  # hidden folders of a run: kind, run id, process id


def check_component(name: object, source: object, field: str) -> str:
    """``name`` if it is one safe path component (letters, digits, ``.``, ``_``, ``-``; not starting with
    ``.``; at most 100 characters), else SimInputError naming ``source`` and ``field``."""
    if not isinstance(name, str) or not _COMPONENT.match(name):
        raise SimInputError(
            source, field, f"{name!r} is not a folder name (letters, digits, '.', '_', '-'; not starting with '.')"
        )
    return name


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError, ValueError):  # not ours to judge, or not a process id at all
        return True
    return True


def remove_stale(parent: Path) -> list[Path]:
    """Delete the hidden temporary folders under ``parent`` left by runs whose process is gone. A replaced
    run moved aside (``.old-<id>-<pid>``) whose replacement never arrived is renamed back, not deleted."""
    removed = []
    if not parent.is_dir():
        return removed
    for p in parent.iterdir():
        m = _OWNED.match(p.name)
        if not m or p.is_symlink() or not p.is_dir() or int(m.group(3)) == os.getpid() or _alive(int(m.group(3))):
            continue
        final = parent / m.group(2)
        if m.group(1) == "old" and not final.exists() and not final.is_symlink():
            p.rename(final)
            continue
        shutil.rmtree(p, ignore_errors=True)
        removed.append(p)
    return removed


@dataclass
class RunFolder:
    """Where a run will be written: ``root/group/run_id``. Build it with :func:`plan` before the run."""

    root: Path
    group: str
    run_id: str
    replace: bool = False
    auto_id: bool = False

    @property
    def parent(self) -> Path:
        return self.root / self.group

    @property
    def final(self) -> Path:
        return self.parent / self.run_id

    @contextlib.contextmanager
    def atomic(self):
        """Yield a new hidden temporary folder; on success rename it to ``final`` (moving aside and then
        deleting a replaced run), on any failure or signal delete it. Yields ``(tmp, final)``."""
        pid = os.getpid()
        tmp = self.parent / f".tmp-{self.run_id}-{pid}"
        try:
            self.parent.mkdir(parents=True, exist_ok=True)
            remove_stale(self.parent)
            tmp.mkdir()
        except OSError as e:
            raise SimInputError("command line", "--out", f"{self.parent} cannot be written ({e.strerror})") from None
        try:
            yield tmp, self.final
            self._publish(tmp, pid)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise

    def _publish(self, tmp: Path, pid: int) -> None:
        final = self.final
        if self.auto_id:  # a default id taken meanwhile (same second and seed): the next free suffix
            n = 2
            while final.exists():
                final = self.parent / f"{self.run_id}-{n}"
                n += 1
            self.run_id = final.name
        old = None
        if final.exists():
            if not self.replace:
                raise SimInputError("command line", "--run-id", f"{final} was created by another run meanwhile")
            _check_replaceable(final)
            old = self.parent / f".old-{self.run_id}-{pid}"
        mask = getattr(signal, "pthread_sigmask", lambda how, sigs: set())  # POSIX only
        blocked = mask(signal.SIG_BLOCK, {signal.SIGINT, signal.SIGTERM})  # the two renames happen together
        try:
            if old is not None:
                final.rename(old)
            tmp.rename(final)
        except OSError as e:  # another run published the same folder between the check and the rename
            if old is not None and old.exists() and not final.exists():
                old.rename(final)
            raise SimInputError("command line", "--run-id", f"{final} could not be written ({e.strerror})") from None
        finally:
            mask(signal.SIG_SETMASK, blocked)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)


def _check_replaceable(final: Path) -> None:
    if final.is_symlink() or not final.is_dir() or not (final / "manifest.json").is_file():
        raise SimInputError(
            "command line", "--replace", f"{final} is not a results folder (no manifest.json); it is left alone"
        )


def _check_root(root: Path) -> None:
    """The output root is a folder (or can be made) that this process may write into."""
    probe = root
    while not probe.exists():
        if probe.parent == probe:
            break
        probe = probe.parent
    if probe.exists() and not probe.is_dir():
        raise SimInputError("command line", "--out", f"{probe} is not a folder")
    if not os.access(probe, os.W_OK | os.X_OK):
        raise SimInputError("command line", "--out", f"{probe} is not writable")


def plan(root: str | Path, group: str, run_id: str | None, seed: int, replace: bool = False) -> RunFolder:
    """Check everything about the output location before the simulation: the root is writable, the
    group and run id are safe names, and the run folder is new (or ``replace`` names an earlier run)."""
    root = Path(root)
    _check_root(root)
    check_component(group, "command line", "run.name")
    auto = run_id is None
    if auto:
        run_id = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ") + f"-s{seed}"
    check_component(run_id, "command line", "--run-id")
    folder = RunFolder(root, group, run_id, replace, auto)
    if folder.final.exists() or folder.final.is_symlink():
        if auto:
            n = 2
            while (folder.parent / f"{run_id}-{n}").exists():
                n += 1
            folder.run_id = f"{run_id}-{n}"
        elif not replace:
            raise SimInputError("command line", "--run-id", f"{folder.final} exists (give --replace to replace it)")
        else:
            _check_replaceable(folder.final)
    if folder.parent.is_symlink() and not folder.parent.exists():
        raise SimInputError("command line", "--out", f"{folder.parent} is a broken link")
    if folder.parent.exists() and (not folder.parent.is_dir() or not os.access(folder.parent, os.W_OK | os.X_OK)):
        raise SimInputError("command line", "--out", f"{folder.parent} is not a writable folder")
    return folder
