// The train form: show only the chosen algorithm's hyperparameters (the others are
// disabled, so they are neither validated nor sent), hide the target for unsupervised
// algorithms, and keep the target out of the features. The server checks all of it anyway.
(function () {
  "use strict";
  var form = document.getElementById("train-form");
  if (!form) {
    return;
  }
  var targetField = form.querySelector("[data-target-field]");
  var target = targetField ? targetField.querySelector("select") : null;
  var boxes = Array.prototype.slice.call(form.querySelectorAll("input[name=features]"));
  var excluded = null; // the feature box turned off because it is the target

  function chosen() {
    return form.querySelector("input[name=algorithm]:checked");
  }

  function supervised() {
    var radio = chosen();
    var holder = radio ? radio.closest("[data-supervised]") : null;
    return !holder || holder.getAttribute("data-supervised") === "1";
  }

  function syncFeatures() {
    var column = supervised() && target ? target.value : null;
    if (excluded && excluded.value !== column) {
      excluded.disabled = false;
      excluded.checked = true;
      excluded = null;
    }
    boxes.forEach(function (box) {
      if (box.value === column) {
        box.checked = false;
        box.disabled = true;
        excluded = box;
      }
    });
  }

  function update() {
    var radio = chosen();
    var id = radio ? radio.value : null;
    form.querySelectorAll("[data-params-for]").forEach(function (fieldset) {
      var active = fieldset.getAttribute("data-params-for") === id;
      fieldset.hidden = !active;
      fieldset.disabled = !active;
    });
    form.querySelectorAll("label.choice").forEach(function (label) {
      label.classList.toggle("selected", label.contains(radio));
    });
    if (targetField) {
      targetField.hidden = !supervised();
      target.disabled = !supervised();
    }
    syncFeatures();
  }

  form.addEventListener("change", function (event) {
    if (event.target.name === "algorithm" || event.target === target) {
      update();
    }
  });
  update();
})();
