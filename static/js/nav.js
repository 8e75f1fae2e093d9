// The main navigation collapses behind a "Menu" button on narrow screens. Without this
// script the navigation simply stays open (the button is hidden until the script shows it).
(function () {
  var button = document.querySelector(".nav-toggle");
  var nav = document.getElementById("mainnav");
  if (!button || !nav) return;
  document.documentElement.classList.add("nav-collapsible");
  button.hidden = false;
  button.addEventListener("click", function () {
    var open = button.getAttribute("aria-expanded") !== "true";
    button.setAttribute("aria-expanded", open ? "true" : "false");
    nav.classList.toggle("nav-open", open);
  });
})();
