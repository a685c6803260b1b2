"""Checks of a built site as a reader meets it: each returns a list of problems, empty when fine.

Two kinds: checks of the HTML files themselves (links, anchors, images, alt text, figures that
stay readable on a dark page), and checks of a page loaded in a browser with no network
(`pragmatic.site.browser.OfflinePage`): formulas typeset, accessibility (axe-core), no sideways
scrolling, working navigation. `tests/test_site.py` runs them on both editions of the book, and
on a small book with planted faults to show that each can fail.

Run them on a built site: `python -m pragmatic.site.checks _build/html`.
"""

import argparse
import re
import sys
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

from PIL import Image

from pragmatic.site.assets import NODE_MODULES
from pragmatic.site.browser import DESKTOP, PHONE, OfflinePage, browser, serve

AXE = NODE_MODULES / "axe-core" / "axe.min.js"
WCAG_21_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
# Sphinx's own generated pages, and the search page whose results need a query.
GENERATED = {"genindex.html", "search.html"}


def pages(site: Path) -> list[str]:
    """Every page of the site, as paths relative to its root."""
    skip = ("_static/", "_sources/", "_images/", "_downloads/")
    return sorted(p.relative_to(site).as_posix() for p in site.rglob("*.html")
                  if not p.relative_to(site).as_posix().startswith(skip))


class _Parsed(HTMLParser):
    def __init__(self):
        super().__init__()
        self.ids, self.links, self.images = set(), [], []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        for key in ("id", "name"):
            if attrs.get(key):
                self.ids.add(attrs[key])
        if tag == "a" and attrs.get("href"):
            self.links.append(attrs["href"])
        if tag == "img":
            self.images.append(attrs)


def _parse(path: Path, cache: dict) -> _Parsed:
    if path not in cache:
        parsed = _Parsed()
        parsed.feed(path.read_text(errors="replace"))
        cache[path] = parsed
    return cache[path]


def _local(url: str) -> bool:
    scheme = urlsplit(url).scheme
    return scheme == "" and not url.startswith("//")


def check_links(site: Path, page: str, cache: dict | None = None) -> list[str]:
    """Every internal link resolves to a file, and every #anchor to an id in its target."""
    cache = {} if cache is None else cache
    here = site / page
    problems = []
    for href in _parse(here, cache).links:
        if not _local(href):
            continue
        parts = urlsplit(href)
        target = here if not parts.path else (here.parent / unquote(parts.path)).resolve()
        if target.is_dir():
            target = target / "index.html"
        if not target.exists():
            problems.append(f"{page}: link to {href} resolves to nothing")
        elif parts.fragment and target.suffix == ".html" and \
                unquote(parts.fragment) not in _parse(target, cache).ids:
            problems.append(f"{page}: link to {href}: no anchor #{parts.fragment} there")
    return problems


def check_images(site: Path, page: str, cache: dict | None = None) -> list[str]:
    """Every image resolves, has alt text, and is opaque (a transparent figure turns its black
    text invisible on the dark theme's background)."""
    cache = {} if cache is None else cache
    here = site / page
    problems = []
    for attrs in _parse(here, cache).images:
        src = attrs.get("src", "")
        if not (attrs.get("alt") or "").strip():
            problems.append(f"{page}: image {src} has no alt text")
        if not _local(src) or src.startswith("data:"):
            continue
        path = (here.parent / unquote(urlsplit(src).path)).resolve()
        if not path.exists():
            problems.append(f"{page}: image {src} resolves to nothing")
        elif path.suffix.lower() == ".png":
            with Image.open(path) as image:
                if image.mode in ("RGBA", "LA", "P") and \
                        image.convert("RGBA").getchannel("A").getextrema()[0] < 255:
                    problems.append(f"{page}: image {src} is transparent; on the dark theme "
                                    "its lines and text lose their background")
    return problems


# Visible text outside code and scripts: what a reader reads. KaTeX's hidden MathML for screen
# readers carries each formula's TeX as an annotation, so it is left out.
_VISIBLE_TEXT = """() => {
  const body = document.querySelector('main') || document.body;
  const copy = body.cloneNode(true);
  copy.querySelectorAll('pre, code, script, style, textarea, .katex-mathml')
      .forEach(e => e.remove());
  return copy.textContent;
}"""
_MATH_STATE = """() => {
  const math = [...document.querySelectorAll('.math')];
  return {total: math.length,
          untypeset: math.filter(e => !e.querySelector('.katex')).length};
}"""
_TEX = ("\\(", "\\)", "\\[", "\\]", "$$", "\\begin{", "\\frac", "\\mathrm", "\\hat")


def check_math(offline: OfflinePage, page: str) -> list[str]:
    """Every formula typeset (one KaTeX cannot parse is left as TeX), and no TeX source left
    in the text."""
    state = offline.page.evaluate(_MATH_STATE)
    problems = []
    if state["untypeset"]:
        problems.append(f"{page}: {state['untypeset']} of {state['total']} formulas untypeset")
    text = offline.page.evaluate(_VISIBLE_TEXT)
    left = sorted({tex for tex in _TEX if tex in text})
    if left:
        problems.append(f"{page}: TeX source {' '.join(left)} shows in the text")
    return problems


def check_loaded(offline: OfflinePage, page: str) -> list[str]:
    """No console errors, no failed requests, nothing fetched from outside the site."""
    return ([f"{page}: request left the site: {url}" for url in offline.blocked]
            + [f"{page}: failed request: {failure}" for failure in offline.failed]
            + [f"{page}: console error: {error}" for error in offline.errors])


# Colour contrast is by far axe's slowest rule (20 s on a lab's long tables). A table row past
# the third repeats the colours of the first three (text, and both stripes of a striped table),
# so that rule skips those rows; every other rule sees the whole page.
_REPEATED_ROWS = "tbody tr:nth-child(n+4)"
_AXE_RUN = """([context, options]) => axe.run(context, options).then(r => r.violations)"""


def check_axe(offline: OfflinePage, page: str, contrast_only: bool = False) -> list[str]:
    """axe-core's WCAG 2.1 A and AA rules: zero violations. `contrast_only` runs colour
    contrast alone, for a second theme: the other rules read the page's structure, which a
    theme does not change."""
    if not AXE.exists():
        raise RuntimeError(f"{AXE} is missing: run `make node_modules` (npm ci) first")
    offline.page.add_script_tag(path=str(AXE))
    violations = [] if contrast_only else offline.page.evaluate(_AXE_RUN, [
        {"exclude": []}, {"runOnly": {"type": "tag", "values": WCAG_21_AA},
                          "rules": {"color-contrast": {"enabled": False}}}])
    violations += offline.page.evaluate(
        _AXE_RUN, [{"exclude": [[_REPEATED_ROWS]]},
                   {"runOnly": {"type": "rule", "values": ["color-contrast"]}}])
    return [f"{page}: axe {v['id']} ({v['impact']}): {v['help']}: "
            + "; ".join(" ".join(n["target"]) for n in v["nodes"][:3])
            for v in violations]


_OVERFLOW = """() => {
  const width = document.documentElement.clientWidth;
  if (document.documentElement.scrollWidth <= width + 1) return null;
  // An element that sticks out inside a box that scrolls or clips (a code cell, a table, a
  // wide formula) is not what widens the page: name the ones that are not in such a box.
  const contained = e => {
    for (let a = e.parentElement; a; a = a.parentElement) {
      if (['auto', 'scroll', 'hidden', 'clip'].includes(getComputedStyle(a).overflowX)
          && a.getBoundingClientRect().right <= width + 1) return true;
    }
    return false;
  };
  const wide = [...document.querySelectorAll('body *')]
      .filter(e => e.getBoundingClientRect().right > width + 1 && !contained(e))
      .slice(0, 3)
      .map(e => e.tagName.toLowerCase() + (e.id ? '#' + e.id : '')
                + (e.className && typeof e.className === 'string'
                   ? '.' + e.className.trim().split(/\\s+/).join('.') : ''));
  return {scroll: document.documentElement.scrollWidth, width, wide};
}"""


def check_width(offline: OfflinePage, page: str) -> list[str]:
    """The page does not scroll sideways (code cells and tables scroll inside themselves)."""
    over = offline.page.evaluate(_OVERFLOW)
    if over is None:
        return []
    return [f"{page}: at {over['width']} px the page is {over['scroll']} px wide: "
            f"{', '.join(over['wide']) or 'no single element'}"]


def check_navigation(offline: OfflinePage, page: str) -> list[str]:
    """On a phone the table of contents opens from its button and its links lead somewhere."""
    p = offline.page
    toggle = p.locator("button.primary-toggle:visible").first
    if not toggle.count():
        return [f"{page}: no visible button opens the table of contents"]
    toggle.click()
    link = p.locator("nav.bd-links a.reference.internal:visible").first
    try:
        link.wait_for(state="visible", timeout=3000)
    except Exception:  # Playwright's TimeoutError: the sidebar did not open
        return [f"{page}: the table of contents button does not show the contents"]
    before = p.url
    link.click()
    p.wait_for_load_state("load")
    if p.url == before and link.get_attribute("href") not in ("#", ""):
        return [f"{page}: following the first contents link did not leave the page"]
    return []


def check_dark(offline: OfflinePage, page: str) -> list[str]:
    """The dark theme is the one showing (the reader's system asks for it)."""
    theme = offline.page.evaluate("() => document.documentElement.dataset.theme")
    return [] if theme == "dark" else [f"{page}: dark theme requested, {theme!r} shown"]


_REFRESH = re.compile(r'<meta http-equiv="Refresh" content="0; url=([^"]+)"', re.IGNORECASE)


def check_redirect(site: Path, page: str) -> tuple[bool, list[str]]:
    """Whether the page only redirects (Jupyter Book's index.html), and whether its target
    exists; the browser checks then read the target, not the redirect."""
    match = _REFRESH.search((site / page).read_text(errors="replace"))
    if not match:
        return False, []
    target = (site / page).parent / match.group(1)
    return True, [] if target.exists() else [f"{page}: redirects to missing {match.group(1)}"]


def check_site(site: Path, chrome, math_only: bool = False) -> dict[str, list[str]]:
    """Every check on every page of a built site, by kind; `math_only` for an unexecuted
    edition (formulas and requests only)."""
    found, cache = {}, {}

    def record(kind, problems):
        found.setdefault(kind, []).extend(problems)

    with serve(site) as base:
        for page in pages(site):
            redirect, problems = check_redirect(site, page)
            if redirect:
                record("links", problems)
                continue
            with OfflinePage(chrome, base, DESKTOP) as offline:
                offline.open(page)
                record("math", check_math(offline, page))
                # Before axe: its style-sheet reader requests the theme's @import relative to
                # the page (a 404 that is axe's, not the site's).
                record("requests", check_loaded(offline, page))
                if math_only:
                    continue
                record("axe", check_axe(offline, page))
                record("width", check_width(offline, page))
            record("links", check_links(site, page, cache))
            record("images", check_images(site, page, cache))
            with OfflinePage(chrome, base, DESKTOP, dark=True) as offline:
                offline.open(page)
                record("dark", check_dark(offline, page)
                       + check_axe(offline, page, contrast_only=True))
            with OfflinePage(chrome, base, PHONE) as offline:
                offline.open(page)
                record("phone", check_width(offline, page) + check_navigation(offline, page))
    return found


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("site", type=Path, help="a built site, e.g. _build/html")
    parser.add_argument("--math-only", action="store_true",
                        help="only formulas and failed requests (an unexecuted edition)")
    args = parser.parse_args(argv)
    if not (args.site / "index.html").exists():
        parser.error(f"{args.site} holds no index.html: build the site first (make book)")
    with browser() as chrome:
        found = check_site(args.site, chrome, args.math_only)
    problems = [problem for kind in found.values() for problem in kind]
    print("\n".join(problems) or f"{len(pages(args.site))} pages: no problems")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
