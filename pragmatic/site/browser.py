"""A built site in a real browser with no network: the operating system's Chromium, driven by
Playwright, reading the site from an HTTP server on loopback.

The browser tests (`tests/test_site.py`) and the math-renderer measurement use this, so that
both see the site as an offline reader does: any request that leaves the loopback server is
refused and recorded.
"""

import functools
import http.server
import os
import sys
import threading
from contextlib import contextmanager
from pathlib import Path

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
# Without the background-networking flags Chromium keeps calling home, which a closed network
# refuses; a fresh profile keeps runs independent.
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:  # the tests report failures themselves
        pass


class _Server(http.server.ThreadingHTTPServer):
    def handle_error(self, request, client_address) -> None:
        # A browser that closes a connection early (a page left before its favicon's 404 is
        # sent) is not a fault of the site; anything else still prints.
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


@contextmanager
def serve(root: Path):
    """Serve `root` on 127.0.0.1 (a free port) and yield its base URL, ending in '/'."""
    handler = functools.partial(_Quiet, directory=str(root))
    server = _Server(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


def require_chromium() -> str:
    """The Chromium executable, or a one-line error naming the prerequisite."""
    if not os.access(CHROMIUM, os.X_OK):
        raise RuntimeError(f"Chromium is needed at {CHROMIUM} (set CHROMIUM, or run `make "
                           "chromium`, which installs Debian's package when run as root)")
    return CHROMIUM


@contextmanager
def browser():
    """A headless Chromium from the operating system, closed on exit."""
    from playwright.sync_api import sync_playwright

    executable = require_chromium()
    with sync_playwright() as playwright:
        chrome = playwright.chromium.launch(executable_path=executable, args=FLAGS)
        try:
            yield chrome
        finally:
            chrome.close()


try:
    from playwright.sync_api import Error
except ImportError:  # only the browser needs Playwright; serve() works without it
    Error = RuntimeError


class OfflinePage:
    """A page whose requests may go only to `base`; it records what goes wrong while it loads.

    `blocked` lists requests that tried to leave the loopback server, `failed` requests that
    failed or answered with an HTTP error, and `errors` console errors and uncaught exceptions.
    """

    def __init__(self, chrome, base: str, viewport: dict = DESKTOP, dark: bool = False):
        self.base = base
        self.context = chrome.new_context(viewport=viewport,
                                          color_scheme="dark" if dark else "light")
        self.page = self.context.new_page()
        self.blocked, self.failed, self.errors = [], [], []
        self.page.route("**/*", self._route)
        self.page.on("requestfailed", lambda r: self.failed.append(f"{r.url} ({r.failure})"))
        self.page.on("response", self._response)
        self.page.on("console", self._console)
        self.page.on("pageerror", lambda e: self.errors.append(f"uncaught: {e}"))

    def _route(self, route) -> None:
        if route.request.url.startswith(self.base) or route.request.url.startswith("data:"):
            route.continue_()
        else:
            self.blocked.append(route.request.url)
            route.abort("internetdisconnected")

    def _response(self, response) -> None:
        if response.status >= 400:
            self.failed.append(f"{response.url} (HTTP {response.status})")

    def _console(self, message) -> None:
        if message.type == "error":
            self.errors.append(message.text)

    def open(self, path: str) -> None:
        """Load a page of the site and wait until its formulas, fonts and charts are ready."""
        # KaTeX typesets on DOMContentLoaded, before "load"; fonts and charts may finish after.
        self.page.goto(self.base + path, wait_until="load")
        try:
            self.page.evaluate("() => document.fonts.ready.then(() => true)")
        except Error:  # the page moved on by itself (index.html redirects to the first page)
            self.page.wait_for_load_state("load")
            self.page.evaluate("() => document.fonts.ready.then(() => true)")
        self.page.wait_for_function(
            """() => [...document.querySelectorAll('.lab-chart')]
                     .every(c => c.querySelector('svg') || /could not/.test(c.textContent))""",
            timeout=15000)

    def close(self) -> None:
        self.context.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()
