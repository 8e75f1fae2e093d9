// Map of search result locations with the vendored Leaflet, linked to the results table.
// Under the points: street tiles from the configured tile server (ALPR_MAP_TILE_URL), else
// the vendored basemap of the demo area (an SVG drawn from the demo's cameras), so the map
// works offline and sends nothing to third parties unless a tile server is configured.
// Hovering or focusing a table row highlights its point (and opens its label); hovering a
// point highlights its rows.
(function () {
  "use strict";
  var element = document.getElementById("results-map");
  var data = document.getElementById("map-points");
  var configData = document.getElementById("map-config");
  if (!element || !data || typeof L === "undefined") { return; }
  var points = JSON.parse(data.textContent);
  var config = configData ? JSON.parse(configData.textContent) : {};
  if (!points.length) { element.hidden = true; return; }
  var map = L.map(element, { attributionControl: Boolean(config.tiles), zoomSnap: 0.25 });
  if (config.tiles) {
    L.tileLayer(config.tiles, {
      maxZoom: 19,
      attribution: config.attribution || "",
      // OpenStreetMap's tile policy asks for a Referer; the page's policy (same-origin)
      // would send none, so tiles send the portal's origin only, never the page's address.
      referrerPolicy: "strict-origin"
    }).addTo(map);
    element.setAttribute("data-basemap", "tiles");
  } else if (config.basemap && config.basemap_bounds) {
    L.imageOverlay(config.basemap, config.basemap_bounds, {
      alt: "Street map of the demo area", className: "basemap-image"
    }).addTo(map);
    element.setAttribute("data-basemap", "vendored");
  }
  var largest = points.reduce(function (m, p) { return Math.max(m, p.count); }, 1);
  var normal = { color: "#174a88", weight: 2, fillColor: "#1f5fae", fillOpacity: 0.55 };
  var active = { color: "#b54708", weight: 4, fillColor: "#f79009", fillOpacity: 0.9 };
  var markers = points.map(function (p, index) {
    var marker = L.circleMarker([p.lat, p.lng], L.extend({
      radius: 6 + 10 * Math.sqrt(p.count / largest)
    }, normal));
    marker.bindTooltip(p.camera + ": " + p.count + " read" + (p.count === 1 ? "" : "s"));
    return marker.addTo(map);
  });
  var bounds = L.featureGroup(markers).getBounds();
  if (points.length === 1) { map.setView(bounds.getCenter(), 14); }
  else { map.fitBounds(bounds.pad(0.2), { maxZoom: 15 }); }
  markers.forEach(function (marker, index) {  // drawn once the map has its view
    var path = marker.getElement();
    if (path) { path.setAttribute("data-point", String(index)); }
  });
  element.setAttribute("data-markers", String(points.length));

  // Rows and points share a place: the same camera at the same coordinates.
  var rows = Array.prototype.slice.call(document.querySelectorAll("tr[data-lat]"));
  function pointOf(row) {
    var lat = parseFloat(row.getAttribute("data-lat"));
    var lng = parseFloat(row.getAttribute("data-lng"));
    var camera = row.getAttribute("data-camera");
    for (var i = 0; i < points.length; i += 1) {
      var p = points[i];
      if (p.camera === camera && Math.abs(p.lat - lat) < 1e-6 && Math.abs(p.lng - lng) < 1e-6) {
        return i;
      }
    }
    return -1;
  }
  function highlight(index, on) {
    var marker = markers[index];
    if (!marker) { return; }
    marker.setStyle(on ? active : normal);
    var path = marker.getElement();
    if (path) { path.classList.toggle("is-active", on); }
    if (on) { marker.bringToFront(); marker.openTooltip(); } else { marker.closeTooltip(); }
    rows.forEach(function (row) {
      if (row.pointIndex === index) { row.classList.toggle("is-active", on); }
    });
  }
  rows.forEach(function (row) {
    row.pointIndex = pointOf(row);
    if (row.pointIndex < 0) { return; }
    row.addEventListener("mouseenter", function () { highlight(row.pointIndex, true); });
    row.addEventListener("mouseleave", function () { highlight(row.pointIndex, false); });
    row.addEventListener("focusin", function () { highlight(row.pointIndex, true); });
    row.addEventListener("focusout", function () { highlight(row.pointIndex, false); });
  });
  markers.forEach(function (marker, index) {
    marker.on("mouseover", function () { highlight(index, true); });
    marker.on("mouseout", function () { highlight(index, false); });
  });
})();
