/* Static twins of the course's ipywidgets (dbnlib/widgets.py, StaticTwin).
 *
 * A twin is a <div class="dbnlib-twin" data-frames="[png data URIs]"> holding
 * one <input type="range"> per control (data-stride: how far one step of it
 * moves in the frame list; data-labels: the value each position stands for)
 * and the <img> that shows the current frame. Moving any slider shows the
 * frame at sum(position * stride). Nothing is fetched: the frames are in the
 * page, drawn when the notebook ran, so this works offline with no kernel.
 */
(function () {
  "use strict";

  function update(twin) {
    var frames = twin._dbnlibFrames || (twin._dbnlibFrames = JSON.parse(twin.getAttribute("data-frames")));
    var index = 0, said = [];
    twin.querySelectorAll("input[type=range]").forEach(function (input) {
      var position = Number(input.value);
      var label = JSON.parse(input.getAttribute("data-labels"))[position];
      index += position * Number(input.getAttribute("data-stride"));
      var output = input.parentElement.querySelector("output");
      if (output) output.textContent = label;
      said.push(input.getAttribute("aria-label") + " " + label);
    });
    var img = twin.querySelector("img.dbnlib-twin-figure");
    img.src = frames[index];
    img.setAttribute("data-frame", String(index));
    img.title = said.join(", ");
  }

  // Delegated, so twins work whenever this script loads (it sits in <head>).
  document.addEventListener("input", function (event) {
    var twin = event.target.closest && event.target.closest(".dbnlib-twin");
    if (twin && event.target.matches("input[type=range]")) update(twin);
  });
  // A page restored from the back/forward cache keeps slider positions: redraw.
  window.addEventListener("pageshow", function () {
    document.querySelectorAll(".dbnlib-twin").forEach(update);
  });
})();
