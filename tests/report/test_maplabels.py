"""Theme and topic labels on the stance map in a real browser (maplabels.js): the shown labels never
overlap, before or after a zoom or during a pan, and those that cannot find a free place are hidden."""

import polars as pl
import pytest

from stancemap.stages import Layout
from tests.report.helpers import open_report

pytestmark = pytest.mark.slow

# every theme and topic label on the map: its kind, box, text, data-placed and computed visibility
LABELS = """() => { const notes = document.getElementById('map').layout.annotations;
  return [...document.querySelectorAll('#map g.annotation')]
  .filter(g => /^(theme|topic)-label$/.test(notes[Number(g.dataset.index)].name))
  .map(g => { const r = g.getBoundingClientRect();
    return {index: Number(g.dataset.index), placed: g.getAttribute('data-placed'), text: g.textContent,
            kind: notes[Number(g.dataset.index)].name,
            visibility: getComputedStyle(g).visibility, transform: g.getAttribute('transform'),
            box: [r.left, r.top, r.right, r.bottom]}; }); }"""
PLOT_AREA = """() => { const r = document.querySelector('#map .nsewdrag').getBoundingClientRect();
  return [r.left, r.top, r.right, r.bottom]; }"""


def overlapping(labels):
    """The pairs of shown labels whose boxes overlap (strictly: touching edges do not count)."""
    shown = [lab["box"] + [lab["text"]] for lab in labels if lab["placed"] == "1"]
    return [
        (a[4], b[4])
        for i, a in enumerate(shown)
        for b in shown[i + 1 :]
        if a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]
    ]


def shown_labels(page):
    labels = page.evaluate(LABELS)
    assert all(lab["placed"] in ("0", "1") for lab in labels)  # every label was placed or hidden
    assert all((lab["visibility"] == "hidden") == (lab["placed"] == "0") for lab in labels)
    assert overlapping(labels) == []
    return labels


def is_topic_label(text, names):
    return text in names or (text.endswith("…") and any(n.startswith(text[:-1]) for n in names))


def zoom(page, fx, fy):
    """Zoom the map to the fractions fx, fy (pairs) of its current ranges; resolves after the redraw."""
    page.evaluate(
        """async ([fx, fy]) => { const m = document.getElementById('map');
        const [x0, x1] = m._fullLayout.xaxis.range, [y0, y1] = m._fullLayout.yaxis.range;
        await Plotly.relayout(m, {'xaxis.range': [x0 + fx[0] * (x1 - x0), x0 + fx[1] * (x1 - x0)],
                                  'yaxis.range': [y0 + fy[0] * (y1 - y0), y0 + fy[1] * (y1 - y0)]}); }""",
        [fx, fy],
    )


@pytest.fixture
def demo_page(browser, demo_run):
    page, problems, requests = open_report(browser, Layout(demo_run).report)
    page.wait_for_selector("#map g.annotation[data-placed]", state="attached")
    yield page, pl.read_parquet(Layout(demo_run).labels), problems + requests
    page.close()


def test_demo_labels_are_theme_and_topic_labels_and_never_overlap(demo_page):
    page, labels, problems = demo_page
    clustered = labels.filter(pl.col("topic") >= 0)
    names = set(clustered["topic_label"].to_list())
    per_theme = clustered.select("topic", "theme", "theme_label").unique().group_by("theme", "theme_label").len()
    theme_names = set(per_theme.filter(pl.col("len") >= 2)["theme_label"].to_list())
    assert theme_names  # the demo's 31 topics make 12 themes, some of several topics
    found = shown_labels(page)
    topic_labels = [lab for lab in found if lab["kind"] == "topic-label"]
    theme_labels = [lab for lab in found if lab["kind"] == "theme-label"]
    # one label per topic (unclustered has none), but none where a theme label already says it
    assert len(topic_labels) == min(len(names), 60) - len(names & theme_names)
    assert len(theme_labels) == len(theme_names)  # one per theme of two or more topics
    assert max(lab["index"] for lab in theme_labels) < min(lab["index"] for lab in topic_labels)  # themes first
    shown = [lab for lab in found if lab["placed"] == "1"]
    assert len(shown) >= 8
    assert all(is_topic_label(lab["text"], names) for lab in shown if lab["kind"] == "topic-label")
    assert all(is_topic_label(lab["text"], theme_names) for lab in shown if lab["kind"] == "theme-label")
    assert next(lab for lab in found if lab["index"] == 0)["placed"] == "1"  # the largest theme always shows
    left, top, right, bottom = page.evaluate(PLOT_AREA)
    for lab in shown:
        x0, y0, x1, y1 = lab["box"]
        assert left - 1 <= x0 and x1 <= right + 1 and top - 1 <= y0 and y1 <= bottom + 1  # inside the plot
    # zoomed in, labels off the plot are hidden and the rest are placed again without overlap
    zoom(page, (0.3, 0.6), (0.3, 0.6))
    after = shown_labels(page)
    assert 0 < sum(lab["placed"] == "1" for lab in after)
    zoom(page, (-0.5, 1.5), (-0.5, 1.5))  # and out again
    shown_labels(page)
    # during a pan Plotly redraws the labels without an afterplot: they are placed each frame
    left, top, right, bottom = page.evaluate(PLOT_AREA)
    page.mouse.move((left + right) / 2, (top + bottom) / 2)
    page.mouse.down()
    for step in range(1, 6):
        page.mouse.move((left + right) / 2 + 15 * step, (top + bottom) / 2 + 10 * step)
        page.evaluate("() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))")
        shown_labels(page)
    page.mouse.up()
    page.wait_for_timeout(200)
    shown_labels(page)
    assert problems == []


def test_a_hidden_topic_hides_its_label(demo_page):
    page, _, problems = demo_page
    page.evaluate(
        """async () => { const m = document.getElementById('map'), topic = m.layout.meta.topic_labels[0];
        const traces = m.data.map((t, i) => t.meta && t.meta.topic === topic ? i : -1).filter(i => i >= 0);
        await Plotly.restyle(m, {visible: 'legendonly'}, traces); }"""
    )
    first_topic = page.evaluate("document.getElementById('map').layout.meta.theme_labels.length")
    labels = shown_labels(page)
    assert next(lab for lab in labels if lab["index"] == first_topic)["placed"] == "0"
    page.evaluate("async () => { await Plotly.restyle('map', {visible: true}); }")
    labels = shown_labels(page)
    assert next(lab for lab in labels if lab["index"] == first_topic)["kind"] == "topic-label"
    # a whole theme hidden: its label goes too
    page.evaluate(
        """async () => { const m = document.getElementById('map'), theme = m.layout.meta.theme_labels[0];
        const traces = m.data.map((t, i) => t.meta && t.meta.theme === theme ? i : -1).filter(i => i >= 0);
        await Plotly.restyle(m, {visible: 'legendonly'}, traces); }"""
    )
    assert next(lab for lab in shown_labels(page) if lab["index"] == 0)["placed"] == "0"
    page.evaluate("async () => { await Plotly.restyle('map', {visible: true}); }")
    assert next(lab for lab in shown_labels(page) if lab["index"] == 0)["placed"] == "1"
    assert problems == []


def test_labels_forced_onto_one_point_are_hidden_rather_than_overlap(demo_page):
    page, _, problems = demo_page
    page.evaluate(
        """async () => { const m = document.getElementById('map'), update = {};
        const x = m._fullLayout.xaxis.range.reduce((a, b) => a + b) / 2;
        const y = m._fullLayout.yaxis.range.reduce((a, b) => a + b) / 2;
        m.layout.annotations.forEach((a, i) => {
          update['annotations[' + i + '].x'] = x; update['annotations[' + i + '].y'] = y; });
        await Plotly.relayout(m, update); }"""
    )
    labels = shown_labels(page)
    hidden = [lab for lab in labels if lab["placed"] == "0"]
    shown = [lab for lab in labels if lab["placed"] == "1"]
    assert len(hidden) > 0 and len(shown) >= 2
    first = next(lab for lab in labels if lab["index"] == 0)
    assert first["placed"] == "1" and first["transform"] is None  # the largest keeps its own place
    assert any(lab["transform"] for lab in shown)  # the next ones moved aside
    assert problems == []
