/* Every page lives in one layout and the URL only shows one of them (app/main.py), so a plotly
 * figure may be drawn while its page is hidden; plotly then sizes it 700 px wide and keeps that.
 * When a page is shown, or the window changes size, its figures are refitted to their columns
 * (heights stay as the figures set them). Only on those events: a refit redraws, and redrawing on
 * every DOM change would feed itself. */
(function () {
  "use strict";
  function refit(root) {
    if (!window.Plotly) return;
    root.querySelectorAll(".js-plotly-plot").forEach((g) => {
      if (g.offsetParent !== null) window.Plotly.Plots.resize(g);
    });
  }
  const shown = new MutationObserver((changes) => {
    changes.forEach((c) => {
      const page = c.target;
      if (page.classList && page.classList.contains("page") && page.style.display !== "none") {
        refit(page);
      }
    });
  });
  function start() {
    shown.observe(document.body, { attributes: true, attributeFilter: ["style"], subtree: true });
  }
  let timer = null;
  window.addEventListener("resize", () => {
    clearTimeout(timer);
    timer = setTimeout(() => refit(document), 150);
  });
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
