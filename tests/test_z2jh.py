"""The Zero to JupyterHub configuration (hub/z2jh-config.yaml) gives what the labs were sized for.

No cluster here: these check the values the instructors' guide and the cost table rely on.
"""

import re

import yaml

from conftest import REPO
from pragmatic.site.hub_cost import Assumptions

CONFIG = yaml.safe_load((REPO / "hub/z2jh-config.yaml").read_text())


def test_students_get_the_two_cores_the_labs_were_timed_on_and_the_costed_guarantees():
    user, costed = CONFIG["singleuser"], Assumptions()
    assert user["cpu"] == {"limit": costed.limit, "guarantee": costed.guarantee}
    assert float(user["memory"]["guarantee"].removesuffix("G")) == costed.memory_gb
    assert user["defaultUrl"] == "/lab"
    assert CONFIG["cull"]["enabled"] and CONFIG["cull"]["timeout"] == 3600


def test_there_is_a_gpu_profile_on_an_image_with_the_cuda_build():
    profiles = CONFIG["singleuser"]["profileList"]
    assert sum(bool(p.get("default")) for p in profiles) == 1
    gpu = [p for p in profiles
           if p.get("kubespawner_override", {}).get("extra_resource_limits", {}).get("nvidia.com/gpu")]
    assert len(gpu) == 1
    assert gpu[0]["kubespawner_override"]["image"].split(":")[0].endswith("-gpu")
    dockerfile = (REPO / "hub/Dockerfile.gpu").read_text()
    assert "requirements-gpu.txt" in dockerfile


def test_the_image_has_what_the_launch_links_need():
    pins = (REPO / "requirements.txt").read_text()
    for package in ("nbgitpuller", "jupytext", "jupyterlab-myst|jupyterlab_myst", "jupyterhub"):
        assert re.search(rf"^({package})==", pins, re.M | re.I), package
    assert CONFIG["hub"]["config"]["JupyterHub"]["authenticator_class"] != "dummy"
