"""`reports/summary.md`: the positions overview as Markdown, to paste into a brief.

It is built from the same rows as the page's overview (overview.py), so its counts, calls and
quotes are the page's. Comment text is untrusted here too: a Markdown viewer renders inline HTML
and links, so every piece of text is flattened to one line, `&`, `<` and `>` become entities, and
Markdown's punctuation is escaped; a quote can neither run markup nor break the table.
"""

from __future__ import annotations

import re

_MARKDOWN = re.compile(r"([\\`*_\[\]|~])")  # where it sits, no other mark can start markup
_SPACE = re.compile(r"\s+")


def md(text: object, limit: int | None = None) -> str:
    """Untrusted text as inert, one-line Markdown (cut to `limit` characters first)."""
    flat = _SPACE.sub(" ", str(text or "")).strip()
    if limit is not None and len(flat) > limit:
        flat = flat[: limit - 1].rstrip() + "…"
    flat = flat.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return _MARKDOWN.sub(r"\\\1", flat)


def _sides_cell(row: dict) -> str:
    return " · ".join(f"{s['name']} {s['claims']} / {s['comments']} / {s['authors']}" for s in row["sides"])


def _quote_line(side: dict, titles: dict[str, str]) -> str:
    q = side["quote"]
    where = md(titles.get(q["thread"]) or q["thread"], 120)
    who = md(q["author"]) if q["author"] else "author not shown"
    counts = f"({side['claims']} claims, {side['authors']} authors)"
    return f"- **{md(side['name'])}** {counts}: “{md(q['text'], 400)}” — {who}, {where}"


def markdown(title: str, run_date: str, metrics: dict, themes: list[dict], note: str, threads: list[dict]) -> str:
    """The whole summary: counts, what sides mean, one table row per topic, then the quotes."""
    titles = {t["thread"]: t.get("title") or "" for t in threads}
    n_topics = sum(len(g["topics"]) for g in themes)
    lines = [
        f"# {md(title)}: positions",
        "",
        f"{metrics['claims']} claims from {metrics['comments']} comments in {metrics['threads']} thread(s): "
        f"{n_topics} topics in {len(themes)} themes. Made with stancemap on {run_date}.",
        "",
        md(note),
        "",
        "Contested or one-sided is judged by distinct authors on each side, smoothed as (a + 1) / (n + 2); "
        "sides are given as claims / comments / authors.",
        "",
        "| theme | topic | position | sides | call | new claims |",
        "|---|---|---|---|---|---|",
    ]
    for g in themes:
        for row in g["topics"]:
            lines.append(
                f"| {md(g['label'], 60)} | {row['topic']}: {md(row['label'], 60)} | {md(row['statement'], 200)} | "
                f"{md(_sides_cell(row))} | {md(row['call']['text'])} | {row['new']} |"
            )
    lines += ["", "## Quotes", ""]
    for g in themes:
        for row in g["topics"]:
            quoted = [s for s in row["sides"] if s.get("quote")]
            if not quoted:
                continue
            lines += [f"### Topic {row['topic']}: {md(row['statement'], 200)}", ""]
            lines += [_quote_line(s, titles) for s in quoted]
            lines.append("")
    return "\n".join(lines).rstrip() + "\n"
