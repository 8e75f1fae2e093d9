// Every page: the main navigation collapses behind a "Menu" button on narrow screens (without
// this script it simply stays open: the button is hidden until the script shows it), and a
// table wider than the screen, which scrolls inside itself, can be scrolled from the keyboard.
(function () {
  var button = document.querySelector(".nav-toggle");
  var nav = document.getElementById("mainnav");
  if (button && nav) {
    document.documentElement.classList.add("nav-collapsible");
    button.hidden = false;
    button.addEventListener("click", function () {
      var open = button.getAttribute("aria-expanded") !== "true";
      button.setAttribute("aria-expanded", open ? "true" : "false");
      nav.classList.toggle("nav-open", open);
    });
  }

  function scrollableTables() {
    var tables = document.querySelectorAll("main table");
    for (var i = 0; i < tables.length; i++) {
      var table = tables[i];
      if (table.scrollWidth > table.clientWidth + 1) {
        if (!table.hasAttribute("tabindex")) {
          table.setAttribute("tabindex", "0");
          table.dataset.scrollFocus = "1";
        }
      } else if (table.dataset.scrollFocus) {
        table.removeAttribute("tabindex");
        delete table.dataset.scrollFocus;
      }
    }
  }
  scrollableTables();
  window.addEventListener("resize", scrollableTables);
})();
