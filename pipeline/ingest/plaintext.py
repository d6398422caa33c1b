"""Plain-text dumps of a discussion page: one comment (or paragraph) per line.

A line starting with `>` quotes someone; consecutive quote lines belong to the comment on the
next non-quote line, which replies to them. Blank lines are skipped. There are no authors,
times or reply links in this format: every comment is top level in a thread named after the file.
"""

from __future__ import annotations

from pathlib import Path

from stancemap.ingest.base import Comment, Context, Parsed, decode, thread_name


class PlainTextReader:
    name = "text"
    suffixes = (".txt", ".text")

    def sniff(self, path: Path, head: bytes) -> bool:
        stripped = head.lstrip()
        return bool(stripped) and not stripped.startswith((b"{", b"[", b"PAR1"))

    def read(self, path: Path, data: bytes, ctx: Context) -> Parsed:
        thread = thread_name(path)
        comments: list[Comment] = []
        pending: list[str] = []  # quote lines waiting for the reply they belong to
        pending_line = 0

        def emit(lines: list[str], first_line: int) -> None:
            comments.append(
                Comment(
                    comment_id=f"{self.name}:{thread}:{first_line}",
                    thread_id=thread,
                    text="\n".join(lines),
                    source=self.name,
                    source_file=str(path),
                    source_line=first_line,
                )
            )

        for number, raw in enumerate(decode(path, data).splitlines(), start=1):
            line = raw.rstrip()
            if not line.strip():
                continue
            if line.lstrip().startswith(">"):
                if not pending:
                    pending_line = number
                pending.append(line)
                continue
            if pending:
                emit([*pending, line], pending_line)
                pending = []
            else:
                emit([line], number)
        if pending:
            emit(pending, pending_line)
        return Parsed(comments)
