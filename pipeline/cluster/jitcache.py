"""numba's compiled code for UMAP and pynndescent, kept on disk between processes.

UMAP and pynndescent compile most of their numba functions without `cache=True`, so every process
that fits or places claims compiled them again: about 6 s for a fit on this machine (and 2 s for
UMAP's transform, which the stage no longer calls), which dominated a small rerun. `enable()`
turns numba's own on-disk cache on for every compiled function of those packages that has none,
before their first call; numba then writes the machine code beside the package (`__pycache__`)
or, where that is read-only, in its user cache folder, keyed by the function's source, the CPU
and numba's version, so a changed package or another machine compiles afresh. The code is the
same either way: cached or compiled, the same inputs give the same bytes
(tests/cluster/test_jitcache.py). `STANCEMAP_NUMBA_CACHE=0` turns it off.
"""

from __future__ import annotations

import os
import sys

PACKAGES = ("umap", "pynndescent")
_enabled: list[int] = []  # the count of functions, once done in this process


def enable() -> int:
    """Turn numba's disk cache on for UMAP's and pynndescent's functions (once a process); how
    many functions it turned on (0 when already done or turned off)."""
    if _enabled or os.environ.get("STANCEMAP_NUMBA_CACHE", "1") == "0":
        return 0
    import umap  # noqa: F401  (imports its modules and pynndescent's)
    from numba.core.caching import NullCache
    from numba.core.registry import CPUDispatcher

    count = 0
    for name, module in list(sys.modules.items()):
        if name.split(".")[0] not in PACKAGES or module is None:
            continue
        for value in list(vars(module).values()):
            if isinstance(value, CPUDispatcher) and isinstance(value._cache, NullCache):
                value.enable_caching()
                count += 1
    _enabled.append(count)
    return count
