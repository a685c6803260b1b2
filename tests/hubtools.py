"""A real JupyterHub on loopback, and a student who uses it over HTTP (tests/test_hub.py).

`running_hub` starts `jupyterhub -f hub/jupyterhub_config.py` with free ports and folders of
its own, and stops it, its proxy, every user's server and every kernel on the way out, even
when the test fails. `Student` does what a student's browser does: opens a launch link, logs in,
starts the server, lets nbgitpuller pull (the JavaScript of nbgitpuller's page, done by hand),
then runs a notebook cell by cell in a kernel of that server, over the kernel's websocket as
JupyterLab does.
"""

from __future__ import annotations

import html
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import uuid
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote, urlencode, urljoin, urlsplit

import psutil
import requests
import websocket

REPO = Path(__file__).resolve().parent.parent
CONFIG = REPO / "hub" / "jupyterhub_config.py"
BIN = Path(sys.executable).parent
ANSI = re.compile(r"\x1b\[[0-9;]*m")


class HubError(AssertionError):
    """What went wrong, in a line or two, with the end of the hub's log when it helps."""


def free_ports(count: int) -> list[int]:
    """Ports free on 127.0.0.1 now, all different (held open together while chosen)."""
    socks = [socket.socket() for _ in range(count)]
    try:
        for sock in socks:
            sock.bind(("127.0.0.1", 0))
        return [sock.getsockname()[1] for sock in socks]
    finally:
        for sock in socks:
            sock.close()


def _tail(log: Path, lines: int = 40) -> str:
    text = log.read_text(errors="replace") if log.exists() else ""
    return "\n".join(text.splitlines()[-lines:])


def _ours(marker: str) -> list[psutil.Process]:
    """Every process whose environment names `marker` (the test's folder): the hub, its proxy
    (both given HUB_STATE_DIR), users' servers, their kernels and git (HOME under it)."""
    me = {os.getpid(), *(p.pid for p in psutil.Process().parents())}
    found = []
    for proc in psutil.process_iter():
        try:
            if proc.pid not in me and any(marker in value for value in proc.environ().values()):
                found.append(proc)
        except (psutil.Error, OSError):  # gone, a zombie, or not ours to read
            continue
    return found


def _kill(procs: list[psutil.Process], grace: float) -> None:
    for proc in procs:
        try:
            proc.terminate()
        except psutil.Error:
            pass
    _, alive = psutil.wait_procs(procs, timeout=grace)
    for proc in alive:
        try:
            proc.kill()
        except psutil.Error:
            pass
    psutil.wait_procs(alive, timeout=grace)


@dataclass
class Hub:
    url: str  # the proxy's public address, as a student reaches it
    homes: Path
    log: Path
    process: subprocess.Popen
    times: dict = field(default_factory=dict)

    def fail(self, message: str) -> HubError:
        return HubError(f"{message}\n--- end of the hub's log ({self.log}) ---\n{_tail(self.log)}")


@contextmanager
def running_hub(root: Path, timeout: float = 60):
    """A JupyterHub from hub/jupyterhub_config.py on 127.0.0.1, its state and homes in `root`.

    On the way out: SIGTERM to the hub (which stops the proxy and the users' servers), then any
    process still carrying `root` in its environment is terminated, then killed; a process that
    survives even that fails the test.
    """
    exe = BIN / "jupyterhub"
    if not os.access(exe, os.X_OK):
        raise HubError(f"{exe} is missing: run `make env` (requirements.txt pins jupyterhub)")
    root.mkdir(parents=True, exist_ok=True)
    state, homes, log = root / "state", root / "homes", root / "hub.log"
    port, api, proxy_api = free_ports(3)
    # Only the test's settings: none of the caller's own HUB_* variables.
    env = {key: value for key, value in os.environ.items() if not key.startswith("HUB_")}
    env.update(HUB_IP="127.0.0.1", HUB_PORT=str(port), HUB_API_PORT=str(api),
               HUB_PROXY_API_PORT=str(proxy_api), HUB_STATE_DIR=str(state),
               HUB_HOMES=str(homes), HUB_AUTHENTICATOR="dummy", HUB_SPAWNER="simple")
    started = time.perf_counter()
    with open(log, "wb") as out:
        process = subprocess.Popen([str(exe), "-f", str(CONFIG)], cwd=root, env=env,
                                   stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    hub = Hub(f"http://127.0.0.1:{port}", homes, log, process)
    try:
        _wait_ready(hub, timeout)
        hub.times["hub start"] = time.perf_counter() - started
        yield hub
    except BaseException as err:
        try:
            _stop(hub, str(root))
        except HubError as left:  # worth knowing, but the first failure comes first
            err.add_note(str(left))
        raise
    _stop(hub, str(root))


def _wait_ready(hub: Hub, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if hub.process.poll() is not None:
            lines = _tail(hub.log, 200).splitlines()
            # The config's own one-line refusal (a missing prerequisite) says it all.
            own = [line for line in lines if line.startswith("hub/jupyterhub_config.py:")]
            if own:
                raise HubError(own[-1])
            raise hub.fail(f"the hub exited with code {hub.process.returncode} before it answered")
        try:
            if requests.get(f"{hub.url}/hub/api", timeout=2).status_code == 200:
                return  # the proxy is up and routes to the hub
        except requests.ConnectionError:
            pass
        time.sleep(0.5)
    raise hub.fail(f"the hub did not answer at {hub.url}/hub/api within {timeout:.0f} s")


def _stop(hub: Hub, marker: str) -> None:
    if hub.process.poll() is None:
        os.killpg(hub.process.pid, signal.SIGTERM)
        try:
            hub.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(hub.process.pid, signal.SIGKILL)
            hub.process.wait(timeout=10)
    _kill(_ours(marker), grace=5)
    left = _ours(marker)
    if left:
        raise HubError("processes left running after the hub test: "
                       + "; ".join(f"{p.pid} {' '.join(p.cmdline())[:120]}" for p in left))


class Student:
    """A browser's part, over HTTP: cookies, the _xsrf tokens and the redirects."""

    def __init__(self, hub: Hub, name: str = "student", timeout: float = 180):
        self.hub, self.name, self.timeout = hub, name, timeout
        self.http = requests.Session()
        self.base = f"/user/{name}/"

    def _get(self, url: str, **kwargs) -> requests.Response:
        return self.http.get(urljoin(self.hub.url, url), timeout=30, **kwargs)

    def open_launch_link(self, link: str) -> requests.Response:
        """Open the link logged out, log in on the page it leads to and wait while the hub
        starts the server (a new user's starts at once): the response is nbgitpuller's page."""
        page = self._get(link)
        if urlsplit(page.url).path != "/hub/login":
            raise self.hub.fail(f"a launch link should lead a new visitor to /hub/login, "
                                f"not to {page.url}")
        form = re.search(r'<form[^>]*action="([^"]*)"', page.text)
        xsrf = re.search(r'name="_xsrf"[^>]*value="([^"]*)"', page.text)
        if not form or not xsrf:
            raise self.hub.fail(f"no login form with an _xsrf field at {page.url}")
        started = time.perf_counter()
        page = self.http.post(urljoin(page.url, html.unescape(form[1])), timeout=30,
                              data={"username": self.name, "password": "any", "_xsrf": xsrf[1]})
        deadline = time.monotonic() + self.timeout
        while urlsplit(page.url).path.startswith("/hub/spawn-pending/"):
            if time.monotonic() > deadline:
                raise self.hub.fail(f"{self.name}'s server did not start "
                                    f"within {self.timeout:.0f} s")
            time.sleep(1)
            page = self._get(page.url)  # the hub redirects onwards once the server is up
        self.hub.times["login and spawn"] = time.perf_counter() - started
        if page.status_code != 200 or urlsplit(page.url).path != self.base + "git-pull":
            raise self.hub.fail(f"the launch link ended at {page.url} ({page.status_code}), "
                                f"not at nbgitpuller's page in {self.base}")
        return page

    def pull(self, page: requests.Response) -> str:
        """What nbgitpuller's page does in a browser: call its API, follow the stream to
        'finished', then go where the link asked. Returns that last URL."""
        data = {key: unquote(html.unescape(value)) for key, value in
                re.findall(r'data-([a-z-]+)="([^"]*)"', page.text.split("<body", 1)[-1])}
        query = {"_xsrf": data["xsrf"], "repo": data["repo"], "targetpath": data["targetpath"],
                 **({"branch": data["branch"]} if "branch" in data else {})}
        started, log = time.perf_counter(), []
        api = f"{data['base-url']}git-pull/api?{urlencode(query)}"
        with self._get(api, stream=True) as stream:
            for line in stream.iter_lines(decode_unicode=True):
                if not line.startswith("data:"):
                    continue
                event = json.loads(line[5:])
                log.append(event.get("output", ""))
                if event["phase"] == "error":
                    raise self.hub.fail(f"nbgitpuller failed: {event['message']}\n"
                                        f"{event.get('output', '')}")
                if event["phase"] == "finished":
                    break
            else:
                raise self.hub.fail("nbgitpuller's stream ended without 'finished':\n"
                                    + "".join(log))
        self.hub.times["pull"] = time.perf_counter() - started
        target = self._get(data["base-url"] + data["path"])
        if target.status_code != 200:
            raise self.hub.fail(f"after the pull, {target.url} answered {target.status_code}")
        return target.url

    # --- the user's server's REST API and a kernel -------------------------------------------

    def _headers(self) -> dict:
        xsrf = next((c.value for c in self.http.cookies if c.name == "_xsrf"
                     and c.path.rstrip("/") == self.base.rstrip("/")), None)
        if xsrf is None:
            raise self.hub.fail(f"no _xsrf cookie for {self.base}: the server was never opened")
        return {"X-XSRFToken": xsrf}

    def api(self, method: str, path: str, **kwargs) -> requests.Response:
        response = self.http.request(method, urljoin(self.hub.url, self.base + "api/" + path),
                                     headers=self._headers(), timeout=60, **kwargs)
        if response.status_code >= 400:
            raise self.hub.fail(f"{method} {self.base}api/{path}: {response.status_code} "
                                f"{response.text[:300]}")
        return response

    @contextmanager
    def kernel_for(self, notebook: str):
        """A kernel for `notebook` (a path in the user's home), started as JupyterLab starts one
        when the notebook is opened (a session, so its working folder is the notebook's)."""
        session = self.api("POST", "sessions", json={
            "path": notebook, "name": Path(notebook).name, "type": "notebook",
            "kernel": {"name": "python3"}}).json()
        kernel = None
        try:
            kernel = Kernel(self, session["kernel"]["id"])
            yield kernel
        finally:
            if kernel is not None:
                kernel.ws.close()
            try:
                self.api("DELETE", f"sessions/{session['id']}")
            except (HubError, requests.RequestException):
                pass  # the hub's shutdown and the sweep after it stop the kernel anyway


class Kernel:
    """One kernel's websocket: execute code, fail on the first error with its traceback."""

    def __init__(self, student: Student, kernel_id: str):
        self.student, self.session = student, uuid.uuid4().hex
        url = (student.hub.url.replace("http", "ws", 1) + student.base
               + f"api/kernels/{kernel_id}/channels?session_id={self.session}")
        cookies = "; ".join(f"{c.name}={c.value}" for c in student.http.cookies
                            if student.base.startswith(c.path.rstrip("/") + "/"))
        self.ws = websocket.create_connection(url, cookie=cookies, header=student._headers(),
                                              timeout=30)

    def execute(self, code: str, label: str, timeout: float) -> None:
        msg_id = uuid.uuid4().hex
        self.ws.send(json.dumps({
            "header": {"msg_id": msg_id, "msg_type": "execute_request", "session": self.session,
                       "username": self.student.name, "version": "5.3", "date": ""},
            "parent_header": {}, "metadata": {}, "channel": "shell", "buffers": [],
            "content": {"code": code, "silent": False, "store_history": True,
                        "user_expressions": {}, "allow_stdin": False, "stop_on_error": True}}))
        deadline, reply, idle, streams = time.monotonic() + timeout, None, False, []
        while reply is None or not idle:
            if time.monotonic() > deadline:
                raise self.student.hub.fail(f"{label} was still running when its time ran "
                                            f"out ({timeout:.0f} s)")
            self.ws.settimeout(max(1.0, deadline - time.monotonic()))
            try:
                msg = json.loads(self.ws.recv())
            except websocket.WebSocketTimeoutException:
                continue
            if msg.get("parent_header", {}).get("msg_id") != msg_id:
                continue
            kind = msg["header"]["msg_type"]
            if kind == "execute_reply":
                reply = msg["content"]
            elif kind == "status" and msg["content"]["execution_state"] == "idle":
                idle = True
            elif kind == "stream":
                streams.append(msg["content"]["text"])
        if reply["status"] != "ok":
            trace = ANSI.sub("", "\n".join(reply.get("traceback", [])))
            raise HubError(f"{label} failed in the user's kernel: {reply.get('ename')}: "
                           f"{reply.get('evalue')}\n{trace[-3000:]}\n--- its output ---\n"
                           f"{''.join(streams)[-2000:]}")
