"""Shared code for the Assumptions First course.

What a student must understand stays in the notebooks; this package holds the plumbing the
chapters, labs and tests share: data loading (`pragmatic.data`), the simulation engine and its
command line (`pragmatic.sim`), the benchmark (`pragmatic.bench`) and the figure style
(`pragmatic.style`).
"""

__version__ = "0.1.0"
