// Map of search result locations with the vendored Leaflet and no tile server: markers sit on
// a plain grid (CSS background), so it works offline and sends nothing to third parties.
(function () {
  "use strict";
  var element = document.getElementById("results-map");
  var data = document.getElementById("map-points");
  if (!element || !data || typeof L === "undefined") { return; }
  var points = JSON.parse(data.textContent);
  if (!points.length) { element.hidden = true; return; }
  var map = L.map(element, { attributionControl: false, zoomSnap: 0.25 });
  var largest = points.reduce(function (m, p) { return Math.max(m, p.count); }, 1);
  var markers = points.map(function (p) {
    var marker = L.circleMarker([p.lat, p.lng], {
      radius: 6 + 10 * Math.sqrt(p.count / largest),
      color: "#174a88", weight: 2, fillColor: "#1f5fae", fillOpacity: 0.55
    });
    marker.bindTooltip(p.camera + ": " + p.count + " read" + (p.count === 1 ? "" : "s"));
    return marker.addTo(map);
  });
  var bounds = L.featureGroup(markers).getBounds();
  if (points.length === 1) { map.setView(bounds.getCenter(), 14); }
  else { map.fitBounds(bounds.pad(0.2), { maxZoom: 15 }); }
  element.setAttribute("data-markers", String(points.length));
})();
