"""Small helpers for the notebooks."""

import numbers

from myst_nb import glue


def glue_number(name: str, value) -> None:
    """Glue a number for {glue:text} in the prose, as a plain Python int or float.

    NumPy 2 scalars print as `np.float64(...)`, which myst-nb cannot format.
    """
    if not isinstance(value, numbers.Real):
        raise TypeError(f"glue_number({name!r}) needs a real number, got {type(value).__name__}")
    glue(name, int(value) if isinstance(value, numbers.Integral) else float(value), display=False)
