// Loaded after require.js and before embed-amd.js, on pages with widgets only
// (see nb_ipywidgets_js in _config.yml). Written for this course; not part of
// the vendored packages.
(function () {
  // This folder, e.g. http://host/_static/widgets/
  var here = new URL(".", document.currentScript.src).href;

  // Each module in embed-amd.js (@jupyter-widgets/base, controls, html-manager)
  // finds its own files (the Font Awesome fonts of the controls) next to the
  // URL that require.js gives the module, by default relative to the page.
  // Point them all at this folder.
  var folder = here.replace(/\/$/, "");
  window.__jupyter_widgets_assets_path__ = here;
  window.requirejs.config({
    paths: {
      "@jupyter-widgets": folder,
      "@jupyter-widgets/html-manager/dist": folder,
    },
  });

  // The widgets typeset their labels with the MathJax 2 call
  // MathJax.Hub.Queue(["Typeset", MathJax.Hub, element]); the book loads
  // MathJax 3, which has no Hub. Forward such calls to MathJax 3. MathJax is
  // loaded with `defer`, so it exists once the DOM is parsed, before the
  // widgets are drawn on `load`.
  function addHub() {
    var mj = window.MathJax;
    if (!mj || mj.Hub || typeof mj.typesetPromise !== "function") return;
    mj.Hub = {
      Queue: function () {
        Array.prototype.forEach.call(arguments, function (job) {
          if (!Array.isArray(job) || job[0] !== "Typeset") return;
          var elements = job[2] ? [job[2]] : undefined;
          var ready = (mj.startup && mj.startup.promise) || Promise.resolve();
          ready.then(function () { return mj.typesetPromise(elements); }).catch(function (err) {
            console.warn("MathJax could not typeset a widget label:", err);
          });
        });
      },
    };
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", addHub);
  } else {
    addHub();
  }
  window.addEventListener("load", addHub);
})();
