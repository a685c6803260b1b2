// The theme wires only the first sidebar button of each kind (document.querySelector), and
// sphinx-book-theme's page header adds a second one, the only one a phone shows: pass its
// clicks on, so that a phone reader can open the table of contents (pragmatic.site.fixes).
document.addEventListener("DOMContentLoaded", () => {
  for (const kind of [".primary-toggle", ".secondary-toggle"]) {
    const [wired, ...others] = document.querySelectorAll(kind);
    for (const button of others) {
      button.addEventListener("click", (event) => {
        event.preventDefault();
        wired.click();
      });
    }
  }
});

// A display formula wider than its column scrolls (fixes.css); as the theme does for code
// cells, a scrolling one takes a tab stop, so that a keyboard can scroll it (WCAG 2.1.1).
// Either box can be the one that scrolls: Sphinx's div.math, or KaTeX's display inside it.
function tabStopsOnWideFormulas() {
  for (const math of document.querySelectorAll("div.math, .katex-display")) {
    const scrolls = math.scrollWidth > math.clientWidth;
    if (scrolls) {
      math.tabIndex = 0;
      math.setAttribute("role", "region");
      math.setAttribute("aria-label", "formula, scrolls sideways");
    } else {
      math.removeAttribute("tabindex");
      math.removeAttribute("role");
      math.removeAttribute("aria-label");
    }
  }
}
window.addEventListener("load", tabStopsOnWideFormulas);
window.addEventListener("resize", tabStopsOnWideFormulas);
