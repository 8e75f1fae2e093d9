// Outline the plate box ([x, y, w, h] in the vehicle image's pixels) over the shown image.
(function () {
  "use strict";
  document.querySelectorAll(".boxed[data-box]").forEach(function (holder) {
    var img = holder.querySelector("img");
    var box = holder.getAttribute("data-box").split(",").map(Number);
    if (!img || box.length !== 4 || box.some(isNaN)) { return; }
    var outline = document.createElement("div");
    outline.className = "plate-outline";
    outline.setAttribute("aria-hidden", "true");
    holder.appendChild(outline);
    function place() {
      if (!img.naturalWidth) { return; }
      var scale = img.clientWidth / img.naturalWidth;
      outline.style.left = (img.offsetLeft + box[0] * scale) + "px";
      outline.style.top = (img.offsetTop + box[1] * scale) + "px";
      outline.style.width = (box[2] * scale) + "px";
      outline.style.height = (box[3] * scale) + "px";
      outline.hidden = false;
    }
    outline.hidden = true;
    if (img.complete) { place(); } else { img.addEventListener("load", place); }
    window.addEventListener("resize", place);
  });
})();
