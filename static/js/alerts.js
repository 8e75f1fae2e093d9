// Hotlist alerts: a short poll (no plates in it) that keeps the banner on every portal page
// and the alert page's table up to date. A new alert plays a tone once and shows the banner
// until someone records what the image shows.
(function () {
  "use strict";
  var banner = document.getElementById("alert-banner");
  var table = document.getElementById("alert-table");
  var source = banner || table;
  if (!source) { return; }
  var url = source.getAttribute("data-poll");
  var every = Number(source.getAttribute("data-interval") || "3000");
  var SEEN = "alpr-alert-seen";
  var audio = null;

  function seen() { return Number(window.localStorage.getItem(SEEN) || "0"); }

  function tone() {
    try {
      var Ctx = window.AudioContext || window.webkitAudioContext;
      if (!Ctx) { return; }
      audio = audio || new Ctx();
      if (audio.state === "suspended") { audio.resume(); }
      [0, 0.35].forEach(function (start) {
        var osc = audio.createOscillator();
        var gain = audio.createGain();
        osc.type = "square";
        osc.frequency.value = 880;
        gain.gain.value = 0.08;
        osc.connect(gain);
        gain.connect(audio.destination);
        osc.start(audio.currentTime + start);
        osc.stop(audio.currentTime + start + 0.2);
      });
    } catch (e) { /* no sound available: the banner still shows */ }
    if (banner) { banner.setAttribute("data-sounded", String(Number(banner.getAttribute("data-sounded") || "0") + 1)); }
  }

  function showBanner(data) {
    if (!banner) { return; }
    if (!data.new) { banner.hidden = true; return; }
    var text = banner.querySelector("[data-alert-text]");
    var link = banner.querySelector("a");
    text.textContent = data.new === 1 ? "1 new hotlist alert" : data.new + " new hotlist alerts";
    if (data.newest_new) { link.href = link.getAttribute("data-base") + data.newest_new + "/"; }
    banner.hidden = false;
  }

  function cell(row, text) {
    var td = document.createElement("td");
    td.textContent = text;
    row.appendChild(td);
    return td;
  }

  function fillTable(data) {
    if (!table) { return; }
    var count = document.getElementById("alerts-new");
    if (count) { count.textContent = String(data.new); }
    var open = document.getElementById("alerts-open");
    if (open) { open.textContent = String(data.open); }
    var more = document.getElementById("alerts-more");
    var moreCount = document.getElementById("alerts-more-count");
    if (more && moreCount) { moreCount.textContent = String(data.more); more.hidden = !data.more; }
    var body = table.tBodies[0];
    var rows = document.createDocumentFragment();
    data.alerts.forEach(function (alert) {
      var tr = document.createElement("tr");
      tr.className = "alert-row status-" + alert.status;
      tr.setAttribute("data-alert-id", String(alert.id));
      var first = cell(tr, "");
      var a = document.createElement("a");
      a.href = alert.url;
      a.textContent = "#" + alert.id;
      first.appendChild(a);
      cell(tr, new Date(alert.at).toLocaleString());
      cell(tr, alert.list);
      cell(tr, alert.reason);
      cell(tr, alert.camera);
      cell(tr, alert.similar ? "similar characters" : "exact");
      cell(tr, alert.status_label);
      rows.appendChild(tr);
    });
    if (!data.alerts.length) {
      var tr = document.createElement("tr");
      var td = cell(tr, "No open alerts.");
      td.colSpan = 7;
      td.className = "empty";
      rows.appendChild(tr);
    }
    body.replaceChildren(rows);
  }

  function poll() {
    fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) {
        var type = response.headers.get("Content-Type") || "";
        if (!response.ok || type.indexOf("application/json") !== 0) { throw new Error("stop"); }
        return response.json();
      })
      .then(function (data) {
        showBanner(data);
        fillTable(data);
        if (data.newest_new && data.newest_new > seen()) {
          window.localStorage.setItem(SEEN, String(data.newest_new));
          tone();
        }
        window.setTimeout(poll, every);
      })
      .catch(function () { /* signed out, or no longer allowed: stop polling */ });
  }
  poll();
})();
