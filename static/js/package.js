// Evidence package progress: poll the status while the package is queued or building.
(function () {
  "use strict";
  var box = document.getElementById("package-progress");
  if (!box) { return; }
  var url = box.getAttribute("data-status-url");
  var bar = box.querySelector("progress");
  var state = box.querySelector("[data-testid=package-state]");
  var link = box.querySelector("[data-testid=package-download]");
  var sha = box.querySelector("[data-testid=package-sha]");
  function poll() {
    fetch(url, { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (r) { return r.json(); })
      .then(function (s) {
        bar.value = s.percent;
        state.textContent = s.status_label + ": " + s.done + " of " + s.total + " captures" +
          (s.error ? " (" + s.error + ")" : "");
        box.setAttribute("data-status", s.status);
        if (s.status === "ready") {
          link.hidden = false;
          sha.textContent = "SHA-256 of the file: " + s.sha256;
        } else if (s.status !== "failed") {
          window.setTimeout(poll, 1000);
        }
      })
      .catch(function () { window.setTimeout(poll, 3000); });
  }
  var status = box.getAttribute("data-status");
  if (status === "queued" || status === "building") { window.setTimeout(poll, 500); }
})();
