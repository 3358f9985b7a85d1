// Accessible names for the explorers' controls, on the pages that embed widgets (it is
// listed in nb_ipywidgets_js, _config.yml).  ipywidgets draws a slider as a noUiSlider
// handle (role="slider") with no name: its visible label ("loss") sits beside it.  A
// screen reader would announce "slider, 2"; with this it says "loss, slider, 20%".
(function () {
  function nameSliders(root) {
    root.querySelectorAll(".widget-slider, .widget-hslider").forEach(function (widget) {
      var handle = widget.querySelector(".noUi-handle");
      var label = widget.querySelector(".widget-label");
      if (!handle || !label) {
        return;
      }
      var name = label.textContent.trim();
      if (name && handle.getAttribute("aria-label") !== name) {
        handle.setAttribute("aria-label", name);
      }
      var readout = widget.querySelector(".widget-readout");
      var value = readout ? readout.textContent.trim() : "";
      if (value && handle.getAttribute("aria-valuetext") !== value) {
        handle.setAttribute("aria-valuetext", value);
      }
    });
  }
  var pending = false;
  function schedule() {
    // One pass per animation frame, however many nodes the widget manager adds.
    if (!pending) {
      pending = true;
      requestAnimationFrame(function () {
        pending = false;
        nameSliders(document);
      });
    }
  }
  new MutationObserver(schedule).observe(document.documentElement, {
    childList: true,
    subtree: true,
    characterData: true,
  });
})();
