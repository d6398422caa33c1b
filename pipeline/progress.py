"""Progress bars on a terminal, silence everywhere else (pipes, CI, DVC logs, --quiet)."""

from __future__ import annotations

import sys
from collections.abc import Iterable, Iterator
from typing import TypeVar

T = TypeVar("T")

_quiet = False


def set_quiet(quiet: bool) -> None:
    global _quiet
    _quiet = quiet


def enabled() -> bool:
    return not _quiet and sys.stderr.isatty()


def track(items: Iterable[T], total: int | None, description: str) -> Iterator[T]:
    if not enabled():
        yield from items
        return
    from rich.progress import track as rich_track

    yield from rich_track(items, total=total, description=description, transient=True)


def say(message: str) -> None:
    """A one-line status message on stderr, unless quiet."""
    if not _quiet:
        print(message, file=sys.stderr)
