// The stance map page. Every string from a comment is set with textContent, never as markup.
(function () {
  "use strict";
  const figure = JSON.parse(document.getElementById("stancemap-figure").textContent);
  const data = JSON.parse(document.getElementById("stancemap-data").textContent);
  const mapDiv = document.getElementById("map");
  const config = { displaylogo: false, responsive: true, scrollZoom: true };
  let activeCluster = null;

  Plotly.newPlot(mapDiv, figure.data, figure.layout, config);

  // Offsets count Unicode code points (as Python does); JS strings count UTF-16 units.
  function cut(text, start, end) {
    const chars = Array.from(text);
    return [chars.slice(0, start).join(""), chars.slice(start, end).join(""), chars.slice(end).join("")];
  }

  function meta(el, comment) {
    el.textContent = "";
    const parts = [comment.author || "unknown author", "thread " + comment.thread];
    if (comment.time) parts.push(comment.time.replace("T", " ").slice(0, 16) + " UTC");
    parts.push(comment.source);
    el.append(parts.join(" · "));
    if (comment.url && /^https?:\/\//i.test(comment.url)) {
      const a = document.createElement("a");
      a.href = comment.url;
      a.rel = "noopener noreferrer nofollow";
      a.target = "_blank";
      a.textContent = "original";
      el.append(" · ", a);
    }
  }

  function showClaim(index) {
    const claim = data.claims[index];
    if (!claim) return;
    const comment = data.comments[claim.comment];
    const section = document.getElementById("source");
    meta(document.getElementById("source-meta"), comment);
    const [before, middle, after] = cut(comment.text, claim.start, claim.end);
    const text = document.getElementById("source-text");
    text.textContent = "";
    const mark = document.createElement("mark");
    mark.textContent = middle;
    text.append(before, mark, after);
    const parentBox = document.getElementById("parent");
    const parent = comment.parent ? data.comments[comment.parent] : null;
    parentBox.hidden = !parent;
    if (parent) {
      meta(document.getElementById("parent-meta"), parent);
      document.getElementById("parent-text").textContent = parent.text;
    }
    section.hidden = false;
    section.dataset.claim = claim.id;
    mark.scrollIntoView({ block: "nearest" });
  }

  function highlightCluster(cluster) {
    activeCluster = activeCluster === cluster ? null : cluster;
    const opacities = figure.data.map(function (trace) {
      if (activeCluster === null) return trace.marker.opacity;
      return trace.meta.cluster === activeCluster ? 1 : 0.08;
    });
    Plotly.restyle(mapDiv, { "marker.opacity": opacities });
    document.querySelectorAll(".cluster").forEach(function (li) {
      li.classList.toggle("active", activeCluster !== null && Number(li.dataset.cluster) === activeCluster);
    });
  }

  mapDiv.on("plotly_click", function (event) {
    if (event.points && event.points.length) showClaim(event.points[0].customdata);
  });
  document.querySelectorAll(".cluster-head").forEach(function (button) {
    button.addEventListener("click", function () { highlightCluster(Number(button.dataset.cluster)); });
  });
  document.querySelectorAll(".claim-link").forEach(function (link) {
    link.addEventListener("click", function () { showClaim(Number(link.dataset.index)); });
  });
})();
