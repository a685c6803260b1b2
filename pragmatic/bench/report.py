"""Printing a benchmark's rows: shared by `pragmatic.bench` and `pragmatic.bench_samplers`.

It imports nothing heavy (no JAX), so that `bench_samplers`' child runs can use it.
"""

from __future__ import annotations

import json
from typing import Callable


def print_rows(rows: list[dict], as_json: bool, format_table: Callable[[list[dict]], str],
               machine: dict) -> int:
    """Print the rows as a JSON list (each with `machine`) or as a table; return exit code 0."""
    if as_json:
        print(json.dumps([{**r, "machine": machine} for r in rows], indent=2))
    else:
        print(format_table(rows))
    return 0
