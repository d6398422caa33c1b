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
  const topicOf = {};
  data.clusters.forEach(function (c) { labelOf[c.cluster] = c.label; topicOf[c.cluster] = c.topic; });
  const titleOf = {};
  data.threads.forEach(function (t) { titleOf[t.thread] = t.title || ""; });
  const mapDiv = $("map");
  const config = { displaylogo: false, responsive: true, scrollZoom: true };
  const LIST_PAGE = 200; // claims rendered per "show more" in a cluster's list
  const RESULTS_MAX = 100; // search results listed (the map and the cluster counts show them all)
  let activeCluster = null;
  let query = "";
  let matches = null; // claim indices matching the search, or null when there is no search
  let lowered = null; // claim texts in lower case, built on the first search
  let filtered = null; // claim indices the filters keep, or null when no filter is set

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
    li.append(a, who, " ", citeButton(index));
    if (claims.new[index]) {
      const badge = document.createElement("span");
      badge.className = "new-badge";
      badge.textContent = "new";
      li.append(" ", badge);
    }
    return li;
  }

  function citeButton(index) {
    const button = document.createElement("button");
    button.type = "button";
    button.className = "small cite";
    button.dataset.index = String(index);
    button.textContent = "copy citation";
    return button;
  }

  // "quote" — author, thread title, date, link: what a brief needs to cite a claim
  function citation(index) {
    const comment = data.comments[claims.comment[index]];
    const parts = ["\u201c" + claims.text[index] + "\u201d \u2014 " + (comment.author || settings.no_author)];
    const title = titleOf[comment.thread];
    parts.push(title ? "in \u201c" + title + "\u201d (thread " + comment.thread + ")" : "thread " + comment.thread);
    if (comment.time) parts.push(comment.time.slice(0, 10));
    if (webUrl(comment.url)) parts.push(comment.url);
    return parts.join(", ") + ". Claim " + claims.id[index] + " in \u201c" + settings.title + "\u201d (stancemap, " +
      data.provenance.run_date.slice(0, 10) + ").";
  }

  function copyCitation(index, button) {
    const text = citation(index);
    const done = function () {
      button.dataset.copied = "1";
      const before = button.textContent;
      button.textContent = "copied";
      setTimeout(function () { button.textContent = before; }, 1500);
    };
    const fallback = function () {
      const area = document.createElement("textarea");
      area.value = text;
      document.body.append(area);
      area.select();
      document.execCommand("copy");
      area.remove();
      done();
    };
    if (navigator.clipboard && navigator.clipboard.writeText) navigator.clipboard.writeText(text).then(done, fallback);
    else fallback();
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
    $("source-cite").dataset.index = String(index);
    if (location.hash !== "#claim=" + encodeURIComponent(claims.id[index])) {
      history.replaceState(null, "", "#claim=" + encodeURIComponent(claims.id[index]));
    }
    section.scrollIntoView({ block: "nearest" });
    mark.scrollIntoView({ block: "nearest" });
  }

  function kept(i) { return filtered === null || filtered.has(i); }

  function clusterClaims(cluster) {
    const out = [];
    const from = matches || claims.cluster.keys();
    for (const i of from) if (claims.cluster[i] === cluster && kept(i)) out.push(i);
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
    const narrowed = matches !== null || filtered !== null;
    const selected = figure.data.map(function () { return narrowed ? [] : null; });
    if (narrowed) {
      for (const i of matches || claims.cluster.keys()) if (kept(i)) selected[traceOf[i]].push(pointOf[i]);
    }
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
      lowered.forEach(function (t, i) { if (t.includes(query) && kept(i)) matches.push(i); });
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

  // Filters (thread, author, side, dates, new): they narrow the map, the lists and the positions'
  // counts to the claims the page carries that pass them all
  const filterInputs = ["filter-thread", "filter-author", "filter-side", "filter-from", "filter-to", "filter-new"]
    .map($).filter(Boolean);
  const authorNames = Array.from(new Set(data.comments.map(function (c) { return c.author; }).filter(Boolean))).sort();
  authorNames.forEach(function (name) {
    const option = document.createElement("option");
    option.value = name;
    $("authors-list").append(option);
  });
  const value = function (id) { const el = $(id); return el ? (el.type === "checkbox" ? el.checked : el.value.trim()) : ""; };

  function applyFilters() {
    const thread = value("filter-thread"), author = value("filter-author").toLowerCase(), side = value("filter-side");
    const from = value("filter-from"), to = value("filter-to"), fresh = value("filter-new");
    const active = Boolean(thread || author || side || from || to || fresh);
    filtered = null;
    if (active) {
      filtered = new Set();
      for (let i = 0; i < claims.id.length; i++) {
        const c = data.comments[claims.comment[i]];
        if (thread && c.thread !== thread) continue;
        if (author && !(c.author || "").toLowerCase().includes(author)) continue;
        if (side && (claims.side[i] || "none") !== side) continue;
        const day = c.time ? c.time.slice(0, 10) : null;
        if ((from && (!day || day < from)) || (to && (!day || day > to))) continue;
        if (fresh && !claims.new[i]) continue;
        filtered.add(i);
      }
    }
    updatePositions();
    $("filter-count").textContent = active ? filtered.size + " of " + claims.id.length + " claims pass the filters" +
      (claims.id.length < data.total_claims ? " (of the claims this page carries)" : "") : "";
    search($("search").value);
  }

  // per topic and side: claims, comments and distinct authors among the kept claims
  function updatePositions() {
    const tally = {};
    if (filtered !== null) {
      filtered.forEach(function (i) {
        const topic = topicOf[claims.cluster[i]];
        if (topic === undefined || topic < 0) return;
        const key = topic + "|" + (claims.side[i] || "none");
        const t = tally[key] || (tally[key] = { claims: 0, comments: new Set(), authors: new Set(), unknown: false });
        const c = data.comments[claims.comment[i]];
        t.claims += 1;
        t.comments.add(claims.comment[i]);
        if (c.who === null || c.who === undefined) t.unknown = t.unknown || c.author !== null; else t.authors.add(c.who);
      });
    }
    document.querySelectorAll("#positions .position").forEach(function (row) {
      let total = 0;
      row.querySelectorAll(".side").forEach(function (li) {
        const t = filtered === null ? null : tally[row.dataset.topic + "|" + li.dataset.side];
        const n = filtered === null ? Number(li.dataset.claims) : t ? t.claims : 0;
        li.querySelector(".n-claims").textContent = String(n);
        li.querySelector(".n-comments").textContent = filtered === null ? li.dataset.comments : String(t ? t.comments.size : 0);
        const authors = filtered === null ? li.dataset.authors : t && t.unknown ? "?" : String(t ? t.authors.size : 0);
        li.querySelector(".n-authors").textContent = authors;
        li.dataset.shownAuthors = authors;
        li.hidden = n === 0;
        total += n;
      });
      const count = row.querySelector(":scope > .meta .n-claims");
      count.textContent = filtered === null ? count.dataset.all : String(total);
      row.hidden = total === 0;
    });
    document.querySelectorAll("#positions .theme").forEach(function (theme) {
      theme.hidden = theme.querySelectorAll(".position:not([hidden])").length === 0;
    });
  }
  document.querySelectorAll("#positions .position > .meta .n-claims").forEach(function (el) { el.dataset.all = el.textContent; });
  filterInputs.forEach(function (el) { el.addEventListener(el.type === "search" ? "input" : "change", applyFilters); });
  $("filter-reset").addEventListener("click", function () {
    filterInputs.forEach(function (el) { if (el.type === "checkbox") el.checked = false; else el.value = ""; });
    applyFilters();
  });

  // #claim=<id> opens that claim, so a link can point at one
  function openFromHash() {
    const m = /^#claim=(.+)$/.exec(location.hash);
    if (!m) return;
    const id = decodeURIComponent(m[1]);
    const index = claims.id.indexOf(id);
    if (index >= 0) showClaim(index);
    else $("filter-count").textContent = "claim " + id + " is not on this page";
  }
  window.addEventListener("hashchange", openFromHash);

  document.addEventListener("click", function (event) {
    const target = event.target instanceof Element ? event.target : null;
    const cite = target && target.closest(".cite");
    if (cite) { copyCitation(Number(cite.dataset.index), cite); return; }
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
    openFromHash();
    window.stancemapPlaceLabels(mapDiv); // topic labels without overlap (maplabels.js), again after each redraw
    mapDiv.on("plotly_afterplot", function () { window.stancemapPlaceLabels(mapDiv); });
    // time to interactive: from navigation start to the map drawn with its handlers and the panel in place
    document.documentElement.dataset.ready = "map";
    document.documentElement.dataset.interactiveMs = String(Math.round(performance.now()));
    document.documentElement.dataset.scriptMs = String(Math.round(performance.now() - started));
    setTimeout(drawLater, 0);
  });
})();
