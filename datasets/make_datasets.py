"""Regenerate every CSV in datasets/ from the package it came from, and its manifest entry.

    python datasets/make_datasets.py           # rewrite the CSVs and manifest.json
    python datasets/make_datasets.py --check   # exit 1 if any CSV would change

Each source is a package pinned in requirements.txt that carries the data in its wheel, so this
runs offline. CSVs are written with "\\n" line endings and the same float formatting every time.
"""

import argparse
import hashlib
import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def anscombe():
    from vega_datasets import data  # the local copy shipped in the wheel; no download
    df = data.anscombe()
    return df.rename(columns={"Series": "dataset", "X": "x", "Y": "y"})[["dataset", "x", "y"]]


def penguins():
    from palmerpenguins import load_penguins  # the CSV inside the wheel; no download
    df = load_penguins()
    # Whole-number measurements stay whole numbers in the CSV (pandas reads NA as float).
    for col in ("flipper_length_mm", "body_mass_g", "year"):
        df[col] = df[col].astype("Int64")
    return df


def engel():
    import statsmodels.api as sm  # bundled with statsmodels; no download
    return sm.datasets.engel.load_pandas().data


def randhie():
    import statsmodels.api as sm  # bundled with statsmodels; no download
    df = sm.datasets.randhie.load_pandas().data
    df["mdvis"] = df["mdvis"].astype(int)  # a count, stored as float in statsmodels
    return df


def _causaldata(name):
    """A table from the causaldata package (MIT), read from its installed copy; no download."""
    import importlib
    return importlib.import_module(f"causaldata.{name}").load_pandas().data


def gov_transfers():
    return _causaldata("gov_transfers")


def gov_transfers_density():
    return _causaldata("gov_transfers_density")


def organ_donations():
    return _causaldata("organ_donations")


def close_elections_lmb():
    return _causaldata("close_elections_lmb")


def digits():
    import pandas as pd
    from sklearn.datasets import load_digits  # the copy inside the wheel; no download
    bunch = load_digits()
    cols = [f"pixel_{i // 8}_{i % 8}" for i in range(64)]  # row-major 8x8 image
    df = pd.DataFrame(bunch.data.astype(int), columns=cols)
    df["digit"] = bunch.target
    return df


SOURCES = {"anscombe": anscombe, "penguins": penguins, "engel": engel, "randhie": randhie,
           "gov_transfers": gov_transfers, "gov_transfers_density": gov_transfers_density,
           "organ_donations": organ_donations, "close_elections_lmb": close_elections_lmb,
           "digits": digits}


def csv_bytes(df) -> bytes:
    return df.to_csv(index=False, lineterminator="\n").encode()


def main(argv=None) -> int:
    args = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    args.add_argument("--check", action="store_true", help="report differences, write nothing")
    check = args.parse_args(argv).check
    manifest, changed = {}, []
    for name, make in SOURCES.items():
        df = make()
        payload = csv_bytes(df)
        path = HERE / f"{name}.csv"
        if not path.exists() or path.read_bytes() != payload:
            changed.append(path.name)
            if not check:
                path.write_bytes(payload)
        manifest[name] = {"file": path.name, "card": f"{name}.md",
                          "sha256": hashlib.sha256(payload).hexdigest(),
                          "columns": list(df.columns)}
    if check:
        print("changed: " + ", ".join(changed) if changed else "all datasets reproduce exactly")
        return 1 if changed else 0
    (HERE / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
