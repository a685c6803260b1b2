"""A Sphinx extension: the build status page, written by the build itself.

    ```{build-status} pages
    ```

The directive takes one argument, the part of the report to put there:

- `pages`: one row per executed page, in the book's order: when it ran, how long it took,
  whether its outputs came from the cache, and whether it succeeded;
- `machine`: the hardware and system that built the site, and JAX's backend and devices;
- `packages`: the versions of the main packages;
- `gpu-check`: the figures of the last `make gpu-check` (`_build/gpu-check.json` beside this
  package, or the file that the environment variable PRAGMATIC_GPU_CHECK names), or one sentence
  saying that there are none;
- `hub-cost`: what a class costs on a Kubernetes hub, worked out from the pages' run times
  (`pragmatic.site.hub_cost`); its assumptions are the directive's options.

Nothing here executes a notebook: an executed status page could itself come from the cache and
show stale facts. A page using the directive is read again on every build, and its placeholders
are filled in after every page has been read, from myst-nb's execution records.

From the cache. myst-nb records, for each executed page, when it ran and for how long. When
jupyter-cache already holds outputs for the page's code, that record is the stored run's: its
time is the cache record's creation time, exactly. So a page read in this build came from the
cache when its recorded time equals the creation time of a record in the cache, and a page that
Sphinx did not read again (unchanged since an earlier build) came from the cache too. Comparing
the time with the build's start instead would be wrong west of UTC: jupyter-cache stores UTC
times without a zone, and myst-nb reads them as local time.
"""

from __future__ import annotations

import json
import os
import platform
import time
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path

from docutils import nodes
from sphinx import addnodes
from sphinx.transforms.post_transforms import SphinxPostTransform
from sphinx.util import logging
from sphinx.util.docutils import SphinxDirective

from .hub_cost import Assumptions, sizing

logger = logging.getLogger(__name__)

REPO = Path(__file__).resolve().parents[2]
GPU_CHECK = REPO / "_build" / "gpu-check.json"
GPU_CHECK_VARIABLE = "PRAGMATIC_GPU_CHECK"
PACKAGES = ("jupyter-book", "myst-nb", "sphinx", "numpy", "scipy", "pandas", "statsmodels",
            "pymc", "arviz", "nutpie", "jax", "jaxlib", "altair", "matplotlib", "pragmatic")
PARTS = ("pages", "machine", "packages", "gpu-check", "hub-cost")
HAS_STATUS = "has_build_status"   # in myst-nb's per-page metadata: the page uses the directive
RUN = "build_status_run"          # in myst-nb's per-page metadata: {"cached", "ran"} (see above)


class BuildStatusNode(nodes.General, nodes.Element):
    """A placeholder, replaced once every page has been read."""


class BuildStatus(SphinxDirective):
    required_arguments = 1
    # hub-cost's assumptions (pragmatic.site.hub_cost.Assumptions), e.g. `:students: 300`
    option_spec = {name: type(field.default)
                   for name, field in Assumptions.__dataclass_fields__.items()}

    def run(self):
        part = self.arguments[0]
        if part not in PARTS:
            raise self.error(f"build-status: unknown part {part!r}; one of {', '.join(PARTS)}")
        if self.options and part != "hub-cost":
            raise self.error(f"build-status: only hub-cost takes options, not {part}")
        try:
            assumptions = Assumptions(**self.options)
        except ValueError as err:
            raise self.error(str(err)) from None
        _metadata().set_doc_data(self.env, self.env.docname, HAS_STATUS, True)
        node = BuildStatusNode(part=part, assumptions=assumptions)
        self.set_source_info(node)
        return [node]


def _metadata():
    from myst_nb.sphinx_ import NbMetadataCollector

    return NbMetadataCollector


# --- which pages were read, and which came from the cache ------------------------------------

def _outdated(app, env, added, changed, removed) -> list[str]:
    """Every page with the directive is read again, so that it describes this build."""
    return [doc for doc, data in _metadata().get_doc_data(env).items() if data.get(HAS_STATUS)]


def _before_read(app, env, docnames) -> None:
    env.build_status_build = {"started": time.time(), "read": set(docnames)}


def _cache_records(env) -> dict[float, datetime]:
    """The jupyter-cache's records, by their creation time as myst-nb reports it."""
    config = getattr(env, "mystnb_config", None)
    path = getattr(config, "execution_cache_path", "")
    if not path or not Path(path).exists():
        return {}
    from jupyter_cache import get_cache

    return {r.created.timestamp(): r.created for r in get_cache(path).list_cache_records()}


def _utc(moment: datetime) -> float:
    """A POSIX time from jupyter-cache's naive UTC datetime."""
    return (moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)).timestamp()


def _classify(app, env) -> None:
    """After every page is read (and before the environment is saved): for each page executed
    or taken from jupyter-cache in this build, whether it came from the cache and when it ran."""
    read = getattr(env, "build_status_build", {}).get("read", set())
    collector, records = _metadata(), None
    for doc in sorted(read):
        data = collector.get_doc_data(env).get(doc, {}).get("exec_data")
        if not data:
            continue
        if records is None:
            records = _cache_records(env)
        hit = records.get(data["mtime"])
        collector.set_doc_data(env, doc, RUN, {"cached": hit is not None,
                                               "ran": _utc(hit) if hit else data["mtime"]})


# --- the facts --------------------------------------------------------------------------------

def book_order(env) -> list[str]:
    """Every page in the order of the table of contents, from the root page."""
    seen: list[str] = []

    def visit(doc):
        if doc not in seen:
            seen.append(doc)
            for child in env.toctree_includes.get(doc, []):
                visit(child)

    visit(env.config.root_doc)
    return seen


def page_rows(env) -> list[dict]:
    """One row per executed page: docname, title, time it ran, run time, cache, success."""
    build = getattr(env, "build_status_build", {})
    pages = _metadata().get_doc_data(env)
    order = book_order(env)
    executed = [doc for doc, data in pages.items() if data.get("exec_data")]
    rows = []
    for doc in sorted(executed, key=lambda d: (order.index(d) if d in order else len(order), d)):
        data, run = pages[doc]["exec_data"], pages[doc].get(RUN, {})
        reread = doc in build.get("read", ())
        rows.append({"doc": doc, "title": env.titles[doc].astext() if doc in env.titles else doc,
                     "ran": run.get("ran", data["mtime"]), "runtime": data.get("runtime"),
                     "cached": ("yes" if run.get("cached") else "no") if reread
                     else "yes, page unchanged",
                     "succeeded": data.get("succeeded"), "error": data.get("error")})
    return rows


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.split(":")[0].strip() in ("model name", "Model", "Hardware"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown"


def _memory() -> str:
    try:
        with open("/proc/meminfo") as f:
            kib = next(int(line.split()[1]) for line in f if line.startswith("MemTotal:"))
        total = kib * 1024
    except (OSError, StopIteration, ValueError):
        try:
            total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
        except (AttributeError, OSError, ValueError):
            return "unknown"
    return f"{total / 2**30:.1f} GiB"


def _system() -> str:
    try:
        name = platform.freedesktop_os_release()["PRETTY_NAME"]
    except (OSError, KeyError):
        name = platform.system()
    return f"{name}; {platform.system()} {platform.release()}, {platform.machine()}"


def _jax() -> str:
    try:
        import jax

        devices = jax.devices()
    except Exception as err:  # no usable backend: say why rather than fail the build
        return f"unavailable ({type(err).__name__}: {str(err).splitlines()[0] if str(err) else ''})"
    kinds: dict[str, int] = {}
    for device in devices:
        kinds[device.device_kind] = kinds.get(device.device_kind, 0) + 1
    listed = ", ".join(kind if n == 1 else f"{n} × {kind}" for kind, n in kinds.items())
    return (f"{jax.default_backend()}, {len(devices)} device{'s' * (len(devices) != 1)}: "
            f"{listed}")


def machine() -> list[tuple[str, str]]:
    """What built the site: CPU, cores, memory, system, Python, and JAX's backend and devices."""
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    cores = f"{usable}" + (f" usable, of {os.cpu_count()}" if usable != os.cpu_count() else "")
    return [("CPU", _cpu_model()), ("Cores", cores), ("Memory", _memory()),
            ("Operating system", _system()), ("Python", platform.python_version()),
            ("JAX backend", _jax())]


def versions() -> list[tuple[str, str]]:
    out = []
    for name in PACKAGES:
        try:
            out.append((name, metadata.version(name)))
        except metadata.PackageNotFoundError:
            out.append((name, "not installed"))
    return out


def gpu_check_path() -> Path:
    named = os.environ.get(GPU_CHECK_VARIABLE)
    return Path(named) if named else GPU_CHECK


def _rate(x) -> str:
    return "-" if x is None else f"{x:,.0f}"


def _ratio(x) -> str:
    return "-" if x is None else f"{x:.2f}"


def gpu_check_rows(report: dict) -> tuple[list[str], list[list[str]]]:
    a, b = report["labels"]["a"], report["labels"]["b"]
    head = ["Case", "Replications", "Agree", "Max |diff| / se", f"{a} reps/s", f"{b} reps/s",
            "Speed-up", "Speed-up, one chunk", "Speed-up, wide vmap"]
    body = [[c["case"], f"{c['reps']:,}", "yes" if c["ok"] else "NO",
             _ratio(c.get("max_diff_in_se")), _rate(c["a"].get("reps_per_s")),
             _rate(c["b"].get("reps_per_s")), _ratio(c.get("speedup")),
             _ratio(c.get("speedup_one_chunk")), _ratio(c.get("speedup_wide"))]
            for c in report["cases"]]
    return head, body


def gpu_check_summary(report: dict, path: Path) -> str:
    about, labels, cases = report["machine"], report["labels"], report["cases"]
    when = _utc_text(path.stat().st_mtime)
    agreed = sum(bool(c["ok"]) for c in cases)
    devices = len(about.get("b_devices", [])) or 1
    quick = " (a quick run)" if report.get("quick") else ""
    return (f"The last run wrote these figures at {when} UTC{quick}, on {devices} × "
            f"{about.get('b_kind', 'unknown')} and {about.get('cpu_model') or 'an unknown CPU'} "
            f"({about.get('cpu_count')} cores), with jax {about.get('jax', 'unknown')}. It "
            f"compared {labels['a']} with {labels['b']}: {agreed} of {len(cases)} cases agreed "
            f"within {report.get('tolerance_se')} Monte Carlo standard errors. A speed-up is the "
            f"replications per second on {labels['b']} over those on {labels['a']}.")


# --- nodes ------------------------------------------------------------------------------------

def _cell(content) -> nodes.entry:
    if not isinstance(content, nodes.paragraph):
        content = nodes.paragraph(text=str(content))
    return nodes.entry("", content)


def _table(head: list[str], body: list[list], name: str) -> nodes.table:
    table = nodes.table(classes=["colwidths-auto", name])
    group = nodes.tgroup(cols=len(head))
    table += group
    group += [nodes.colspec(colwidth=1) for _ in head]
    group += nodes.thead("", nodes.row("", *(_cell(h) for h in head)))
    group += nodes.tbody("", *(nodes.row("", *(_cell(x) for x in row)) for row in body))
    return table


def _page_link(status_doc: str, doc: str, title: str) -> nodes.paragraph:
    link = addnodes.pending_xref("", refdoc=status_doc, reftarget="/" + doc, reftype="doc",
                                 refdomain="std", refexplicit=True, refwarn=True)
    link += nodes.inline(title, title)
    return nodes.paragraph("", "", link)


def _utc_text(moment: float) -> str:
    return datetime.fromtimestamp(moment, timezone.utc).strftime("%Y-%m-%d %H:%M")


def _no_gpu_check() -> nodes.paragraph:
    command = "make gpu-check"
    return nodes.paragraph("", "", nodes.Text("There are no "), nodes.literal(text=command),
                           nodes.Text(" figures yet: run "), nodes.literal(text=command),
                           nodes.Text(" on a machine with a GPU, then build the book again."),
                           classes=["build-status-no-gpu-check"])


def render(part: str, env, status_doc: str, node) -> list[nodes.Node]:
    """The nodes of one part of the report."""
    if part == "pages":
        rows = page_rows(env)
        if not rows:
            return [nodes.paragraph(text="No page of this book has been executed.")]
        body = [[_page_link(status_doc, r["doc"], r["title"]), _utc_text(r["ran"]),
                 "-" if r["runtime"] is None else f"{r['runtime']:.1f}", r["cached"],
                 "yes" if r["succeeded"] else f"no ({r['error'] or 'failed'})"] for r in rows]
        return [_table(["Page", "Ran (UTC)", "Run time (s)", "From the cache", "Succeeded"],
                       body, "build-status-pages")]
    if part == "machine":
        started = getattr(env, "build_status_build", {}).get("started", time.time())
        facts = [("Built", _utc_text(started) + " UTC"), *machine()]
        return [nodes.bullet_list("", *(nodes.list_item("", nodes.paragraph(
            "", "", nodes.strong(text=f"{name}: "), nodes.Text(value))) for name, value in facts),
            classes=["build-status-machine"])]
    if part == "packages":
        return [_table(["Package", "Version"], [list(v) for v in versions()],
                       "build-status-packages")]
    if part == "hub-cost":
        return hub_cost(page_rows(env), node["assumptions"])
    path = gpu_check_path()
    if not path.is_file():
        return [_no_gpu_check()]
    try:
        report = json.loads(path.read_text())
        head, body = gpu_check_rows(report)
        summary = gpu_check_summary(report, path)
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as err:
        logger.warning(f"build-status: cannot read the gpu-check figures in {path}: {err!r}",
                       location=node)
        return [nodes.paragraph(text=f"The gpu-check figures in {path.name} could not be read.")]
    return [nodes.paragraph(text=summary), _table(head, body, "build-status-gpu-check")]


def _hours(seconds: float) -> str:
    return f"{seconds / 60:.0f} min" if seconds < 5400 else f"{seconds / 3600:.1f} h"


def hub_cost(rows: list[dict], a: Assumptions) -> list[nodes.Node]:
    """The cost of a class on a hub: a table of what is measured, assumed and worked out."""
    runtimes = {r["title"]: r["runtime"] for r in rows if r["runtime"] and r["succeeded"]}
    if not runtimes:
        return [nodes.paragraph(text="No page of this book has a measured run time yet, so "
                                     "there is nothing to work the cost out from.")]
    s = sizing(runtimes, a)
    money = lambda x: f"{x:,.2f}"  # noqa: E731
    body = [
        ["Every page once, one student", _hours(s["one_pass_s"]),
         f"measured: the {len(runtimes)} pages' run times on the build status page, "
         f"at {a.limit:g} cores"],
        ["Students, runs of each page", f"{a.students:g}, {a.runs:g}", "assumed"],
        ["Core-hours in a term", f"{s['core_hours']:,.0f}",
         f"students × runs × every page once × {a.limit:g} cores (an upper bound: not every "
         "second keeps both cores busy)"],
        ["Node-hours in a term", f"{s['node_hours']:,.1f}",
         f"core-hours / {a.node_cores:g} cores a node"],
        ["Compute in a term", money(s["term_cost"]),
         f"node-hours × {money(a.node_price)} a node-hour (assumed); "
         f"{money(s['per_student_cost'])} a student"],
        ["Students a node holds", f"{s['users_per_node']}",
         f"at their guarantee: {a.guarantee:g} core and {a.memory_gb:g} GB each, on nodes "
         f"of {a.node_cores:g} cores and {a.node_memory_gb:g} GB"],
        ["Nodes for a class session", f"{s['session_nodes']}",
         f"every student's server up at once; {money(s['session_cost_per_hour'])} an hour"],
        ["The slowest page in that session", f"{_hours(s['slowest_s'])} to "
         f"{_hours(s['slowest_worst_s'])}",
         f"{s['slowest']}: measured, and at the guarantee if all run it at once"]]
    return [_table(["Quantity", "Value", "How"], body, "build-status-hub-cost")]


class FillBuildStatus(SphinxPostTransform):
    """Replace each placeholder with its part of the report (before references are resolved,
    so that the page links resolve like any other)."""

    default_priority = 5

    def run(self, **kwargs) -> None:
        for node in list(self.document.findall(BuildStatusNode)):
            node.replace_self(render(node["part"], self.env, self.env.docname, node))


def setup(app):
    app.setup_extension("myst_nb")
    app.add_node(BuildStatusNode)
    app.add_directive("build-status", BuildStatus)
    app.add_post_transform(FillBuildStatus)
    app.connect("env-get-outdated", _outdated)
    app.connect("env-before-read-docs", _before_read, priority=900)
    app.connect("env-updated", _classify)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
