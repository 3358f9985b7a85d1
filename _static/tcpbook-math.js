// Typesets the page's math with the vendored KaTeX (scripts/vendor_js.py), offline.
// scripts/build_book.py writes each formula's TeX into a .tcpbook-tex element and loads
// this file, after katex.min.js, only on pages that have math.  KaTeX renders HTML for the
// eye and MathML for screen readers; a formula it cannot parse stays readable as TeX.
(function () {
  function typeset() {
    if (!window.katex) {
      return;
    }
    document.querySelectorAll(".tcpbook-tex").forEach(function (el) {
      if (el.dataset.typeset) {
        return;
      }
      var tex = el.textContent;
      try {
        window.katex.render(tex, el, {
          displayMode: el.classList.contains("tcpbook-tex-display"),
          throwOnError: false,
          output: "htmlAndMathml",
        });
        el.dataset.typeset = "1";
      } catch (err) {
        el.textContent = tex;
      }
    });
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", typeset);
  } else {
    typeset();
  }
})();
