"""The course on a real JupyterHub (issue 9, part 3), on loopback only.

A JupyterHub from hub/jupyterhub_config.py (dummy authenticator, local-process spawner, the
npm configurable-http-proxy) serves a student who opens the launch link the student edition
would show, generated from editions.yml's hub with that hub's address swapped for the test's.
nbgitpuller pulls the student distribution from a local git repository, and the student's own
server, started by the hub, runs a lab notebook top to bottom in a kernel whose working folder
is the notebook's, as when the student opens it: the lab's asserted findings pass there.

A missing prerequisite (the proxy, node, git, the environment) fails the test with one line
saying how to get it; the test never skips. Everything it starts is stopped on the way out,
and a process left behind fails it (tests/hubtools.py).
"""

import time

import pytest
from hubtools import REPO, HubError, Student, running_hub

from pragmatic.distribution import student_distribution
from pragmatic.edition import launch_targets
from pragmatic.launch import launch_link

# The quickest lab with asserted findings (about 20 s on the build machine, most of it compiling
# its kernels); lab 1 takes minutes.
LAB = "labs/04-precisely-wrong.ipynb"
FINDINGS = "checks.assert_findings("
LAB_TIMEOUT = 600  # seconds for the whole lab, which runs in under a minute on 2 busy cores


def test_a_student_runs_a_lab_on_the_hub(tmp_path, record_property):
    targets = launch_targets(REPO)
    name = targets["repository"].rstrip("/").rsplit("/", 1)[-1]
    started = time.perf_counter()
    dist = student_distribution(REPO, tmp_path / name, homework=None)
    times = {"student distribution": time.perf_counter() - started}
    # The link the student edition shows for this lab, pointed at the local copy of the
    # distribution and at this hub instead of the configured one.
    configured = launch_link(targets["jupyterhub_url"], dist.as_uri(), targets["branch"], LAB)
    prefix = targets["jupyterhub_url"].rstrip("/")
    assert configured.startswith(prefix + "/hub/user-redirect/git-pull?"), configured
    notebook = f"{name}/{LAB}"
    try:
        with running_hub(tmp_path / "hub") as hub:
            student = Student(hub)
            page = student.open_launch_link(hub.url + configured.removeprefix(prefix))
            landed = student.pull(page)
            assert landed.endswith(f"{student.base}lab/tree/{notebook}"), landed
            assert (hub.homes / student.name / notebook).is_file()
            cells = [cell["source"] for cell in
                     student.api("GET", f"contents/{notebook}").json()["content"]["cells"]
                     if cell["cell_type"] == "code"]
            assert any(FINDINGS in source for source in cells), f"{LAB} asserts no findings"
            started = time.perf_counter()
            with student.kernel_for(notebook) as kernel:
                folder = hub.homes / student.name / name / "labs"
                kernel.execute(f"import os; assert os.path.samefile(os.getcwd(), "
                               f"{str(folder)!r}), os.getcwd()", "the working-folder check", 60)
                deadline = time.monotonic() + LAB_TIMEOUT
                for number, source in enumerate(cells, 1):
                    kernel.execute(source, f"code cell {number} of {LAB}",
                                   timeout=deadline - time.monotonic())
            hub.times["lab execution"] = time.perf_counter() - started
            times.update(hub.times)
    except HubError as err:  # a message of its own: no traceback, told once
        failure = "\n".join([str(err), *getattr(err, "__notes__", [])])
    else:
        failure = None
    if failure:
        pytest.fail(failure, pytrace=False)
    for step, seconds in times.items():
        record_property(step, round(seconds, 1))
    print("hub test times (s): " + ", ".join(f"{k} {v:.1f}" for k, v in times.items()))
