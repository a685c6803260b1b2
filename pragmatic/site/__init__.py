"""The built site, not the pages: Sphinx extensions that shape it (assets, fixes, status) and
the browser that checks it (browser, checks, math_bench).

No executed page imports this package, so a change here does not clear the execution cache
(the Makefile leaves it out of the cache's dependencies).
"""
