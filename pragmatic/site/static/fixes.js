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
