// A leaderboard's live progress: polls the board's status JSON once a second (the pattern of
// progress.js) and, whenever another trial finishes or the board ends, swaps in the freshly
// rendered page body (table, chart, trials) without reloading the page.
(function () {
  "use strict";
  var POLL_MS = 1000;
  var RETRY_MS = 3000;

  function setText(root, selector, text) {
    var node = root.querySelector(selector);
    if (node) {
      node.textContent = text;
    }
  }

  function swapBody() {
    return fetch(window.location.pathname + window.location.search, {
      credentials: "same-origin",
      cache: "no-store",
    })
      .then(function (response) {
        if (!response.ok) {
          throw new Error("HTTP " + response.status);
        }
        return response.text();
      })
      .then(function (html) {
        var fresh = new DOMParser().parseFromString(html, "text/html").querySelector("[data-board-body]");
        var current = document.querySelector("[data-board-body]");
        if (!fresh || !current) {
          window.location.reload();
          return;
        }
        // Keep open the trials a person opened.
        var open = {};
        current.querySelectorAll("details[open][data-trial]").forEach(function (node) {
          open[node.getAttribute("data-trial")] = true;
        });
        var node = document.importNode(fresh, true);
        node.querySelectorAll("details[data-trial]").forEach(function (details) {
          if (open[details.getAttribute("data-trial")]) {
            details.open = true;
          }
        });
        current.replaceWith(node);
        start(node);
      })
      .catch(function () {
        window.location.reload();
      });
  }

  function watch(root) {
    var url = root.getAttribute("data-status-url");
    var seen = root.getAttribute("data-trials-done");
    var status = root.getAttribute("data-status");
    var bar = root.querySelector("progress");

    function tick() {
      fetch(url, { credentials: "same-origin", cache: "no-store", headers: { Accept: "application/json" } })
        .then(function (response) {
          if (!response.ok) {
            throw new Error("HTTP " + response.status);
          }
          return response.json();
        })
        .then(function (data) {
          if (bar) {
            bar.max = Math.max(data.trials_total, 1);
            bar.value = data.trials_done;
          }
          setText(root, "[data-board-trials]", data.trials_done + " of " + data.trials_total + " trials done");
          if (data.best) {
            setText(root, "[data-board-best]", data.best.label + " " + data.best.mean_text);
          }
          setText(document, "[data-board-status]", data.status);
          if (data.finished || String(data.trials_done) !== seen || data.status !== status) {
            swapBody(); // the fresh body starts its own poll while the board runs
            return;
          }
          window.setTimeout(tick, POLL_MS);
        })
        .catch(function () {
          window.setTimeout(tick, RETRY_MS); // a network blip or a restart: keep trying
        });
    }
    window.setTimeout(tick, POLL_MS);
  }

  function start(scope) {
    if (!scope || !window.fetch) {
      return;
    }
    scope.querySelectorAll("[data-board-progress][data-finished='0']").forEach(watch);
  }

  start(document);
})();
