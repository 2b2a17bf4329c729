// The live progress bar of "Import data now" (and of a held run's decision, and the wizard's
// preview): polls the run's progress (a JSON read of the run
// row, so it works wherever the import runs) and, once the run stops moving, reloads the page
// on the run so the server renders the impact summary. Without this script the page refreshes
// itself (<noscript> meta refresh).
(function () {
  "use strict";

  function text(el, value) { if (el) el.textContent = value; }

  function start(card) {
    var url = card.getAttribute("data-progress-url");
    var every = parseInt(card.getAttribute("data-poll-ms"), 10) || 700;
    var bar = card.querySelector("progress");
    var percentEl = card.querySelector("[data-progress-percent]");
    var labelEl = card.querySelector("[data-progress-label]");
    var countEl = card.querySelector("[data-progress-count]");
    var statusEl = card.querySelector("[data-progress-status]");
    var failures = 0;
    var lastLabel = labelEl ? labelEl.textContent : "";

    function show(p) {
      if (p.percent === null || p.percent === undefined) {
        bar.removeAttribute("value");
        bar.removeAttribute("aria-valuenow");
        bar.setAttribute("aria-valuetext", "working, " + p.label);
        text(percentEl, "");
      } else {
        bar.value = p.percent;
        bar.setAttribute("aria-valuenow", String(p.percent));
        bar.setAttribute("aria-valuetext", p.percent + " %, " + p.label);
        bar.textContent = p.percent + " %";
        text(percentEl, p.percent + " %");
      }
      if (p.label !== lastLabel) { text(labelEl, p.label); lastLabel = p.label; }
      // The server words the count from the same numbers as the percent (progress_numbers).
      text(countEl, p.count_text || "");
      if (statusEl) {
        var badge = document.createElement("span");
        badge.className = "badge badge-" + p.status;
        badge.textContent = p.status_label;
        statusEl.replaceChildren(badge);
      }
    }

    function finish(p) {
      card.setAttribute("data-finished", "true");
      // Let the full bar be seen, then show the server-rendered summary of this run.
      // A page may name where to go instead (the wizard's review page: back to the preview).
      var done = card.getAttribute("data-done-url");
      window.setTimeout(function () {
        if (done) {
          window.location.replace(done);
          if (done.indexOf("#") !== -1) window.location.reload();  // only the fragment changed
        } else {
          window.location.replace(window.location.pathname + "?run=" + encodeURIComponent(p.run_id));
        }
      }, 400);
    }

    function poll() {
      fetch(url, { headers: { "Accept": "application/json" }, credentials: "same-origin", cache: "no-store" })
        .then(function (response) {
          var type = response.headers.get("content-type") || "";
          if (!response.ok || type.indexOf("application/json") === -1) throw new Error("status " + response.status);
          return response.json();
        })
        .then(function (p) {
          failures = 0;
          show(p);
          if (p.finished || p.held) finish(p);
          else window.setTimeout(poll, every);
        })
        .catch(function () {
          failures += 1;
          if (failures >= 5) { window.location.reload(); return; }  // signed out, or the server restarted
          window.setTimeout(poll, every * Math.min(8, Math.pow(2, failures)));
        });
    }

    window.setTimeout(poll, every);
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-progress-url]").forEach(function (card) {
      if (card.getAttribute("data-finished") !== "true") start(card);
    });
  });
})();
