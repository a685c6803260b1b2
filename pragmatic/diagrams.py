"""Conceptual diagrams drawn in code, so they restyle with the course and need no image files."""

import matplotlib.pyplot as plt
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch

from .style import PALETTE


def _box(ax, xy, w, h, color, title, lines):
    ax.add_patch(FancyBboxPatch(xy, w, h, boxstyle="round,pad=0.02,rounding_size=0.04",
                                facecolor=color, alpha=0.15, edgecolor=color, linewidth=2))
    x, y = xy
    ax.text(x + w / 2, y + h - 0.07, title, ha="center", va="top", fontsize=12,
            fontweight="bold", color=color)
    ax.text(x + w / 2, y + h - 0.22, "\n".join(lines), ha="center", va="top", fontsize=9.5,
            linespacing=1.6)


def two_worlds():
    """The big picture in the spirit of Kass (2011): two worlds joined by assumptions."""
    fig, ax = plt.subplots(figsize=(8, 3.4))
    ax.set(xlim=(0, 2.1), ylim=(0.15, 1.12))
    ax.axis("off")
    real, theory = PALETTE["vermillion"], PALETTE["blue"]
    _box(ax, (0.02, 0.36), 0.8, 0.69, real, "Real world",
         ["experiments and observations", "data: the numbers we recorded",
          "regularity and variability", "exploratory looks at the data"])
    _box(ax, (1.28, 0.36), 0.8, 0.69, theory, "Theoretical world",
         ["probability models", "random variables  $X_1, \\dots, X_n$",
          "parameters such as the theoretical mean $\\mu$",
          "confidence intervals, posteriors"])
    for y, label, style in [(0.78, "assumptions: the data behave\nlike draws from the model", "-|>"),
                            (0.5, "conclusions about the data,\nas good as the assumptions", "<|-")]:
        ax.add_patch(FancyArrowPatch((0.84, y), (1.26, y), arrowstyle=style,
                                     mutation_scale=18, color=PALETTE["black"], linewidth=1.5))
        ax.text(1.05, y + 0.05, label, ha="center", va="bottom", fontsize=8.5)
    ax.text(1.05, 0.2, "inference (frequentist or Bayesian) happens on the right;\n"
            "it reaches the data only through the bridge", ha="center", fontsize=9,
            style="italic")
    fig.tight_layout()
    return fig
