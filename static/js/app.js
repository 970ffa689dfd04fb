// Small enhancements shared by every page. Everything here is optional: the pages work
// without JavaScript (no inline scripts anywhere, so a strict Content-Security-Policy holds).
(function () {
  "use strict";
  document.documentElement.classList.add("js");

  // A <select data-autosubmit> submits its form when it changes (the button is for no-JS).
  document.addEventListener("change", function (event) {
    var select = event.target.closest("select[data-autosubmit]");
    if (select && select.form) {
      select.form.submit();
    }
  });

  // A form sent back with errors: its summary takes the focus (which scrolls it into
  // view and has a screen reader read it), and each link in it moves the focus to its field.
  var summary = document.querySelector("[data-error-summary]");
  if (summary) {
    summary.focus();
  }
  document.addEventListener("click", function (event) {
    var link = event.target.closest("a[data-error-link]");
    var field = link ? document.getElementById(link.getAttribute("href").slice(1)) : null;
    if (field) {
      event.preventDefault();
      field.scrollIntoView({ block: "center" });
      field.focus();
    }
  });

  // <button data-copy="#selector"> copies that input's value (or that element's text, such
  // as a code snippet) to the clipboard.
  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-copy]");
    if (!button) {
      return;
    }
    var source = document.querySelector(button.getAttribute("data-copy"));
    if (!source) {
      return;
    }
    var text;
    if ("value" in source) {
      source.select();
      text = source.value;
    } else {
      var range = document.createRange();
      range.selectNodeContents(source);
      var selection = window.getSelection();
      selection.removeAllRanges();
      selection.addRange(range);
      text = source.textContent;
    }
    var done = function () {
      button.textContent = "Copied";
    };
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(text).then(done, function () {});
    } else if (document.execCommand && document.execCommand("copy")) {
      done();
    }
  });
})();
