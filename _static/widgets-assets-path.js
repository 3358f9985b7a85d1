// Runs between the vendored require.js and the vendored widget manager (embed-amd.js),
// on the pages that embed widgets (see nb_ipywidgets_js in _config.yml).
//
// The widget manager's CSS refers to its Font Awesome fonts by URLs relative to the
// location of its AMD modules.  Those modules are defined inside embed-amd.js under the
// names "@jupyter-widgets/base", ".../controls", ".../html-manager/dist/libembed-amd" ...,
// which require.js would place relative to the *page* (chapters/@jupyter-widgets/...: 404s,
// from whichever module's CSS happens to load first).  We map those names to the folder
// the vendored files really live in, which we derive from this script's own URL, so it
// works for pages at any depth, over http(s) and from file:// alike.
(function () {
  var here = document.currentScript && document.currentScript.src;
  if (!here) {
    return;
  }
  var vendor = here.replace(/[^/]*$/, "") + "vendor/html-manager";
  window.__jupyter_widgets_assets_path__ = vendor + "/";
  if (window.requirejs) {
    // The longest matching prefix wins in require.js, so every module lands in `vendor`.
    window.requirejs.config({
      paths: { "@jupyter-widgets": vendor, "@jupyter-widgets/html-manager/dist": vendor },
    });
  }
})();
