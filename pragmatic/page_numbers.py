"""A Sphinx extension: figures, tables and exercises are numbered afresh on every page.

Without a numbered table of contents, Sphinx numbers them across the whole book, so the
first exercise of lab 1 would be "Exercise 5" because chapter 1 has four. A page is read on
its own, as a site page or a notebook, so its numbering should start at 1.
"""

from __future__ import annotations


def restart_numbers_per_page(app, env) -> list[str]:
    """Renumber each page's enumerated items 1, 2, ... in their book-wide order."""
    changed = []
    for docname, figtypes in env.toc_fignumbers.items():
        for numbers in figtypes.values():
            ordered = sorted(numbers, key=numbers.get)
            renumbered = {node_id: (i,) for i, node_id in enumerate(ordered, start=1)}
            if renumbered != numbers:
                numbers.update(renumbered)
                changed.append(docname)
    return sorted(set(changed))


def setup(app):
    # After Sphinx's own TocTreeCollector (priority 500) has assigned book-wide numbers.
    app.connect("env-get-updated", restart_numbers_per_page, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
