"""One look for every figure: a colour-blind-safe palette (Okabe and Ito) and labelled axes."""

import matplotlib as mpl
from cycler import cycler

# Okabe-Ito colours, safe for the common forms of colour blindness.
PALETTE = {
    "blue": "#0072B2", "orange": "#E69F00", "green": "#009E73", "vermillion": "#D55E00",
    "sky": "#56B4E9", "purple": "#CC79A7", "yellow": "#F0E442", "black": "#000000",
}
CYCLE = [PALETTE[c] for c in ("blue", "orange", "green", "vermillion", "purple", "sky", "black")]


def use_style() -> None:
    """Apply the course's matplotlib defaults (call once at the top of a notebook)."""
    mpl.rcParams.update({
        "axes.prop_cycle": cycler(color=CYCLE),
        "axes.spines.top": False,
        "axes.spines.right": False,
        "axes.grid": True,
        "grid.alpha": 0.3,
        "figure.dpi": 110,
        "savefig.dpi": 110,
        "font.size": 10,
        "legend.frameon": False,
    })
