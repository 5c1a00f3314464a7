"""Finished blocks on disk, so an interrupted execution resumes (``--resume``) where it stopped.

The store is a hidden folder beside the results folder it will become, ``<root>/<group>/.blocks-<run-id>/``:
``job.json`` (the job's fingerprint: what it runs and the sim version) and one ``<task>.npz`` per finished
task, each written to a temporary name and renamed, so a file that exists is complete. A store whose
fingerprint differs from the job's is refused on resume (it holds another job's numbers). It is removed once
the results folder is written."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from pathlib import Path

import numpy as np

from ..errors import SimInputError
from .tasks import Arrays, Task


def fingerprint(job: dict) -> str:
    """sha256 of the job's description (JSON, sorted keys; arrays by their bytes)."""

    def default(x):
        if isinstance(x, np.ndarray):
            return hashlib.sha256(np.ascontiguousarray(x).tobytes()).hexdigest() + str(x.dtype) + str(x.shape)
        return str(x)

    return hashlib.sha256(json.dumps(job, sort_keys=True, default=default).encode()).hexdigest()


class BlockStore:
    """The finished tasks of one job under ``path``."""

    def __init__(self, path: Path, job: dict, resume: bool):
        self.path = Path(path)
        self.key = fingerprint(job)
        marker = self.path / "job.json"
        if self.path.exists() and resume:
            try:
                old = json.loads(marker.read_text())["fingerprint"]
            except (OSError, ValueError, KeyError):
                old = None
            if old != self.key:
                raise SimInputError(
                    "command line", "--resume", f"{self.path} holds the blocks of another job (or of another version)"
                )
        else:
            if resume:
                raise SimInputError("command line", "--resume", f"nothing to resume: {self.path} does not exist")
            shutil.rmtree(self.path, ignore_errors=True)
            self.path.mkdir(parents=True)
            marker.write_text(json.dumps({"fingerprint": self.key, "job": job}, sort_keys=True, default=str))

    @staticmethod
    def saved_job(path: Path) -> dict | None:
        """The job whose blocks the store at ``path`` holds, or None."""
        try:
            return json.loads((Path(path) / "job.json").read_text())["job"]
        except (OSError, ValueError, KeyError):
            return None

    def _file(self, task: Task) -> Path:
        return self.path / f"{task.name}.npz"

    def done(self, task: Task) -> bool:
        return self._file(task).exists()

    def save(self, task: Task, arrays: Arrays) -> None:
        tmp = self.path / f".{task.name}.{os.getpid()}.npz"
        np.savez(tmp, **arrays)
        tmp.replace(self._file(task))

    def load(self, task: Task) -> Arrays:
        with np.load(self._file(task)) as z:
            return {k: z[k] for k in z.files}

    def remove(self) -> None:
        shutil.rmtree(self.path, ignore_errors=True)
