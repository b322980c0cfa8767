"""Which etcd the demo runs, and the releases it refuses.

An etcd member that leads the cluster and is frozen (SIGSTOP, a stalled host) keeps counting its
leases down meanwhile; thawed, releases before 3.4.31 and 3.5.13 let it revoke them all, though
another member leads by then (etcd-io/etcd#15247). Under Patroni that revokes the new primary's
leader key: the leader race that follows can go to the thawed old primary, and the new primary
and its synchronous standby are rewound, with commits already acknowledged. Seen with Debian
bookworm's 3.4.23 in tests/integration/test_database_faults.py (docs/database.md, "The etcd
release"), so such a release is refused, naming what to install.

scripts/install --ha unpacks Debian trixie's etcd-server 3.5.16 into INSTALLED; an etcd on the
PATH serves when that is missing, if its release is safe."""

import re
import shutil
import subprocess
from pathlib import Path

from monclub.errors import ConfigError

INSTALLED = Path("/var/lib/monclub/etcd-3.5.16/usr/bin/etcd")
SAFE_FROM = {(3, 4): 31, (3, 5): 13}  # the first patch release of each minor with the fix
INSTALL = "run scripts/install --ha as root (it unpacks Debian's etcd-server 3.5.16 into /var/lib/monclub)"


def command() -> str:
    """The etcd binary to run; ConfigError when there is none, or its release is refused."""
    found = str(INSTALLED) if INSTALLED.exists() else shutil.which("etcd")
    if found is None:
        raise ConfigError(f"no etcd command: {INSTALL}")
    printed = subprocess.run([found, "--version"], capture_output=True, text=True, timeout=30).stdout
    refused = refusal(printed)
    if refused:
        raise ConfigError(f"{found}: {refused}; {INSTALL}")
    return found


def refusal(printed: str) -> str | None:
    """Why the etcd whose `--version` printed this is refused (None: it is not)."""
    match = re.search(r"etcd Version: (\d+)\.(\d+)\.(\d+)", printed)
    if match is None:
        return "its version is unreadable"
    major, minor, patch = (int(part) for part in match.groups())
    fixed = SAFE_FROM.get((major, minor))
    if (major, minor) < (3, 4) or (fixed is not None and patch < fixed):
        return (
            f"etcd {major}.{minor}.{patch} revokes every lease after its leader was frozen "
            "(etcd-io/etcd#15247, fixed in 3.4.31 and 3.5.13), which can lose commits Patroni acknowledged"
        )
    return None
