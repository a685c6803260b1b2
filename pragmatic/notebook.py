"""Small helpers for the notebooks.

Every page is both a site page and a student's notebook (see contributing.md, "One source, two
renderings"). On the site, myst-nb pastes glued values into the prose; in JupyterLab the
`{glue:text}` roles cannot be filled in, so each glued number is also printed by the cell that
computes it. Such cells carry the tag `remove-cell`: the site hides them, a notebook shows them.
"""

import numbers

from myst_nb import glue


def glue_number(name: str, value) -> None:
    """Glue a number for {glue:text} in the prose, and print it for a reader of the notebook.

    The number is glued as a plain Python int or float (NumPy 2 scalars print as
    `np.float64(...)`, which myst-nb cannot format) and printed as `name = value`, so that a
    notebook run top to bottom shows every number its text quotes.
    """
    if not isinstance(value, numbers.Real):
        raise TypeError(f"glue_number({name!r}) needs a real number, got {type(value).__name__}")
    value = int(value) if isinstance(value, numbers.Integral) else float(value)
    glue(name, value, display=False)
    print(f"{name} = {value:,}" if isinstance(value, int) else f"{name} = {value:.6g}")
