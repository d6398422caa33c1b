// Theme and topic labels on the stance map: placed without overlap (see maplayers.py).
// window.stancemapPlaceLabels(mapDiv) is called by report.js after each draw of the map.
//
// datamapplot's idea, in the browser: the labels come themes first, then topics, largest first
// (maplayers.py orders them), so the map opens at the theme level and a zoom makes room for the
// topics; each one tries its own place, then a few places around it, and takes the first that
// is inside the plot and clear of every label placed before it; a label with no free place is
// hidden. Only the DOM changes (a transform on the annotation's <g>, its visibility), never the
// figure, so placing triggers no redraw and cannot loop; Plotly draws the annotations afresh on
// each zoom or pan and this runs again after each draw.
(function () {
  "use strict";
  const MARGIN = 3; // px kept free around each label
  const MAX_PLACED = 300; // pairwise checks stay cheap: at most MAX_PLACED² box tests a draw

  // places to try, as multiples of the label's width and height: its own, above, below, left,
  // right, then the diagonals and a full width aside
  const OFFSETS = [
    [0, 0], [0, -1], [0, 1], [-0.5, 0], [0.5, 0],
    [-0.5, -1], [0.5, -1], [-0.5, 1], [0.5, 1], [-1, 0], [1, 0], [0, -2], [0, 2],
  ];

  function overlaps(a, b) {
    return a.left < b.right + MARGIN && b.left < a.right + MARGIN && a.top < b.bottom + MARGIN && b.top < a.bottom + MARGIN;
  }

  function shifted(box, dx, dy) {
    return { left: box.left + dx, right: box.right + dx, top: box.top + dy, bottom: box.bottom + dy };
  }

  // the themes and topics whose traces are all hidden (legend clicks): their labels go too
  function hiddenLabels(mapDiv) {
    const shown = {}, seen = {};
    (mapDiv.data || []).forEach(function (trace) {
      const meta = trace.meta || {};
      const visible = trace.visible === undefined || trace.visible === true;
      [["theme-label", meta.theme], ["topic-label", meta.topic]].forEach(function (pair) {
        if (pair[1] === undefined || pair[1] < 0) return;
        const key = pair[0] + ":" + pair[1];
        seen[key] = true;
        if (visible) shown[key] = true;
      });
    });
    return function (key) { return seen[key] && !shown[key]; };
  }

  function hide(g) {
    g.style.visibility = "hidden";
    g.setAttribute("data-placed", "0");
  }

  function place(mapDiv) {
    const layout = mapDiv.layout || {};
    const annotations = layout.annotations || [];
    const meta = layout.meta || {};
    const ids = { "theme-label": meta.theme_labels || [], "topic-label": meta.topic_labels || [] };
    const area = mapDiv.querySelector(".draglayer .nsewdrag");
    if (!annotations.length || !area) return;
    // what each annotation names: the k-th label of a kind is the k-th id of that kind
    const keyOf = {}, count = { "theme-label": 0, "topic-label": 0 };
    annotations.forEach(function (a, i) {
      if (a && ids[a.name]) keyOf[i] = a.name + ":" + ids[a.name][count[a.name]++];
    });
    const isHidden = hiddenLabels(mapDiv);
    const groups = [];
    mapDiv.querySelectorAll("g.annotation").forEach(function (g) {
      const i = Number(g.getAttribute("data-index"));
      if (keyOf[i] === undefined) return;
      g.removeAttribute("transform"); // measure where Plotly put it, not where a previous pass moved it
      g.style.visibility = "";
      groups.push({ g: g, i: i });
    });
    groups.sort(function (a, b) { return a.i - b.i; }); // list order: themes, then topics, largest first
    const bounds = area.getBoundingClientRect();
    const placed = [];
    groups.forEach(function (item) { item.box = item.g.getBoundingClientRect(); }); // one layout, then no more reads
    groups.forEach(function (item) {
      const box = item.box;
      const w = box.right - box.left, h = box.bottom - box.top;
      // Plotly empties a label whose anchor is off the plot (zoomed away): nothing to place
      if (w < 1 || h < 1 || isHidden(keyOf[item.i]) || placed.length >= MAX_PLACED) { hide(item.g); return; }
      for (let k = 0; k < OFFSETS.length; k++) {
        let dx = OFFSETS[k][0] * (w + MARGIN), dy = OFFSETS[k][1] * (h + MARGIN);
        // keep the label inside the plot: a label near an edge slides in rather than out
        dx += Math.max(0, bounds.left - (box.left + dx)) - Math.max(0, box.right + dx - bounds.right);
        dy += Math.max(0, bounds.top - (box.top + dy)) - Math.max(0, box.bottom + dy - bounds.bottom);
        const moved = shifted(box, dx, dy);
        if (moved.left < bounds.left - 0.5 || moved.right > bounds.right + 0.5) continue; // wider than the plot
        if (moved.top < bounds.top - 0.5 || moved.bottom > bounds.bottom + 0.5) continue;
        if (placed.some(function (other) { return overlaps(moved, other); })) continue;
        if (dx || dy) item.g.setAttribute("transform", "translate(" + dx.toFixed(1) + "," + dy.toFixed(1) + ")");
        item.g.setAttribute("data-placed", "1");
        placed.push(moved);
        return;
      }
      hide(item.g);
    });
  }

  let frame = 0;
  window.stancemapPlaceLabels = function (mapDiv) {
    if (!mapDiv) return;
    place(mapDiv);
    if (!mapDiv.__stancemapLabels && mapDiv.on) {
      // while a pan or zoom drags, Plotly redraws the labels without an afterplot: place them
      // once a frame so they never pile up mid-drag
      mapDiv.__stancemapLabels = true;
      mapDiv.on("plotly_relayouting", function () {
        if (frame) return;
        frame = window.requestAnimationFrame(function () { frame = 0; place(mapDiv); });
      });
    }
  };
})();
