// Drag-and-drop for file inputs inside a [data-dropzone]: a dropped file is put into the
// input (the form then submits it as usual) and its name is shown. Without JavaScript the
// file picker in the same box still works. Listeners are delegated, so a zone that is
// swapped in later (the version page after training) works too.
(function () {
  "use strict";

  function zoneOf(event) {
    return event.target.closest ? event.target.closest("[data-dropzone]") : null;
  }

  function showName(zone, input) {
    var label = zone.querySelector("[data-dropzone-name]");
    if (!label) {
      return;
    }
    var file = input.files && input.files[0];
    label.textContent = file ? file.name + " (" + Math.max(1, Math.round(file.size / 1024)) + " KB)" : "";
    zone.classList.toggle("has-file", Boolean(file));
  }

  ["dragenter", "dragover"].forEach(function (type) {
    document.addEventListener(type, function (event) {
      var zone = zoneOf(event);
      if (zone) {
        event.preventDefault();
        zone.classList.add("dragging");
      }
    });
  });

  document.addEventListener("dragleave", function (event) {
    var zone = zoneOf(event);
    if (zone && !zone.contains(event.relatedTarget)) {
      zone.classList.remove("dragging");
    }
  });

  document.addEventListener("drop", function (event) {
    var zone = zoneOf(event);
    if (!zone) {
      return;
    }
    event.preventDefault();
    zone.classList.remove("dragging");
    var input = zone.querySelector("input[type=file]");
    if (input && event.dataTransfer && event.dataTransfer.files.length) {
      input.files = event.dataTransfer.files;
      showName(zone, input);
    }
  });

  document.addEventListener("change", function (event) {
    var zone = zoneOf(event);
    if (zone && event.target.matches("input[type=file]")) {
      showName(zone, event.target);
    }
  });
})();
