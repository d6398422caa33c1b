"""stancemap: map the arguments inside online discussions, locally and offline."""

import os as _os
import platform as _platform

__version__ = "0.1.0"

# The same vectors on every x86-64 machine: torch's own kernels (ATen), oneDNN and MKL each pick
# code for the CPU they find, and AVX-512 code sums in another order than AVX2 code, so the same
# text got other last bits on another machine, and every later stage other bytes. Capped at AVX2,
# which every x86-64 CPU since 2013 has, all of them run the same code (docs/embed.md, "On every
# machine"). Set before torch runs a kernel; a value already in the environment is kept.
if _platform.machine().lower() in ("x86_64", "amd64"):
    for _name, _value in (("ATEN_CPU_CAPABILITY", "avx2"), ("ONEDNN_MAX_CPU_ISA", "AVX2"), ("MKL_CBWR", "AVX2")):
        _os.environ.setdefault(_name, _value)


def kernels() -> str:
    """The torch kernels this process runs, as a cache id part: `avx2` where capped as above."""
    return _os.environ.get("ATEN_CPU_CAPABILITY", "native")
