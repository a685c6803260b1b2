"""The build status page (`pragmatic.site.status`): written by the build, not by a notebook.

A tiny book of two executable pages is built three times into one folder: first from nothing
(both pages run), then again unchanged (Sphinx keeps both pages), then with Sphinx's saved
environment removed but the execution cache kept (both pages read again, outputs from
jupyter-cache), in a time zone west of UTC, where jupyter-cache's times are easy to misread. The
real book's status page must list every chapter and lab.
"""

import json
import shutil
from datetime import datetime
from importlib import metadata
from pathlib import Path

import pytest
import yaml
from bs4 import BeautifulSoup

from conftest import REPO, build
from pragmatic.site.hub_cost import Assumptions, sizing
from pragmatic.site.status import GPU_CHECK_VARIABLE, PACKAGES

CONFIG = """title: Status
only_build_toc_files: true
execute:
  execute_notebooks: cache
sphinx:
  extra_extensions: [pragmatic.site.status]
"""
TOC = "format: jb-book\nroot: status\nchapters:\n  - file: one\n  - file: two\n"
PAGE = """---
jupytext:
  text_representation:
    format_name: myst
kernelspec:
  name: python3
  display_name: Python 3
---

# Page {name}

```{{code-cell}} ipython3
print("{name}")
```
"""
STATUS = ("# Status\n\n" + "".join(f"```{{build-status}} {part}\n```\n\n"
                                   for part in ("pages", "machine", "packages", "gpu-check"))
          + "```{build-status} hub-cost\n:students: 100\n:node_price: 2.5\n```\n")
REPORT = {"machine": {"cpu_model": "Planted CPU", "cpu_count": 8, "b_devices": ["cuda:0"],
                      "b_kind": "Planted GPU 9000", "jax": "0.0.1"},
          "labels": {"a": "CPU", "b": "GPU"}, "tolerance_se": 4, "quick": False,
          "cases": [{"case": "mean normal n=30", "reps": 2097152, "ok": True,
                     "max_diff_in_se": 0.25, "a": {"reps_per_s": 1000.0},
                     "b": {"reps_per_s": 123456.0}, "speedup": 123.456,
                     "speedup_one_chunk": 654.321}]}


def rows(html: Path, name: str) -> list[list[str]]:
    table = BeautifulSoup(html.read_text(), "html.parser").find("table", class_=name)
    assert table is not None, f"no table {name} in {html}"
    return [[cell.get_text(" ", strip=True) for cell in row.find_all(["td", "th"])]
            for row in table.find_all("tr")]


def text(html: Path) -> str:
    return " ".join(BeautifulSoup(html.read_text(), "html.parser").get_text(" ").split())


@pytest.fixture(scope="module")
def builds(tmp_path_factory):
    """The tiny book's status page after each of the three builds."""
    root = tmp_path_factory.mktemp("status")
    source, output = root / "source", root / "output"
    source.mkdir()
    (source / "_config.yml").write_text(CONFIG)
    (source / "_toc.yml").write_text(TOC)
    (source / "status.md").write_text(STATUS)
    for name in ("one", "two"):
        (source / f"{name}.md").write_text(PAGE.format(name=name))
    report = root / "gpu-check.json"
    report.write_text(json.dumps(REPORT))
    status = output / "_build" / "html" / "status.html"
    pages = {}
    with pytest.MonkeyPatch.context() as env:
        for step, planted in (("first", root / "none.json"), ("unchanged", report),
                              ("from the cache", report)):
            if step == "from the cache":
                shutil.rmtree(output / "_build" / ".doctrees")
                env.setenv("TZ", "America/New_York")
            env.setenv(GPU_CHECK_VARIABLE, str(planted))
            result = build(source, output, strict=True)
            assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
            pages[step] = output / f"{step}.html"
            shutil.copy(status, pages[step])
    return pages


@pytest.mark.parametrize("step, cached", [("first", "no"), ("unchanged", "yes, page unchanged"),
                                          ("from the cache", "yes")])
def test_each_page_says_whether_it_came_from_the_cache(builds, step, cached):
    head, *body = rows(builds[step], "build-status-pages")
    assert head == ["Page", "Ran (UTC)", "Run time (s)", "From the cache", "Succeeded"]
    assert [row[0] for row in body] == ["Page one", "Page two"]
    for row in body:
        assert row[3] == cached and row[4] == "yes"
        assert float(row[2]) >= 0


def test_the_cache_keeps_the_time_of_the_run_that_filled_it(builds):
    first = rows(builds["first"], "build-status-pages")[1:]
    for step in ("unchanged", "from the cache"):
        again = rows(builds[step], "build-status-pages")[1:]
        assert [(row[0], row[2]) for row in again] == [(row[0], row[2]) for row in first]
        for before, now in zip(first, again):  # shown to the minute: they may straddle one
            ran = [datetime.strptime(row[1], "%Y-%m-%d %H:%M") for row in (before, now)]
            assert abs((ran[1] - ran[0]).total_seconds()) <= 60


def test_gpu_check_figures_appear_when_there_are_some(builds):
    assert "There are no make gpu-check figures yet" in text(builds["first"])
    page = text(builds["unchanged"])
    assert "There are no make gpu-check figures" not in page
    assert "Planted GPU 9000" in page and "1 of 1 cases agreed within 4" in page
    head, row = rows(builds["unchanged"], "build-status-gpu-check")
    assert head[0] == "Case" and "Speed-up" in head
    assert row == ["mean normal n=30", "2,097,152", "yes", "0.25", "1,000", "123,456", "123.46",
                   "654.32", "-"]


def test_the_versions_are_those_installed(builds):
    head, *body = rows(builds["first"], "build-status-packages")
    assert head == ["Package", "Version"]
    assert body == [[name, metadata.version(name)] for name in PACKAGES]


def test_the_machine_is_described(builds):
    page = text(builds["first"])
    for fact in ("CPU:", "Cores:", "Memory:", "Operating system:", "Python:", "JAX backend:"):
        assert fact in page
    assert "JAX backend: cpu" in page or "JAX backend: gpu" in page


def test_the_real_book_lists_every_chapter_and_lab(site):
    toc = yaml.safe_load((REPO / "_toc.yml").read_text())
    wanted = {c["file"] for part in toc["parts"] for c in part["chapters"]
              if c["file"].startswith(("chapters/", "labs/"))}
    table = BeautifulSoup((site["root"] / "status.html").read_text(), "html.parser").find(
        "table", class_="build-status-pages")
    linked = {a["href"].split("#")[0].removesuffix(".html") for a in table.find_all("a")}
    assert wanted and wanted <= linked, sorted(wanted - linked)


def test_the_hub_cost_is_worked_out_from_the_measured_pages_and_the_options(builds):
    head, *body = rows(builds["first"], "build-status-hub-cost")
    table = {row[0]: row[1:] for row in body}
    assert head == ["Quantity", "Value", "How"]
    measured = table["Every page once, one student"][1]
    assert "the 2 pages' run times on the build status page" in measured
    assert table["Students, runs of each page"][0] == "100, 3"
    # 16 cores at half a core each, and 64 GB at 2 GB each: 32 a node, so 4 nodes for 100
    assert table["Students a node holds"][0] == "32"
    assert table["Nodes for a class session"][0] == "4"
    assert "10.00 an hour" in table["Nodes for a class session"][1]


def test_sizing_is_the_closed_form():
    a = Assumptions(students=300, runs=3, limit=2, guarantee=0.5, memory_gb=4, node_cores=16,
                    node_memory_gb=64, node_price=0.8)
    s = sizing({"lab": 240.0, "chapter": 60.0}, a)
    assert s["one_pass_s"] == 300.0
    assert s["core_hours"] == pytest.approx(300 * 3 * 300 * 2 / 3600)  # 150
    assert s["node_hours"] == pytest.approx(150 / 16)
    assert s["term_cost"] == pytest.approx(150 / 16 * 0.8)
    assert s["users_per_node"] == 16       # memory binds: 64 / 4, not 16 / 0.5
    assert s["session_nodes"] == 19        # ceil(300 / 16)
    assert (s["slowest"], s["slowest_worst_s"]) == ("lab", 960.0)


@pytest.mark.parametrize("bad, named", [({"students": 0}, "students"),
                                        ({"guarantee": 3.0}, "guarantee 3.0 exceeds limit"),
                                        ({"node_price": -1.0}, "node_price")])
def test_bad_assumptions_are_named(bad, named):
    with pytest.raises(ValueError, match=named):
        Assumptions(**bad)
