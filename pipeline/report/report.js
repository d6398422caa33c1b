// The stance map page. Every string from a comment is set with textContent, never as markup.
(function () {
  "use strict";
  const started = performance.now();
  const $ = function (id) { return document.getElementById(id); };
  const readJSON = function (id) { return JSON.parse($(id).textContent); };
  const figure = readJSON("stancemap-figure");
  const data = readJSON("stancemap-data");
  const claims = data.claims;
  const settings = data.settings;
  const labelOf = {};
  data.clusters.forEach(function (c) { labelOf[c.cluster] = c.label; });
  const mapDiv = $("map");
  const config = { displaylogo: false, responsive: true, scrollZoom: true };
  const LIST_PAGE = 200; // claims rendered per "show more" in a cluster's list
  const RESULTS_MAX = 100; // search results listed (the map and the cluster counts show them all)
  let activeCluster = null;
  let query = "";
  let matches = null; // claim indices matching the search, or null when there is no search
  let lowered = null; // claim texts in lower case, built on the first search

  // where each claim sits in the figure: trace and point number, for the search's selection
  const traceOf = new Int32Array(claims.id.length);
  const pointOf = new Int32Array(claims.id.length);
  figure.data.forEach(function (trace, t) {
    trace.customdata.forEach(function (index, p) { traceOf[index] = t; pointOf[index] = p; });
  });

  // Offsets count Unicode code points (as Python does); JS strings count UTF-16 units.
  const ASTRAL = /[\uD800-\uDFFF]/;
  function cut(text, start, end) {
    if (!ASTRAL.test(text)) return [text.slice(0, start), text.slice(start, end), text.slice(end)];
    const chars = Array.from(text);
    return [chars.slice(0, start).join(""), chars.slice(start, end).join(""), chars.slice(end).join("")];
  }

  function shorten(text, limit) {
    if (text.length <= limit) return text;
    return text.slice(0, limit - 1).replace(/[\uD800-\uDBFF]$/, "").trimEnd() + "…";
  }

  function webUrl(url) { return typeof url === "string" && /^https?:\/\/\S+$/i.test(url); }

  function link(url, label) {
    const a = document.createElement("a");
    a.href = url;
    a.rel = "noopener noreferrer nofollow";
    a.target = "_blank";
    a.textContent = label;
    return a;
  }

  // text with every case-insensitive occurrence of the search wrapped in <mark>
  function appendMarked(el, text, needle) {
    const lower = needle ? text.toLowerCase() : "";
    if (!needle || lower.length !== text.length) { el.append(text); return; }
    let at = 0;
    for (let hit = lower.indexOf(needle); hit >= 0; hit = lower.indexOf(needle, at)) {
      const mark = document.createElement("mark");
      mark.textContent = text.slice(hit, hit + needle.length);
      el.append(text.slice(at, hit), mark);
      at = hit + needle.length;
    }
    el.append(text.slice(at));
  }

  function claimItem(index) {
    const li = document.createElement("li");
    const a = document.createElement("a");
    a.href = "#source";
    a.className = "claim-link";
    a.dataset.index = String(index);
    appendMarked(a, shorten(claims.text[index], settings.list_chars), query);
    const comment = data.comments[claims.comment[index]];
    const who = document.createElement("span");
    who.className = "meta";
    who.textContent = " " + (comment.author || settings.no_author) + " · " + comment.thread;
    li.append(a, who);
    if (claims.new[index]) {
      const badge = document.createElement("span");
      badge.className = "new-badge";
      badge.textContent = "new";
      li.append(" ", badge);
    }
    return li;
  }

  function meta(el, comment) {
    el.textContent = "";
    const parts = [comment.author || settings.no_author, "thread " + comment.thread];
    if (comment.time) parts.push(comment.time.replace("T", " ").slice(0, 16) + " UTC");
    parts.push(comment.source);
    el.append(parts.join(" · "));
    if (webUrl(comment.url)) el.append(" · ", link(comment.url, "original on the web"));
    else el.append(" · no link to the original in the input");
  }

  function showClaim(index, whole) {
    const comment = data.comments[claims.comment[index]];
    if (!comment) return;
    const section = $("source");
    const label = labelOf[claims.cluster[index]];
    $("source-claim").textContent = "Claim " + claims.id[index] + " · cluster " +
      (claims.cluster[index] >= 0 ? claims.cluster[index] + ": " : "") + label +
      " · side: " + (claims.side[index] || "not computed");
    meta($("source-meta"), comment);
    let [before, middle, after] = cut(comment.text, claims.start[index], claims.end[index]);
    const long = comment.text.length > settings.source_chars;
    if (long && !whole) {
      // a window around the claim; the rest waits for "show the whole comment"
      const half = Math.floor(settings.source_chars / 2);
      before = (before.length > half ? "… " : "") + before.slice(-half);
      after = after.slice(0, half) + (after.length > half ? " …" : "");
    }
    const text = $("source-text");
    text.textContent = "";
    const mark = document.createElement("mark");
    mark.textContent = middle;
    text.append(before, mark, after);
    const all = $("source-all");
    all.hidden = !long || whole;
    all.dataset.index = String(index);
    all.textContent = "show the whole comment (" + comment.text.length.toLocaleString("en") + " characters)";
    const parentBox = $("parent");
    const parent = comment.parent === null ? null : data.comments[comment.parent];
    parentBox.hidden = !parent;
    if (parent) {
      meta($("parent-meta"), parent);
      $("parent-text").textContent = shorten(parent.text, settings.source_chars);
    }
    section.hidden = false;
    section.dataset.claim = claims.id[index];
    section.scrollIntoView({ block: "nearest" });
    mark.scrollIntoView({ block: "nearest" });
  }

  function clusterClaims(cluster) {
    const out = [];
    const from = matches || claims.cluster.keys();
    for (const i of from) if (claims.cluster[i] === cluster) out.push(i);
    return out;
  }

  function fillList(ol, indices, from) {
    const more = ol.querySelector(".more");
    if (more) more.remove();
    indices.slice(from, from + LIST_PAGE).forEach(function (i) { ol.append(claimItem(i)); });
    if (indices.length > from + LIST_PAGE) {
      const li = document.createElement("li");
      li.className = "more";
      const button = document.createElement("button");
      button.type = "button";
      button.className = "small";
      button.textContent = "show more (" + (indices.length - from - LIST_PAGE) + " left)";
      button.addEventListener("click", function () { fillList(ol, indices, from + LIST_PAGE); });
      li.append(button);
      ol.append(li);
    }
  }

  function renderClusterList() {
    document.querySelectorAll(".cluster").forEach(function (li) {
      const ol = li.querySelector(".all-claims");
      const open = activeCluster !== null && Number(li.dataset.cluster) === activeCluster;
      li.classList.toggle("active", open);
      li.querySelector(".cluster-head").setAttribute("aria-expanded", String(open));
      ol.textContent = "";
      ol.hidden = !open;
      if (open) fillList(ol, clusterClaims(activeCluster), 0);
    });
  }

  function restyleMap() {
    const opacity = figure.data.map(function (trace) {
      if (activeCluster === null) return trace.marker.opacity;
      return trace.meta.cluster === activeCluster ? 1 : 0.08;
    });
    const selected = figure.data.map(function () { return matches ? [] : null; });
    if (matches) matches.forEach(function (i) { selected[traceOf[i]].push(pointOf[i]); });
    Plotly.restyle(mapDiv, { "marker.opacity": opacity, selectedpoints: selected });
  }

  function selectCluster(cluster) {
    activeCluster = activeCluster === cluster ? null : cluster;
    restyleMap();
    renderClusterList();
  }

  function search(text) {
    query = text.trim().toLowerCase();
    if (!query) {
      matches = null;
    } else {
      if (!lowered) lowered = claims.text.map(function (t) { return t.toLowerCase(); });
      matches = [];
      lowered.forEach(function (t, i) { if (t.includes(query)) matches.push(i); });
    }
    const counts = {};
    (matches || []).forEach(function (i) { counts[claims.cluster[i]] = (counts[claims.cluster[i]] || 0) + 1; });
    document.querySelectorAll(".cluster").forEach(function (li) {
      const n = counts[li.dataset.cluster] || 0;
      li.hidden = matches !== null && n === 0;
      li.querySelector(".matches").textContent = matches ? n + " match" + (n === 1 ? "" : "es") : "";
    });
    $("search-count").textContent = matches ? matches.length + " claim" + (matches.length === 1 ? "" : "s") + " match" : "";
    const results = $("results");
    results.textContent = "";
    results.hidden = !matches;
    if (matches) {
      matches.slice(0, RESULTS_MAX).forEach(function (i) { results.append(claimItem(i)); });
      if (matches.length > RESULTS_MAX) {
        const li = document.createElement("li");
        li.className = "meta";
        li.textContent = "… and " + (matches.length - RESULTS_MAX) + " more: open a cluster to see its matches";
        results.append(li);
      }
    }
    restyleMap();
    renderClusterList();
  }

  // downloads, built from the page's data (no request: a blob URL saved by the browser)
  function csvCell(value) {
    if (value === null || value === undefined) return "";
    let text = Array.isArray(value) ? value.join("; ") : typeof value === "object" ? JSON.stringify(value) : String(value);
    if (typeof value === "string" && /^[=+\-@\t\r]/.test(text)) text = "'" + text; // no formulas in spreadsheets
    return /[",\n\r]/.test(text) ? '"' + text.replace(/"/g, '""') + '"' : text;
  }

  function claimRows() {
    return claims.id.map(function (id, i) {
      const c = data.comments[claims.comment[i]];
      return {
        claim_id: id, comment_id: c.id, thread_id: c.thread, author: c.author, created_at: c.time,
        cluster: claims.cluster[i], cluster_label: labelOf[claims.cluster[i]], side: claims.side[i], new: Boolean(claims.new[i]),
        x: claims.x[i], y: claims.y[i], start: claims.start[i], end: claims.end[i], text: claims.text[i],
        url: c.url, source: c.source,
      };
    });
  }

  function clusterRows() {
    return data.clusters.map(function (c) {
      return {
        cluster: c.cluster, label: c.label, keywords: c.keywords, n_claims: c.n_claims, n_comments: c.n_comments,
        n_authors: c.n_authors, sides: c.sides, threads: c.threads.map(function (t) { return t[0] + " (" + t[1] + ")"; }),
        key_claims: c.key_claims.map(function (i) { return claims.id[i]; }),
      };
    });
  }

  function download(what, format) {
    const rows = what === "claims" ? claimRows() : clusterRows();
    let body;
    if (format === "json") {
      body = JSON.stringify(what === "claims" ? rows : { clusters: rows, replies: data.replies, provenance: data.provenance }, null, 1);
    } else {
      const columns = Object.keys(rows[0] || {});
      body = [columns.join(",")].concat(rows.map(function (r) {
        return columns.map(function (k) { return csvCell(r[k]); }).join(",");
      })).join("\r\n") + "\r\n";
    }
    const blob = new Blob([body], { type: format === "json" ? "application/json" : "text/csv" });
    const a = document.createElement("a");
    a.href = URL.createObjectURL(blob);
    a.download = what + "." + format;
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(function () { URL.revokeObjectURL(a.href); }, 1000);
  }

  function drawLater() {
    const graph = readJSON("stancemap-graph");
    Plotly.newPlot($("graph"), graph.data, graph.layout, config).then(function (div) {
      div.on("plotly_click", function (event) {
        const p = event.points && event.points[0];
        if (p && p.data.name === "clusters") { selectCluster(p.customdata); $("map-pane").scrollIntoView(); }
      });
    });
    const threads = readJSON("stancemap-threads");
    Plotly.newPlot($("threads-chart"), threads.data, threads.layout, config).then(function (div) {
      div.on("plotly_click", function (event) {
        const p = event.points && event.points[0];
        if (p) { selectCluster(p.data.meta.cluster); $("map-pane").scrollIntoView(); }
      });
      document.documentElement.dataset.ready = "all";
    });
  }

  document.addEventListener("click", function (event) {
    const target = event.target instanceof Element ? event.target : null;
    const claimLink = target && target.closest(".claim-link");
    if (claimLink) { event.preventDefault(); showClaim(Number(claimLink.dataset.index)); return; }
    const head = target && target.closest(".cluster-head");
    if (head) { selectCluster(Number(head.dataset.cluster)); return; }
    const button = target && target.closest(".download");
    if (button) download(button.dataset.what, button.dataset.format);
  });
  $("source-all").addEventListener("click", function () { showClaim(Number(this.dataset.index), true); });
  $("source-close").addEventListener("click", function () { $("source").hidden = true; });
  let pending = null;
  $("search").addEventListener("input", function (event) {
    clearTimeout(pending);
    pending = setTimeout(function () { search(event.target.value); }, 120);
  });

  Plotly.newPlot(mapDiv, figure.data, figure.layout, config).then(function () {
    mapDiv.on("plotly_click", function (event) {
      if (event.points && event.points.length) showClaim(event.points[0].customdata);
    });
    // time to interactive: from navigation start to the map drawn with its handlers and the panel in place
    document.documentElement.dataset.ready = "map";
    document.documentElement.dataset.interactiveMs = String(Math.round(performance.now()));
    document.documentElement.dataset.scriptMs = String(Math.round(performance.now() - started));
    setTimeout(drawLater, 0);
  });
})();
