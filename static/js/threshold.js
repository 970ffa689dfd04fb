// The version page's decision threshold: as the slider moves, the confusion matrix and the
// positive class's metrics on the held-out rows are recomputed from the counts training kept
// per probability bin (registry/training/evaluate.threshold_counts): rows in bins >= k are
// predicted positive at threshold k / bins. registry/web/presenters.threshold_counts_at
// computes the same numbers for the page as first shown.
(function () {
  "use strict";

  function suffixSums(counts) {
    var sums = new Array(counts.length + 1);
    sums[counts.length] = 0;
    for (var i = counts.length - 1; i >= 0; i--) {
      sums[i] = sums[i + 1] + counts[i];
    }
    return sums;
  }

  function ratio(a, b) {
    return (b ? a / b : 0).toFixed(4);
  }

  function init(section) {
    var data = document.getElementById("threshold-counts");
    var input = section.querySelector("[data-threshold-input]");
    if (!data || !input) {
      return;
    }
    var counts = JSON.parse(data.textContent);
    var pos = suffixSums(counts.pos);
    var neg = suffixSums(counts.neg);
    var output = section.querySelector("[data-threshold-value]");

    function set(selector, text) {
      var node = section.querySelector(selector);
      if (node) {
        node.textContent = text;
      }
    }

    function update() {
      var k = Math.round(parseFloat(input.value) * counts.bins);
      k = Math.min(Math.max(k, 1), counts.bins - 1);
      var tp = pos[k], fp = neg[k];
      var fn = pos[0] - tp, tn = neg[0] - fp;
      var n = tp + fp + fn + tn;
      set('[data-threshold-cell="tn"]', String(tn));
      set('[data-threshold-cell="fp"]', String(fp));
      set('[data-threshold-cell="fn"]', String(fn));
      set('[data-threshold-cell="tp"]', String(tp));
      set('[data-threshold-metric="accuracy"]', ratio(tp + tn, n));
      set('[data-threshold-metric="precision"]', ratio(tp, tp + fp));
      set('[data-threshold-metric="recall"]', ratio(tp, tp + fn));
      set('[data-threshold-metric="f1"]', ratio(2 * tp, 2 * tp + fp + fn));
      if (output) {
        output.textContent = String(k / counts.bins);
      }
    }

    input.addEventListener("input", update);
    update();
  }

  document.querySelectorAll("[data-threshold]").forEach(init);
})();
