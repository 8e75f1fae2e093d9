// Review queue keyboard shortcuts: C confirm, U unreadable, S skip, E edit (Enter saves),
// Escape leaves the fields. Loaded as a file: the CSP forbids inline scripts.
(function () {
  "use strict";
  var form = document.getElementById("review-form");
  if (!form) { return; }
  var plate = document.getElementById("id_plate");
  var state = document.getElementById("id_state");
  var busy = false;

  function submitWith(buttonId) {
    if (busy) { return; }
    var button = document.getElementById(buttonId);
    if (!button) { return; }
    busy = true;
    form.requestSubmit ? form.requestSubmit(button) : button.click();
  }

  function typing(target) {
    return target && (target.tagName === "INPUT" || target.tagName === "TEXTAREA" || target.tagName === "SELECT");
  }

  // Enter in the correction fields saves the correction (not the first button, "confirm").
  [plate, state].forEach(function (input) {
    if (!input) { return; }
    input.addEventListener("keydown", function (event) {
      if (event.key === "Enter") { event.preventDefault(); submitWith("btn-correct"); }
      if (event.key === "Escape") { input.blur(); }
    });
  });

  document.addEventListener("keydown", function (event) {
    if (event.ctrlKey || event.metaKey || event.altKey || typing(event.target)) { return; }
    var key = event.key.toLowerCase();
    if (key === "c") { event.preventDefault(); submitWith("btn-confirm"); }
    else if (key === "u") { event.preventDefault(); submitWith("btn-unreadable"); }
    else if (key === "s") {
      // No skip on a re-review (the read is not in the queue).
      var skip = document.getElementById("btn-skip");
      if (skip) { event.preventDefault(); skip.click(); }
    }
    else if (key === "e") { event.preventDefault(); plate.focus(); plate.select(); }
  });
})();
