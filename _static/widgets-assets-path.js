// Tell the vendored Jupyter widgets HTML manager where its font files live.
// embed-amd.js resolves the Font Awesome fonts of its CSS against
// window.__jupyter_widgets_assets_path__, or else against the page's own folder, which
// would 404 on every chapter page.  Our vendored copies sit next to embed-amd.js, and
// this script sits one folder above them, so we derive the path from our own URL: that
// works for pages at any depth, over http(s) and from file:// alike.
(function () {
  var here = document.currentScript && document.currentScript.src;
  if (here) {
    window.__jupyter_widgets_assets_path__ = here.replace(/[^/]*$/, "") + "vendor/html-manager/";
  }
})();
