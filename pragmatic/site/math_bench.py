"""Why the site bundles KaTeX, by measurement: each math renderer's weight and time to render.

    python -m pragmatic.site.math_bench [--site _build/html] [--pages PAGE ...] [--repeats 5] [--out F]

The site typesets its formulas with KaTeX, in the browser (`pragmatic.site.assets`): a page with
formulas loads `_static/vendor/katex/katex.min.css`, `katex.min.js` and
`contrib/auto-render.min.js` (both deferred), and an inline script runs auto-render on every
`.math` element at DOMContentLoaded. KaTeX was chosen by this measurement, and its MathJax rows
stay so that the comparison behind the choice can be rerun on the site as it is now built.

It loads the site's most formula-heavy pages (most `.math` elements) in the system Chromium with
the network blocked (`pragmatic.site.browser`), once with each candidate, without rebuilding:

- katex:         the site as it ships, served as it is;
- mathjax-chtml: MathJax 3 tex-chtml.js in KaTeX's place (TeX in, HTML and CSS out, web fonts);
- mathjax-svg:   MathJax 3 tex-svg.js in KaTeX's place (TeX in, SVG out: glyph outlines in the
                 JavaScript).

A MathJax candidate is served from a copy of the site made of links to its files (a temporary
folder), in which the files the pages ask KaTeX for are the bench's: `katex.min.js` is the MathJax
component from `node_modules/mathjax/es5` (npm, pinned) behind a few lines of configuration, so
that MathJax is fetched and run where KaTeX would be; `contrib/auto-render.min.js` a stub whose
`renderMathInElement` does nothing; `katex.min.css` empty; and `_static/vendor/mathjax/` (its
fonts and extensions) that folder of node_modules. MathJax gets the configuration the site gave
it when it shipped MathJax (what Sphinx and MyST wrote: typeset `.math` elements; an unknown
macro an error). All three come from the same loopback HTTP server code: answering from
Playwright routes instead (`page.route`) passes every body through Playwright's driver, which
here delayed a 2 MB script by about 250 ms and KaTeX's 270 kB by about 50, and would tilt the
times against the heavier renderer.

For each it reports:

- bytes: the renderer's JavaScript, CSS and fonts the page loaded (response bodies under
  `_static/vendor/katex/` and `_static/vendor/mathjax/`, what the bench wrote left out: the
  configuration, the stub, the empty stylesheet). The loopback server compresses nothing, so
  this is the uncompressed weight; "gzip" is the realistic figure a compressing server sends:
  JavaScript and CSS gzipped here at level 6, font files (WOFF/WOFF2, compressed formats that
  servers send as they are) counted as they are.
- typeset ms: from navigation start to every formula typeset (MathJax: its startup `pageReady`
  promise settling; KaTeX: the site's DOMContentLoaded handler returning, seen by a listener
  on the window, which the event reaches after the document's), the median of `--repeats` cold
  loads, each in a new browser context. "+fonts ms" waits further for `document.fonts.ready`:
  formulas drawn in their own fonts. "renderer ms" is the part of "typeset ms" after the page
  was parsed (`domInteractive`) and the renderer's scripts had arrived: running them and
  typesetting (for KaTeX, which the site runs at DOMContentLoaded, also the theme's deferred
  scripts and handlers that come first). Before it the page loads and parses, alike for all.
  Candidates are interleaved within each round, so load on a shared machine falls on all alike.
- failures: `.math` elements with no formula typeset inside (no `.katex` or `mjx-container`;
  the site's KaTeX leaves a formula it cannot parse as TeX), or typeset as errors (KaTeX's
  `.katex-error` and its default errorColor; MathJax's `merror`, and the red `\\name` of its
  `noundefined` extension). "TeX left" counts TeX source (a delimiter or a `\\command`) still
  in the visible text outside pre and code. A renderer with either cannot carry the book,
  whatever its speed.

KaTeX rendered at build time (a Sphinx extension running node) is not built. Its row,
"katex-static (est.)", is an estimate from the KaTeX run: the same CSS and fonts, no
JavaScript, plus what the typeset markup adds to the page's HTML (KaTeX's HTML and MathML in
place of the TeX source). Its time to render is not measured.
"""

from __future__ import annotations

import argparse
import gzip
import json
import statistics
import sys
import tempfile
from contextlib import ExitStack
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urlsplit

from pragmatic.site.assets import NODE_MODULES, VENDOR
from pragmatic.site.browser import OfflinePage, browser, serve

KATEX_URL = f"_static/{VENDOR}/katex/"            # what the site loads (pragmatic.site.assets)
MATHJAX_URL = f"_static/{VENDOR}/mathjax/"        # the bench's own: the site has no MathJax
KATEX_JS = KATEX_URL + "katex.min.js"             # the request a MathJax candidate answers
MATHJAX = NODE_MODULES / "mathjax" / "es5"
# What the site's MathJax was configured with (Sphinx writes mathjax3_config as window.MathJax;
# MyST asks for `.math` elements only, its pages' top sections being tex2jax_ignore).
MATHJAX_CONFIG = {"tex": {"packages": {"[-]": ["noundefined"]}},
                  "options": {"processHtmlClass": "tex2jax_process|mathjax_process|math|"
                                                  "output_area"}}
KATEX_ERROR = "#cc0000"                           # KaTeX's errorColor: the site sets none
REPEATS = 5
TOP = 3
TIMEOUT_MS = 120_000
FONTS = (".woff", ".woff2", ".ttf", ".otf")
SKIP = ("_static/", "_sources/", "_images/", "_downloads/")

# In every page before its own scripts. window.__benchDone(), called once every formula is
# typeset, sets window.__bench = {typeset, fonts} (performance.now(): ms from navigation start).
_INIT = """
window.__benchDone = () => {
  const typeset = performance.now();
  void document.body.offsetHeight;   // lay out the formulas, so that their fonts are asked for
  document.fonts.ready.then(() => { window.__bench = {typeset, fonts: performance.now()}; });
};
"""
# KaTeX as the site ships it: the site typesets in a DOMContentLoaded listener on the document.
# The event reaches a capturing listener on the window before it, a bubbling one after it.
_INIT_KATEX = _INIT + """(() => {
  const math = () => [...document.querySelectorAll('.math')].map(e => e.outerHTML);
  window.addEventListener('DOMContentLoaded', () => { window.__benchBefore = math(); }, true);
  window.addEventListener('DOMContentLoaded', () => {
    window.__benchAfter = math();
    window.__benchDone();
  });
})();
"""
# Ahead of MathJax's component, in the response to katex.min.js: the site's former configuration,
# MathJax's fonts and extensions from _static/vendor/mathjax/, and the end of typesetting.
_MATHJAX = """(() => {
  const fail = e => { window.__bench = {error: String(e && e.stack || e)}; };
  window.MathJax = Object.assign(%s, {
    loader: {paths: {mathjax: new URL('../mathjax', document.currentScript.src).href}},
    startup: {pageReady: () => MathJax.startup.defaultPageReady().then(__benchDone, fail)}});
})();
""" % json.dumps(MATHJAX_CONFIG)
STUB = "window.renderMathInElement = () => {};\n"   # the site's handler runs; MathJax typesets


@dataclass(frozen=True)
class Candidate:
    name: str
    entry: str | None = None    # MathJax component answering katex.min.js; None: KaTeX as built

    def answers(self) -> dict:
        """URL path (from the site's root) -> (bench's own text, file after it or None)."""
        if self.entry is None:
            return {}
        return {KATEX_JS: (_MATHJAX, MATHJAX / self.entry),
                KATEX_URL + "contrib/auto-render.min.js": (STUB, None),
                KATEX_URL + "katex.min.css": ("", None)}


def _overlay(site: Path, root: Path, candidate: Candidate) -> Path:
    """`root`: the built `site` as it would be with `candidate` in KaTeX's place, made of links
    to the site's files, except `_static/vendor/katex/` (the bench's answers) and
    `_static/vendor/mathjax/` (a link to MathJax in node_modules)."""
    vendor = Path("_static", VENDOR)
    own = {Path("_static"), vendor, vendor / "katex", vendor / "mathjax"}   # not links
    for folder in (Path(), Path("_static"), vendor):
        (root / folder).mkdir(parents=True)
        for entry in (site / folder).iterdir():
            if folder / entry.name not in own:
                (root / folder / entry.name).symlink_to(entry.resolve())
    (root / MATHJAX_URL).symlink_to(MATHJAX, target_is_directory=True)
    for path, (text, file) in candidate.answers().items():
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_bytes(text.encode() + (file.read_bytes() if file else b""))
    return root


CANDIDATES = [Candidate("mathjax-chtml", "tex-chtml.js"), Candidate("mathjax-svg", "tex-svg.js"),
              Candidate("katex")]

# After typesetting: formulas, those not typeset or typeset as errors, and TeX left in the text.
_STATE = r"""() => {
  const math = [...document.querySelectorAll('.math')];
  const typeset = e => e.querySelector('mjx-container, .katex, .katex-error');
  const probe = document.createElement('span');
  probe.style.color = '%s';   // KaTeX's errorColor, as the browser writes it back
  const katexError = e => e.querySelector('.katex-error')
      || [...e.querySelectorAll('.katex [style]')].some(s => s.style.color === probe.style.color);
  let errors = math.filter(katexError).length;
  const mj = window.MathJax && MathJax.startup && MathJax.startup.document;
  if (mj && mj.math) {
    for (const item of mj.math) {
      let bad = false;
      item.root.walkTree(node => {
        if (node.isKind('merror')) bad = true;
        // noundefined: an unknown \name typeset as red text rather than an error
        if (node.isKind('mtext') && node.attributes.get('mathcolor') === 'red'
            && node.getText().startsWith('\\')) bad = true;
      });
      errors += bad;
    }
  }
  const copy = document.body.cloneNode(true);
  copy.querySelectorAll('pre, code, script, style, textarea, .katex-mathml, mjx-assistive-mml')
      .forEach(e => e.remove());
  const text = copy.textContent;
  const tex = [...text.matchAll(/\\[()\[\]]|\$\$|\\[A-Za-z]+/g)]
      .slice(0, 10).map(m => text.slice(Math.max(0, m.index - 20), m.index + 30).trim());
  return {formulas: math.length, untypeset: math.filter(e => !typeset(e)).length, errors, tex};
}""" % KATEX_ERROR
# When the renderer could start: the page parsed, and the renderer's scripts (whatever answers
# the site's two KaTeX scripts) arrived.
_START = """() => Math.max(performance.getEntriesByType('navigation')[0].domInteractive,
    ...performance.getEntriesByType('resource')
      .filter(r => /[/]_static[/]vendor[/]katex[/](katex|contrib[/]auto-render)[.]min[.]js$/
                   .test(new URL(r.name).pathname))
      .map(r => r.responseEnd))"""


def _gzip_size(path: Path) -> int:
    data = path.read_bytes()
    return len(data) if path.suffix in FONTS else len(gzip.compress(data, compresslevel=6))


def _gzip_text(fragments: list[str]) -> int:
    return len(gzip.compress("".join(fragments).encode(), compresslevel=6))


class _MathCount(HTMLParser):
    def __init__(self):
        super().__init__()
        self.count = 0

    def handle_starttag(self, tag, attrs):
        if "math" in (dict(attrs).get("class") or "").split():
            self.count += 1


def heaviest(site: Path, n: int = TOP) -> list[tuple[str, int]]:
    """The `n` pages of a built site with the most formulas (`.math` elements), most first."""
    counts = []
    for path in site.rglob("*.html"):
        page = path.relative_to(site).as_posix()
        if page.startswith(SKIP):
            continue
        parser = _MathCount()
        parser.feed(path.read_text(errors="replace"))
        counts.append((page, parser.count))
    return sorted(counts, key=lambda pc: (-pc[1], pc[0]))[:n]


def load(chrome, root: Path, base: str, page: str, candidate: Candidate) -> dict:
    """One cold load of `page` (new context) with `candidate` as its renderer, `root` (the site,
    or its overlay for the candidate) served at `base`."""
    responses = []
    base_path = urlsplit(base).path

    def path_of(url: str) -> str:
        path = urlsplit(url).path
        return path[len(base_path):] if path.startswith(base_path) else ""

    with OfflinePage(chrome, base) as offline:
        offline.context.add_init_script(_INIT_KATEX if candidate.entry is None else _INIT)
        offline.page.on("response", lambda r: path_of(r.url).startswith((KATEX_URL, MATHJAX_URL))
                        and responses.append(r))
        offline.page.goto(base + page, wait_until="load")
        offline.page.wait_for_function("() => window.__bench", timeout=TIMEOUT_MS)
        bench = offline.page.evaluate("() => window.__bench")
        if "error" in bench:
            raise RuntimeError(f"{candidate.name} on {page}: {bench['error']}")
        start = offline.page.evaluate(_START)
        state = offline.page.evaluate(_STATE)
        before, after = offline.page.evaluate(
            "() => [window.__benchBefore || [], window.__benchAfter || []]")
        # body() waits for a response to finish; once fonts are ready no renderer file is pending.
        bodies = {path_of(r.url): len(r.body()) for r in responses if r.ok}
        problems = offline.blocked + offline.failed + offline.errors
    files = {}                        # what the bytes came from: name -> (file, bytes)
    answers = candidate.answers()
    for path, size in bodies.items():
        text, file = answers.get(path, ("", (root / path).resolve()))
        if file is not None:          # the stub and the empty stylesheet are the bench's
            name = (file.relative_to(NODE_MODULES).as_posix() if file.is_relative_to(NODE_MODULES)
                    else path)
            files[name] = (file, size - len(text.encode()))
    return {"start_ms": start, "typeset_ms": bench["typeset"], "fonts_ms": bench["fonts"],
            "bytes": sum(size for _, size in files.values()),
            "gzip": sum(_gzip_size(file) for file, _ in files.values()),
            "files": sorted((name, size, _gzip_size(file))
                            for name, (file, size) in files.items()),
            "formulas": state["formulas"], "untypeset": state["untypeset"],
            "errors": state["errors"], "tex": state["tex"], "problems": problems,
            "html_growth": len("".join(after).encode()) - len("".join(before).encode()),
            "html_growth_gzip": _gzip_text(after) - _gzip_text(before) if after else 0}


def measure(site: Path, pages: list[str], candidates=CANDIDATES, repeats: int = REPEATS,
            warmup: bool = True, chrome=None) -> dict:
    """Every candidate on every page, `repeats` cold loads each, interleaved; a summary each.
    `chrome`: a browser already running (Playwright allows one per thread); else one is
    started."""
    runs = {c.name: {p: [] for p in pages} for c in candidates}
    with tempfile.TemporaryDirectory() as tmp, ExitStack() as stack:
        served = {}                   # candidate -> (folder served, its base URL)
        for c in candidates:
            root = site if c.entry is None else _overlay(site, Path(tmp, c.name), c)
            served[c.name] = (root, stack.enter_context(serve(root)))
        chrome = chrome or stack.enter_context(browser())
        if warmup:  # the browser's first page pays for starting up: not counted
            load(chrome, *served[candidates[0].name], pages[0], candidates[0])
        for round_ in range(repeats):
            order = candidates[round_ % len(candidates):] + candidates[:round_ % len(candidates)]
            for page in pages:
                for c in order:
                    runs[c.name][page].append(load(chrome, *served[c.name], page, c))
        version = chrome.version
    results = {}
    for name, by_page in runs.items():
        results[name] = {}
        for page, loads in by_page.items():
            first = loads[0]
            results[name][page] = {
                "bytes": first["bytes"], "gzip": first["gzip"], "files": first["files"],
                "typeset_ms": statistics.median(r["typeset_ms"] for r in loads),
                "fonts_ms": statistics.median(r["fonts_ms"] for r in loads),
                "start_ms": statistics.median(r["start_ms"] for r in loads),
                "render_ms": statistics.median(r["typeset_ms"] - r["start_ms"] for r in loads),
                "start_ms_all": [round(r["start_ms"], 1) for r in loads],
                "typeset_ms_all": [round(r["typeset_ms"], 1) for r in loads],
                "fonts_ms_all": [round(r["fonts_ms"], 1) for r in loads],
                "formulas": first["formulas"],
                "failures": max(r["untypeset"] + r["errors"] for r in loads),
                "tex": first["tex"], "problems": sorted({p for r in loads for p in r["problems"]}),
                "html_growth": first["html_growth"], "html_growth_gzip": first["html_growth_gzip"],
                "bytes_varied": len({r["bytes"] for r in loads}) > 1}
    if "katex" in results:  # KaTeX at build time: its CSS and fonts, no JavaScript, more HTML
        results["katex-static (est.)"] = {
            page: {"bytes": sum(size for f, size, _ in r["files"] if not f.endswith(".js"))
                   + r["html_growth"],
                   "gzip": sum(packed for f, _, packed in r["files"] if not f.endswith(".js"))
                   + r["html_growth_gzip"],
                   "typeset_ms": None, "fonts_ms": None, "render_ms": None,
                   "formulas": r["formulas"],
                   "failures": r["failures"], "tex": r["tex"],
                   "html_growth": r["html_growth"], "html_growth_gzip": r["html_growth_gzip"]}
            for page, r in results["katex"].items()}
    return {"site": str(site), "chromium": version, "repeats": repeats, "pages": pages,
            "results": results}


def table(measured: dict) -> str:
    """One row per page and renderer: KB raw and gzipped; median ms from navigation start to
    every formula typeset and to their fonts loaded, and of the typesetting, the part after
    the page was parsed and the renderer's scripts arrived (the rest is the page's own, common
    to all); formulas failed, and TeX left in the text."""
    head = (f"{'page':<32} {'renderer':<20} {'KB raw':>7} {'KB gzip':>7} {'typeset ms':>10} "
            f"{'+fonts ms':>9} {'renderer ms':>11} {'failures':>8} {'TeX left':>8}")
    lines = [head, "-" * len(head)]
    for page in measured["pages"]:
        for name, by_page in measured["results"].items():
            r = by_page[page]
            ms = ["-" if r.get(key) is None else f"{r[key]:.0f}"
                  for key in ("typeset_ms", "fonts_ms", "render_ms")]
            lines.append(f"{page[-32:]:<32} {name:<20} {r['bytes'] / 1024:>7.1f} "
                         f"{r['gzip'] / 1024:>7.1f} {ms[0]:>10} {ms[1]:>9} {ms[2]:>11} "
                         f"{r['failures']:>8} {len(r['tex']):>8}")
    lines.append(f"Chromium {measured['chromium']}; medians of {measured['repeats']} cold loads; "
                 "gzip: JavaScript and CSS at level 6, fonts as they are")
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--site", type=Path, default=Path("_build/html"))
    parser.add_argument("--pages", nargs="+", help="pages to load (default: the --top pages "
                        "with the most formulas)")
    parser.add_argument("--top", type=int, default=TOP, help="how many pages (default %(default)s)")
    parser.add_argument("--repeats", type=int, default=REPEATS)
    parser.add_argument("--out", type=Path, help="also save the figures as JSON here")
    args = parser.parse_args(argv)
    # numbers first: their check does not depend on what has been built
    for name in ("top", "repeats"):
        if getattr(args, name) < 1:
            parser.error(f"--{name} must be a whole number of at least 1, got {getattr(args, name)}")
    if not (args.site / "index.html").is_file():
        parser.error(f"--site {args.site} holds no index.html: build the site first (make book)")
    pages = args.pages or [page for page, count in heaviest(args.site, args.top) if count]
    for page in pages:
        path = args.site / page
        if not path.is_file():
            parser.error(f"{path} does not exist: build the site first (make book)")
        if KATEX_JS not in path.read_text(errors="replace"):
            parser.error(f"{path} does not load {KATEX_JS}: rebuild the site with "
                         "pragmatic.site.assets (make book)")
    if not pages:
        parser.error(f"no page of {args.site} has a formula to measure")
    measured = measure(args.site, pages, repeats=args.repeats)
    print(table(measured))
    if args.out:
        args.out.write_text(json.dumps(measured, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
