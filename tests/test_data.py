"""Datasets: checksums hold, the loader refuses altered files, and the CSVs regenerate exactly."""

import shutil
import subprocess
import sys

import pytest

from pragmatic.data import DataError, data_dir, load, manifest


@pytest.mark.parametrize("name", list(manifest()))
def test_every_dataset_loads_with_its_checksum_and_columns(name):
    df = load(name)
    assert list(df.columns) == manifest()[name]["columns"]
    assert len(df) > 0


@pytest.mark.parametrize("name", list(manifest()))
def test_every_dataset_has_a_data_card(name):
    card = (data_dir() / manifest()[name]["card"]).read_text()
    for section in ("**Source.**", "**Licence.**", "**Variables.**", "**Which assumption"):
        assert section in card, f"{name} card lacks {section}"


def test_anscombe_has_the_published_summaries():
    df = load("anscombe")
    stats = df.groupby("dataset").agg(n=("x", "size"), mx=("x", "mean"), vx=("x", "var"),
                                      my=("y", "mean"))
    assert (stats["n"] == 11).all()
    assert list(stats["mx"]) == pytest.approx([9] * 4, abs=1e-12)
    assert list(stats["vx"]) == pytest.approx([11] * 4, abs=1e-12)
    assert list(stats["my"]) == pytest.approx([7.5] * 4, abs=0.001)


@pytest.fixture
def copy_of_datasets(tmp_path):
    shutil.copytree(data_dir(), tmp_path / "datasets")
    return tmp_path / "datasets"


def test_an_altered_file_is_refused_by_name(copy_of_datasets):
    path = copy_of_datasets / "anscombe.csv"
    path.write_bytes(path.read_bytes().replace(b"8.04", b"8.05", 1))
    with pytest.raises(DataError, match=r"anscombe\.csv does not match its checksum"):
        load("anscombe", copy_of_datasets)


def test_a_missing_file_is_refused_by_name(copy_of_datasets):
    (copy_of_datasets / "anscombe.csv").unlink()
    with pytest.raises(DataError, match=r"anscombe\.csv is missing"):
        load("anscombe", copy_of_datasets)


def test_wrong_columns_are_refused(copy_of_datasets):
    import json
    entries = json.loads((copy_of_datasets / "manifest.json").read_text())
    entries["anscombe"]["columns"] = ["dataset", "x", "z"]
    (copy_of_datasets / "manifest.json").write_text(json.dumps(entries))
    with pytest.raises(DataError, match=r"has columns \['dataset', 'x', 'y'\], expected"):
        load("anscombe", copy_of_datasets)


def test_an_unknown_name_lists_what_exists():
    with pytest.raises(DataError, match="unknown dataset 'anscomb'; available: anscombe"):
        load("anscomb")


def test_the_csvs_regenerate_byte_for_byte():
    out = subprocess.run([sys.executable, str(data_dir() / "make_datasets.py"), "--check"],
                         capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr


def test_the_part_one_datasets_have_their_documented_sizes():
    """Counts documented by the packages the data came from (palmerpenguins, statsmodels)."""
    penguins = load("penguins")
    assert penguins["species"].value_counts().to_dict() == {"Adelie": 152, "Gentoo": 124,
                                                            "Chinstrap": 68}
    assert len(load("engel")) == 235
    randhie = load("randhie")
    assert len(randhie) == 20190
    assert (randhie["mdvis"] >= 0).all() and randhie["mdvis"].dtype.kind == "i"
