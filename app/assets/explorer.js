/* rnnviz graph explorer: the browser half of a structure panel (app/panels.py builds the DOM).
 *
 * - Labels stay legible: every drawn label is at least 12 px on screen. Zoomed out, a node shows
 *   its short label ("t5", "while loop") or none if even that does not fit its box (the server
 *   sizes the first view so that every block's short label fits). Semantic zoom: far out step
 *   ranges ("t0–19"), nearer their full labels, then the finer ranges or single steps inside each
 *   range (class "sub", shown only once all of a range's labels fit; the range's own label then
 *   sits above it), closest the ops of expanded blocks.
 * - After an expansion the camera zooms in as far as the opened block's labels need to be read
 *   (gates, c/h updates, weights with shapes), keeping the rest in view when it still fits.
 * - Toolbar: fit, zoom in/out, reset (the server closes the blocks; here: fit), PNG/SVG export.
 * - Minimap for graphs larger than the panel; resizing the window refits.
 * - Hover tooltips (data.tip); the selection and its neighbours highlighted; the element the
 *   server selected (search, URL) is brought into view without moving the camera otherwise.
 * - After an expansion the camera stays; it only pans (or zooms out) enough to show the block.
 */
(function () {
  "use strict";
  const FAR_PX = 12; // on-screen font size of labels once zoomed out below their base size
  const CHAR_W = 0.6; // average glyph width / font size (system sans-serif)
  // After an expansion the camera zooms out to keep what was on screen, but not below the zoom
  // at which a block's short label ("t5") still fits its box: past that the block alone is kept.
  const KEEP_ZOOM_FLOOR = 0.2;
  // The zoom an opened block is shown at, at most: its widest labels (op names) may need more.
  const READ_ZOOM_MAX = 1.2;
  const attached = new WeakSet();
  let tip = null;

  function cyOf(id) {
    const el = document.getElementById(id);
    return el && el._cyreg ? el._cyreg.cy : null;
  }

  /* The largest font size at which `text` fits a w x h box (one rule for labels and zooms). */
  function maxFont(text, w, h) {
    const lines = String(text || "").split("\n");
    const widest = Math.max(...lines.map((l) => l.length));
    return Math.min((w * 0.96) / (widest * CHAR_W), h / (lines.length * 1.2));
  }

  function fits(text, fs, w, h) {
    return !text || fs <= maxFont(text, w, h);
  }

  function baseFont(n) {
    let base = n.scratch("_base");
    if (base === undefined) {
      base = parseFloat(n.style("font-size")) || 12;
      n.scratch("_base", base);
    }
    return base;
  }

  function relabel(cy) {
    const z = cy.zoom();
    cy.batch(() => {
      // Semantic zoom: a range block shows its finer ranges once every one of their labels fits.
      const open = new Map();
      cy.nodes(".sub").forEach((n) => {
        const fs = Math.max(baseFont(n), FAR_PX / z);
        const ok = fits(n.data("short"), fs, n.data("w"), n.data("h"));
        const b = n.data("block");
        open.set(b, (open.has(b) ? open.get(b) : true) && ok);
      });
      cy.nodes().forEach((n) => {
        const fs = Math.max(baseFont(n), FAR_PX / z);
        const sub = n.hasClass("sub");
        if (sub) {
          const show = open.get(n.data("block"));
          n.style("display", show ? "element" : "none");
          if (!show) return;
        }
        const parent = n.isParent();
        const above = !sub && !!n.data("subs") && open.get(n.id()); // its label over its box
        const w = parent ? n.boundingBox({ includeLabels: false }).w : n.width();
        const h = parent || above ? Infinity : n.height();
        let text = n.data("label") || "";
        if (parent || above) text = text.replace(/\n/g, " · "); // a title: one line
        if (!fits(text, fs, w, h)) text = n.data("short") || "";
        if (!fits(text, fs, w, h)) text = "";
        // An empty label is not a valid bypass value: hide with text-opacity instead.
        const style = { label: text || " ", "text-opacity": text ? 1 : 0, "font-size": fs, "text-max-width": w };
        if (n.data("subs")) {
          style["text-valign"] = above ? "top" : "center";
          style.color = above ? "#222" : n.hasClass("bw") ? "#222" : "#fff";
        }
        n.style(style);
      });
      cy.edges("[label]").style("font-size", Math.max(12, FAR_PX / z));
    });
  }

  /* The zoom at which the labels inside an opened block fit their boxes (0: not opened): each
   * inner node's full label, or its short one where the full one (an op's name) would need more
   * than READ_ZOOM_MAX. */
  function readZoom(n) {
    if (!n.isParent()) return 0;
    const need = (text, c) => FAR_PX / maxFont(text, c.width(), c.height()); // zoom to fit
    let z = 0;
    n.descendants().forEach((c) => {
      if (c.isParent()) return;
      const full = need(c.data("label"), c);
      z = Math.max(z, full <= READ_ZOOM_MAX ? full : need(c.data("short"), c));
    });
    return Math.min(z, READ_ZOOM_MAX, n.cy().maxZoom());
  }

  /* Zoom to `z` on `eles`: centred on each axis where it fits, else its start (title) shown. */
  function showAt(cy, eles, z) {
    const bb = eles.boundingBox({ includeLabels: true });
    cy.zoom(z);
    const x = bb.w * z <= cy.width() * 0.95 ? cy.width() / 2 - (bb.x1 + bb.w / 2) * z : 20 - bb.x1 * z;
    const y = bb.h * z <= cy.height() * 0.95 ? cy.height() / 2 - (bb.y1 + bb.h / 2) * z : 20 - bb.y1 * z;
    cy.pan({ x, y });
  }

  function graphBox(cy) {
    return cy.elements().boundingBox({ includeLabels: false });
  }

  function bringIntoView(cy, eles, floor = 0) {
    if (!eles || eles.empty()) return;
    const bb = eles.boundingBox({ includeLabels: true }); // an open block's title too
    const ext = cy.extent();
    if (bb.w > ext.w * 0.95 || bb.h > ext.h * 0.95) {
      // Bigger than the panel: zoom out around it (never in), so all of it stays visible, but
      // not below `floor` (its labels read): then its start is shown.
      const z = Math.min(cy.zoom(), (cy.width() * 0.95) / bb.w, (cy.height() * 0.95) / bb.h);
      showAt(cy, eles, Math.max(z, floor));
      return;
    }
    const e = cy.extent();
    let dx = 0;
    let dy = 0;
    if (bb.x1 < e.x1) dx = e.x1 - bb.x1 + 20 / cy.zoom();
    else if (bb.x2 > e.x2) dx = e.x2 - bb.x2 - 20 / cy.zoom();
    if (bb.y1 < e.y1) dy = e.y1 - bb.y1 + 20 / cy.zoom();
    else if (bb.y2 > e.y2) dy = e.y2 - bb.y2 - 20 / cy.zoom();
    if (dx || dy) cy.panBy({ x: dx * cy.zoom(), y: dy * cy.zoom() });
  }

  function highlight(cy, node) {
    cy.batch(() => {
      cy.elements(".selected, .hl").removeClass("selected hl");
      if (!node || node.empty()) return;
      node.addClass("selected");
      node.connectedEdges().addClass("hl");
      node.connectedEdges().connectedNodes().not(node).addClass("hl");
    });
  }

  function selectMarked(cy, id) {
    const text = (document.getElementById(id + "-sel") || {}).textContent || "";
    if (!text) return highlight(cy, null);
    let node = cy.getElementById(text);
    if (node.empty()) node = cy.nodes().filter((n) => n.data("name") === text);
    if (node.empty()) return;
    highlight(cy, node);
    // Zoom in only as far as the selected node's box is 80 px wide: its label then shows.
    if (node.renderedBoundingBox().w < 80) {
      cy.zoom({ level: 80 / node.width(), position: node.position() });
    }
    bringIntoView(cy, node, readZoom(node)); // an opened block: not below the zoom it reads at
  }

  function minimap(cy, id) {
    const box = document.getElementById(id + "-mini");
    if (!box) return;
    const bb = graphBox(cy);
    const ext = cy.extent();
    const inside = ext.x1 <= bb.x1 && ext.y1 <= bb.y1 && ext.x2 >= bb.x2 && ext.y2 >= bb.y2;
    box.style.display = inside || cy.elements().empty() ? "none" : "block";
    if (inside) return;
    let canvas = box.querySelector("canvas");
    if (!canvas) {
      canvas = document.createElement("canvas");
      canvas.width = 180;
      canvas.height = 120;
      box.appendChild(canvas);
      canvas.addEventListener("click", (ev) => {
        const s = canvas._scale;
        const r = canvas.getBoundingClientRect();
        const x = canvas._bb.x1 + (ev.clientX - r.left - canvas._ox) / s;
        const y = canvas._bb.y1 + (ev.clientY - r.top - canvas._oy) / s;
        cy.pan({ x: cy.width() / 2 - x * cy.zoom(), y: cy.height() / 2 - y * cy.zoom() });
      });
    }
    const ctx = canvas.getContext("2d");
    const s = Math.min(canvas.width / bb.w, canvas.height / bb.h);
    const ox = (canvas.width - bb.w * s) / 2;
    const oy = (canvas.height - bb.h * s) / 2;
    Object.assign(canvas, { _scale: s, _bb: bb, _ox: ox, _oy: oy });
    ctx.clearRect(0, 0, canvas.width, canvas.height);
    ctx.fillStyle = "#fff";
    ctx.fillRect(0, 0, canvas.width, canvas.height);
    cy.nodes().forEach((n) => {
      if (n.isParent() || n.style("display") === "none") return;
      const p = n.position();
      ctx.fillStyle = n.style("background-color");
      ctx.fillRect(ox + (p.x - n.width() / 2 - bb.x1) * s, oy + (p.y - n.height() / 2 - bb.y1) * s,
        Math.max(n.width() * s, 1), Math.max(n.height() * s, 1));
    });
    ctx.strokeStyle = "#d62728";
    ctx.lineWidth = 2;
    ctx.strokeRect(ox + (ext.x1 - bb.x1) * s, oy + (ext.y1 - bb.y1) * s, ext.w * s, ext.h * s);
  }

  function download(name, href) {
    const a = document.createElement("a");
    a.href = href;
    a.download = name;
    document.body.appendChild(a);
    a.click();
    a.remove();
  }

  function esc(t) {
    return String(t).replace(/[&<>"]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" }[c]));
  }

  /* The current view as SVG: what the canvas shows, in model coordinates (no extension needed). */
  function toSvg(cy) {
    const e = cy.extent();
    const out = [`<svg xmlns="http://www.w3.org/2000/svg" viewBox="${e.x1} ${e.y1} ${e.w} ${e.h}" width="${cy.width()}" height="${cy.height()}" font-family="sans-serif">`,
      `<rect x="${e.x1}" y="${e.y1}" width="${e.w}" height="${e.h}" fill="#fff"/>`];
    cy.edges(":visible").forEach((ed) => {
      const a = ed.sourceEndpoint();
      const b = ed.targetEndpoint();
      out.push(`<line x1="${a.x}" y1="${a.y}" x2="${b.x}" y2="${b.y}" stroke="${ed.style("line-color")}" stroke-width="${parseFloat(ed.style("width"))}"/>`);
    });
    const nodes = cy.nodes(":visible").sort((a, b) => (b.isParent() ? 1 : 0) - (a.isParent() ? 1 : 0));
    nodes.forEach((n) => {
      const bb = n.boundingBox({ includeLabels: false });
      const fill = n.style("background-color");
      const op = n.isParent() ? 0.12 : 1;
      out.push(`<rect x="${bb.x1}" y="${bb.y1}" width="${bb.w}" height="${bb.h}" rx="6" fill="${fill}" fill-opacity="${op}" stroke="${n.style("border-color")}"/>`);
      const label = n.style("label");
      if (!label) return;
      const fs = parseFloat(n.style("font-size"));
      const lines = String(label).split("\n");
      const top = n.isParent() || n.style("text-valign") === "top"; // a title above the box
      const y0 = top ? bb.y1 - fs * 0.4 - (lines.length - 1) * fs * 1.2 : n.position().y - ((lines.length - 1) * fs * 1.2) / 2 + fs * 0.35;
      lines.forEach((ln, k) => out.push(`<text x="${top ? bb.x1 + bb.w / 2 : n.position().x}" y="${y0 + k * fs * 1.2}" font-size="${fs}" text-anchor="middle" fill="${n.style("color")}">${esc(ln)}</text>`));
    });
    out.push("</svg>");
    return out.join("\n");
  }

  function act(id, what) {
    const cy = cyOf(id);
    if (!cy) return;
    const c = { x: cy.width() / 2, y: cy.height() / 2 };
    if (what === "fit" || what === "reset") cy.fit(undefined, 12);
    else if (what === "zin") cy.zoom({ level: cy.zoom() * 1.4, renderedPosition: c });
    else if (what === "zout") cy.zoom({ level: cy.zoom() / 1.4, renderedPosition: c });
    else if (what === "png") download(id + ".png", cy.png({ full: false, scale: 2, bg: "#ffffff" }));
    else if (what === "svg") download(id + ".svg", "data:image/svg+xml;charset=utf-8," + encodeURIComponent(toSvg(cy)));
  }

  function showTip(ev, text) {
    if (!tip) {
      tip = document.createElement("div");
      tip.className = "cy-tip";
      document.body.appendChild(tip);
    }
    if (!text) {
      tip.style.display = "none";
      return;
    }
    tip.textContent = text;
    tip.style.display = "block";
    const oe = ev.originalEvent || {};
    tip.style.left = (oe.pageX || 0) + 14 + "px";
    tip.style.top = (oe.pageY || 0) + 14 + "px";
  }

  function attach(id) {
    const cy = cyOf(id);
    if (!cy || attached.has(cy)) return;
    attached.add(cy);
    let frame = 0;
    let lastTapped = null;
    const refresh = () => {
      if (frame) return;
      frame = requestAnimationFrame(() => {
        frame = 0;
        relabel(cy);
        minimap(cy, id);
        // A selection named before its element arrived (URL, search): mark it once it is there.
        const marked = (document.getElementById(id + "-sel") || {}).textContent;
        if (marked && cy.$(".selected").empty()) selectMarked(cy, id);
      });
    };
    // Cytoscape caches where its container sits on the page and refreshes that only on a window
    // resize or scroll. The page above the panels grows after the first view (status lines,
    // stats), so the cache goes stale and a click lands on whatever is drawn some pixels away.
    // Forget it whenever the pointer enters or presses (capture: before cytoscape reads it).
    const stale = () => cy.renderer().invalidateContainerClientCoordsCache();
    for (const kind of ["mouseenter", "mousedown", "touchstart", "wheel"]) {
      cy.container().addEventListener(kind, stale, { capture: true, passive: true });
    }
    cy.on("zoom resize", refresh);
    cy.on("pan", () => minimap(cy, id));
    cy.on("add remove", refresh);
    cy.on("layoutstop", () => {
      relabel(cy);
      if (lastTapped) {
        // Keep what was on screen before the click on screen, plus the block that changed.
        // The zoom stays; the camera pans only as far as needed to show the block, and the
        // nodes that were on screen before the click too when they still fit around it.
        // An opened block is shown at least at the zoom its labels need (readZoom).
        const n = cy.getElementById(lastTapped);
        const block = n.union(n.descendants());
        const floor = readZoom(n);
        let keep = block;
        seen.forEach((nid) => { keep = keep.union(cy.getElementById(nid)); });
        const kb = keep.boundingBox({ includeLabels: false });
        const fitZ = Math.min((cy.width() * 0.95) / kb.w, (cy.height() * 0.95) / kb.h);
        if (floor && cy.zoom() < floor && fitZ >= floor) showAt(cy, keep, floor);
        else if (floor && cy.zoom() < floor) {
          // Zoom in about the middle of what was on screen, then pan only as far as the block
          // needs: the neighbours it was seen with stay in view as far as they fit.
          cy.zoom({ level: floor, renderedPosition: { x: cy.width() / 2, y: cy.height() / 2 } });
          bringIntoView(cy, block, floor);
        }
        else if (fitZ >= Math.max(Math.min(cy.zoom(), KEEP_ZOOM_FLOOR), floor)) bringIntoView(cy, keep, floor);
        else bringIntoView(cy, block, floor);
        relabel(cy);
        lastTapped = null;
      }
      minimap(cy, id);
      selectMarked(cy, id);
    });
    let seen = [];
    cy.on("tap", "node", (ev) => {
      const n = ev.target;
      showTip(ev, "");
      const ext = cy.extent();
      seen = cy.nodes().filter((m) => {
        if (m.isParent()) return false;
        const p = m.position();
        return p.x >= ext.x1 && p.x <= ext.x2 && p.y >= ext.y1 && p.y <= ext.y2;
      }).map((m) => m.id());
      lastTapped = n.data("block") && n.data("kind") !== "step" ? n.data("block") : n.id();
      highlight(cy, n);
    });
    cy.on("mouseover", "node", (ev) => showTip(ev, ev.target.data("tip")));
    cy.on("mouseout", "node", (ev) => showTip(ev, ""));
    const sel = document.getElementById(id + "-sel");
    if (sel) new MutationObserver(() => selectMarked(cy, id)).observe(sel, { childList: true, characterData: true, subtree: true });
    relabel(cy);
    minimap(cy, id);
  }

  document.addEventListener("click", (ev) => {
    const b = ev.target.closest && ev.target.closest("[data-act]");
    if (b) act(b.dataset.cy, b.dataset.act);
  });

  let resizeTimer = 0;
  window.addEventListener("resize", () => {
    clearTimeout(resizeTimer);
    resizeTimer = setTimeout(() => {
      document.querySelectorAll(".graph-wrap > div[id]").forEach((el) => {
        const cy = cyOf(el.id);
        if (cy) {
          cy.resize();
          cy.fit(undefined, 12);
        }
      });
    }, 150);
  });

  const panelsOf = () => Array.from(document.querySelectorAll(".graph-wrap > div[id]"));
  setInterval(() => panelsOf().forEach((el) => attach(el.id)), 300);
  // The first view comes with the page itself (no callback): attach in the first frames its
  // panels exist, so its labels are sized and its controls work from the start.
  const started = performance.now();
  (function early() {
    const panels = panelsOf();
    panels.forEach((el) => attach(el.id));
    const waiting = !panels.length || panels.some((el) => !cyOf(el.id) || !attached.has(cyOf(el.id)));
    if (waiting && performance.now() - started < 10000) requestAnimationFrame(early);
  })();

  window.rnnvizExplorer = { cyOf, relabel, toSvg, act };
})();
