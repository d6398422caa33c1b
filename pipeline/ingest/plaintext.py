"""Plain-text dumps of a discussion page: one comment (or paragraph) per line.

A line starting with `>` quotes someone; consecutive quote lines belong to the comment on the
next non-quote line, which replies to them. Blank lines are skipped. There are no authors,
times or reply links in this format: every comment is top level in a thread named after the file.
"""

from __future__ import annotations

from pathlib import Path

from pipeline.ingest.base import Comment, quote_spans


class PlainTextReader:
    name = "text"
    suffixes = (".txt",)

    def sniff(self, path: Path, head: str) -> bool:
        stripped = head.lstrip()
        return bool(stripped) and not stripped.startswith(("{", "["))

    def read(self, path: Path, text: str) -> list[Comment]:
        thread = path.stem
        comments: list[Comment] = []
        pending: list[str] = []  # quote lines waiting for the reply they belong to
        pending_line = 0

        def emit(lines: list[str], first_line: int) -> None:
            body = "\n".join(lines)
            comments.append(
                Comment(
                    comment_id=f"{self.name}:{thread}:{first_line}",
                    thread_id=thread,
                    text=body,
                    source=self.name,
                    source_file=str(path),
                    source_line=first_line,
                    quotes=quote_spans(body),
                )
            )

        for number, raw in enumerate(text.splitlines(), start=1):
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
        return comments
