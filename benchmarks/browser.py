"""What the browser tests, scripts/screenshots and `scripts/bench web` share: Debian's Chromium
driven by Playwright (never `playwright install`: its download cannot work on these machines),
and a whole MonClub of its own to point it at."""

import contextlib
import json
import shutil
import tempfile
from pathlib import Path

from benchmarks.events import monclub
from benchmarks.harness import own_env
from monclub.postgres.embedded import Cluster

CHROMIUM = Path("/usr/bin/chromium")
# Run as root: no sandbox; and nothing but the page's own server to talk to.
FLAGS = [
    "--no-sandbox",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
INSTALL = "run scripts/install --test (as root), or apt-get install chromium"


def chromium(playwright, user_data: Path):
    """A headless Chromium with a fresh profile in `user_data` (a persistent context: Playwright
    refuses --user-data-dir among the flags)."""
    if not CHROMIUM.exists():
        raise FileNotFoundError(f"no {CHROMIUM}: {INSTALL}")
    return playwright.chromium.launch_persistent_context(
        user_data, executable_path=CHROMIUM, headless=True, args=FLAGS, viewport={"width": 1280, "height": 800}
    )


@contextlib.contextmanager
def own_monclub(config_text: str = "", **env_extra: str):
    """(env, web url, state directory): `monclub start` in a temporary state directory with its
    embedded PostgreSQL and `config_text` as its config file; stopped and removed on the way out."""
    private = Path(tempfile.mkdtemp(prefix="mcweb-", dir="/tmp"))
    home = private / "home"
    (private / "monclub.toml").write_text(config_text)
    env = own_env()
    env.update(MONCLUB_HOME=str(home), MONCLUB_CONFIG=str(private / "monclub.toml"), **env_extra)
    try:
        monclub(env, "start")
        status = json.loads(monclub(env, "status", "--json"))
        url = next(p["url"] for p in status["programs"] if p["name"] == "web").rstrip("/")
        yield env, url, home
    finally:
        with contextlib.suppress(Exception):
            monclub(env, "stop")
        Cluster.for_home(home).destroy()
        shutil.rmtree(private, ignore_errors=True)
