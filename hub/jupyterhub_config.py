"""JupyterHub for the course on one machine: `.venv/bin/jupyterhub -f hub/jupyterhub_config.py`.

Settings come from the environment; the defaults make a hub that only this machine can reach:

  HUB_IP              address of the hub's public port (default 127.0.0.1)
  HUB_PORT            its port (default 8000)
  HUB_API_PORT        the hub's own API, always on 127.0.0.1 (default 8081)
  HUB_PROXY_API_PORT  the proxy's API, always on 127.0.0.1 (default 8001)
  HUB_STATE_DIR       sqlite database, cookie secret, proxy pid file
                      (default ~/.local/state/assumptions-first-hub)
  HUB_HOMES           users' home folders, HUB_HOMES/{username}, for the simple spawner
                      (default HUB_STATE_DIR/homes)
  HUB_AUTHENTICATOR   JupyterHub's name for it: dummy (default: any name and password logs in),
                      pam (the machine's accounts), or any other installed one
  HUB_ALLOWED_GROUP   with pam: the system group whose members may log in (e.g. students)
  HUB_ADMINS          user names, separated by spaces, who administer the hub (the instructors)
  HUB_SPAWNER         simple (default: every user's server runs as the hub's own user, in
                      HUB_HOMES/{username}) or localprocess (each as the system user of that
                      name, in their own home; the hub must run as root)
  HUB_SSL_CERT, HUB_SSL_KEY   serve HTTPS (required when HUB_IP is not loopback)

The dummy authenticator and the simple spawner isolate nobody (anyone logs in as anyone, and
every server can read the others' files and the hub's secrets), so they are refused off
loopback: a hub students reach needs a real authenticator and HUB_SPAWNER=localprocess, or
Zero to JupyterHub (hub/z2jh-config.yaml). A reverse proxy (nginx, Caddy) in front of a
loopback hub makes it public too, which this file cannot see: use the same settings then.
tests/test_hub.py runs this file on loopback with free ports and temporary folders.

Each user's server is the course environment's `jupyterhub-singleuser` (JupyterLab, the course
package, nbgitpuller), opens in /lab, and is configured never to call the network itself (no
news feed, no update check, no PyPI extension manager); nbgitpuller fetches only the
repository its launch link names.
"""

import ipaddress
import os
import shutil
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
# The environment that runs the hub also serves the users: JupyterLab, the course package and
# nbgitpuller are installed in it (`make env`).
BIN = Path(sys.executable).parent
SINGLEUSER = BIN / "jupyterhub-singleuser"
# configurable-http-proxy from the npm registry, pinned in package.json (`make node_modules`).
PROXY = REPO / "node_modules" / ".bin" / "configurable-http-proxy"
SPAWNERS = {"simple": "jupyterhub.spawner.SimpleLocalProcessSpawner",
            "localprocess": "jupyterhub.spawner.LocalProcessSpawner"}


def _fail(message: str) -> None:
    """One line on stderr and exit 2, rather than a hub that half starts."""
    print(f"hub/jupyterhub_config.py: {message}", file=sys.stderr)
    sys.exit(2)


def _port(name: str, default: int) -> int:
    text = os.environ.get(name, str(default))
    if not text.isdigit() or not 0 < int(text) < 65536:
        _fail(f"{name}={text!r} is not a port; allowed: a whole number from 1 to 65535")
    return int(text)


def _loopback(ip: str) -> bool:
    try:
        return ipaddress.ip_address(ip).is_loopback
    except ValueError:
        _fail(f"HUB_IP={ip!r} is not an IP address; allowed: e.g. 127.0.0.1 or 0.0.0.0")


c = get_config()  # noqa: F821 (JupyterHub's config loader provides it)

ip = os.environ.get("HUB_IP", "127.0.0.1")
port = _port("HUB_PORT", 8000)
state = Path(os.environ.get("HUB_STATE_DIR") or Path.home() / ".local/state/assumptions-first-hub")
homes = Path(os.environ.get("HUB_HOMES") or state / "homes")
authenticator = os.environ.get("HUB_AUTHENTICATOR", "dummy")
spawner = os.environ.get("HUB_SPAWNER", "simple")

if spawner not in SPAWNERS:
    _fail(f"HUB_SPAWNER={spawner!r} is unknown; allowed: {', '.join(SPAWNERS)}")
if not _loopback(ip) and (authenticator == "dummy" or spawner == "simple"):
    _fail(f"HUB_IP={ip} is reachable from other machines: set HUB_AUTHENTICATOR to a real "
          f"authenticator (e.g. pam) and HUB_SPAWNER=localprocess; the dummy authenticator "
          f"and the simple spawner are for loopback only")
cert, key = os.environ.get("HUB_SSL_CERT", ""), os.environ.get("HUB_SSL_KEY", "")
if bool(cert) != bool(key):
    _fail("give both HUB_SSL_CERT and HUB_SSL_KEY, or neither")
if not _loopback(ip) and not cert:
    _fail(f"HUB_IP={ip} would send passwords in clear: set HUB_SSL_CERT and HUB_SSL_KEY, or keep "
          f"the hub on 127.0.0.1 behind a reverse proxy that serves HTTPS")
for need, how in ((PROXY, "run `make node_modules` (npm ci)"), (SINGLEUSER, "run `make env`")):
    if not os.access(need, os.X_OK):
        _fail(f"{need} is missing: {how}")
for command, why in (("node", "Node.js 18 or newer, for the proxy"), ("git", "for nbgitpuller")):
    if not shutil.which(command):
        _fail(f"{command} is not on PATH: install it ({why})")
state.mkdir(parents=True, exist_ok=True, mode=0o700)

# --- the hub and its proxy ---------------------------------------------------------------------
c.JupyterHub.bind_url = f"http{'s' if cert else ''}://{ip}:{port}"
c.JupyterHub.ssl_cert, c.JupyterHub.ssl_key = cert, key
c.JupyterHub.hub_ip = "127.0.0.1"
c.JupyterHub.hub_port = _port("HUB_API_PORT", 8081)
c.JupyterHub.db_url = f"sqlite:///{state / 'jupyterhub.sqlite'}"
c.JupyterHub.cookie_secret_file = str(state / "jupyterhub_cookie_secret")
c.ConfigurableHTTPProxy.command = [str(PROXY)]
c.ConfigurableHTTPProxy.api_url = f"http://127.0.0.1:{_port('HUB_PROXY_API_PORT', 8001)}"
c.ConfigurableHTTPProxy.pid_file = str(state / "proxy.pid")
# The hub generates the proxy's token at each start and hands it to the proxy it starts.
# Stopping the hub stops the proxy and every user's server (the defaults, said here on purpose).
c.JupyterHub.cleanup_proxy = True
c.JupyterHub.cleanup_servers = True

# --- who logs in -------------------------------------------------------------------------------
# "dummy" accepts any name and password: for trying the hub and for the test only.
c.JupyterHub.authenticator_class = authenticator
if authenticator == "dummy":
    c.Authenticator.allow_all = True
# A real authenticator lets in no one until told whom (JupyterHub 5 and later).
if os.environ.get("HUB_ALLOWED_GROUP"):
    c.LocalAuthenticator.allowed_groups = {os.environ["HUB_ALLOWED_GROUP"]}
c.Authenticator.admin_users = set(os.environ.get("HUB_ADMINS", "").split())

# --- each user's server ------------------------------------------------------------------------
c.JupyterHub.spawner_class = SPAWNERS[spawner]
c.SimpleLocalProcessSpawner.home_dir_template = str(homes / "{username}")
c.Spawner.cmd = [str(SINGLEUSER)]
c.Spawner.default_url = "/lab"
c.Spawner.disable_user_config = True  # the course's settings, not whatever ~/.jupyter holds
c.Spawner.start_timeout = 120  # JupyterLab on a busy 2-core machine
c.Spawner.http_timeout = 90
c.Spawner.args = [
    # Nothing in JupyterLab calls out: no news feed, no update check, no PyPI listing.
    "--LabApp.news_url=None",
    "--LabApp.check_for_updates_class=jupyterlab.handlers.announcements.NeverCheckForUpdate",
    "--LabApp.extension_manager=readonly",
    # The simple spawner runs servers as the hub's user, which may be root (CI containers).
    *(["--ServerApp.allow_root=True"] if spawner == "simple" and os.geteuid() == 0 else []),
]
