// Live progress bars. Every element with data-status-url holds a <progress>; this polls the
// version_status JSON view once a second and moves the bar, without reloading the page.
// When the training ends: data-on-finish="reload" swaps in the freshly rendered page body
// (metrics, plots, prediction form); otherwise the row's status badge is updated in place.
(function () {
  "use strict";
  var POLL_MS = 1000;
  var RETRY_MS = 3000;
  var HOLD_MS = 1000; // let the full bar be seen before the results replace it

  function setText(root, selector, text) {
    var node = root.querySelector(selector);
    if (node) {
      node.textContent = text;
    }
  }

  function badge(root, status) {
    var scope = root.closest("li, tr, [data-version-body]") || document;
    var node = scope.querySelector("[data-status-badge]");
    if (node) {
      node.textContent = status;
      node.className = "badge status-" + status;
    }
  }

  function swapBody() {
    return fetch(window.location.pathname, { credentials: "same-origin", cache: "no-store" })
      .then(function (response) {
        if (!response.ok) {
          throw new Error("HTTP " + response.status);
        }
        return response.text();
      })
      .then(function (html) {
        var fresh = new DOMParser()
          .parseFromString(html, "text/html")
          .querySelector("[data-version-body]");
        var current = document.querySelector("[data-version-body]");
        if (fresh && current) {
          current.replaceWith(document.importNode(fresh, true));
          start(document.querySelector("[data-version-body]"));
        } else {
          window.location.reload();
        }
      })
      .catch(function () {
        window.location.reload();
      });
  }

  var HEADINGS = {
    queued: "Waiting for a worker",
    running: "Training",
    ready: "Training finished",
    failed: "Training failed",
    cancelled: "Training cancelled",
  };

  // The version page's training section: its heading and clock follow the same poll as the
  // bar and the badge, so that the page never says two states at once.
  function section(root, data) {
    var body = root.closest("[data-version-body]");
    if (!body) {
      return;
    }
    setText(body, "[data-training-heading]", HEADINGS[data.status] || data.status);
    setText(body, "[data-training-clock]", data.clock ? data.clock.text : "");
  }

  function finish(root, data) {
    section(root, data);
    var bar = root.querySelector("progress");
    if (data.status === "ready" && bar) {
      bar.value = 100;
    }
    setText(root, "[data-progress-label]", data.status === "ready" ? "100% · done" : data.status);
    badge(root, data.status);
    root.setAttribute("data-finished", data.status);
    if (root.getAttribute("data-on-finish") === "reload") {
      window.setTimeout(swapBody, HOLD_MS);
    } else if (data.headline) {
      setText(root, "[data-progress-label]", data.headline.metric + " " + data.headline.value.toFixed(3));
    } else if (data.error) {
      setText(root, "[data-progress-label]", "failed");
      root.title = data.error;
    }
  }

  function watch(root) {
    var url = root.getAttribute("data-status-url");
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
          if (data.finished) {
            finish(root, data);
            return;
          }
          if (bar) {
            bar.value = data.progress;
            bar.textContent = data.progress + "%";
          }
          setText(root, "[data-progress-label]", data.status === "queued" ? "queued" : data.progress + "%");
          badge(root, data.status);
          section(root, data);
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
    scope.querySelectorAll("[data-status-url]").forEach(watch);
  }

  start(document);
})();
