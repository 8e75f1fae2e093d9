// The search form's camera filter: typing narrows the camera checkboxes to matching names
// (checked cameras stay visible, so a choice is never hidden). No inline script (CSP).
(function () {
  "use strict";
  var box = document.querySelector("input[data-filters]");
  if (!box) { return; }
  var list = document.getElementById(box.getAttribute("data-filters"));
  if (!list) { return; }
  var choices = Array.prototype.slice.call(list.querySelectorAll("label"));
  box.addEventListener("input", function () {
    var needle = box.value.trim().toLowerCase();
    choices.forEach(function (label) {
      var input = label.querySelector("input");
      var match = !needle || label.textContent.toLowerCase().indexOf(needle) !== -1;
      label.hidden = !(match || (input && input.checked));
    });
  });
})();
