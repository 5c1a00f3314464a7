"""numba's on-disk cache, keyed on the content of every kernel module.

numba checks a cached kernel against the time stamp of its own source file only, but a kernel compiles in
the constants of layout.py and the functions of the other modules it calls: an edit there would leave
stale machine code in the cache. ``keyed`` makes a cache entry valid only for the exact content of every
numba module of sim/kernel (and any extra files given), so editing any of them recompiles every kernel
that uses the cache, wherever numba keeps it (``__pycache__`` or ``NUMBA_CACHE_DIR``). A stale index is
rewritten in place and its data files reused, so the cache does not grow with edits.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from numba.core.caching import FunctionCache, IndexDataCacheFile

KERNEL_DIR = Path(__file__).resolve().parent
NOT_COMPILED = ("reference.py",)  # the pure-Python oracle: never compiled, so not part of the key


def kernel_modules(extra: tuple[Path, ...] = ()) -> list[Path]:
    """The files a cached kernel depends on: every numba module of sim/kernel, then ``extra``."""
    return [p for p in sorted(KERNEL_DIR.glob("*.py")) if p.name not in NOT_COMPILED] + [Path(p) for p in extra]


def digest(extra: tuple[Path, ...] = ()) -> str:
    """sha256 over the names and contents of ``kernel_modules(extra)``."""
    h = hashlib.sha256()
    for p in kernel_modules(extra):
        h.update(p.name.encode() + b"\0" + p.read_bytes() + b"\0")
    return h.hexdigest()


class _KeyedCache(FunctionCache):
    """numba's per-function cache, fresh only for one digest of the kernel modules (numba's own freshness
    stamp is the time stamp and size of the function's file)."""

    def __init__(self, py_func, stamp: str):
        super().__init__(py_func)
        self._cache_file = IndexDataCacheFile(self._cache_path, self._impl.filename_base, ("sim.kernel", stamp))


def keyed(dispatcher, *extra: Path):
    """Key the on-disk cache of ``dispatcher`` (an ``njit(cache=True)`` function) on the content of the
    kernel modules and ``extra`` files. Returns it; a no-op for a function that does not cache (or when
    ``NUMBA_DISABLE_JIT=1`` makes it plain Python)."""
    if isinstance(getattr(dispatcher, "_cache", None), FunctionCache):
        dispatcher._cache = _KeyedCache(dispatcher.py_func, digest(tuple(extra)))
    return dispatcher
