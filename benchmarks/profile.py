"""Profile a shard with py-spy (the bench extra): a flame graph of where its time goes.

  scripts/profile [--shard 0] [--branch reunions] [--seconds 20] [--output profile.svg]
profiles a shard of the running MonClub (the one MONCLUB_HOME / MONCLUB_CONFIG point at) while
you load it; `scripts/bench perf --only hot --profile hot.svg` profiles the hot séance's shard
during the MonClub run with the most clients. Both run `py-spy record -o OUT --pid PID`.
"""

import argparse
import contextlib
import shutil
import signal
import subprocess
import sys
from pathlib import Path

from monclub import config as configuration
from monclub.client.sync import probe


def py_spy() -> str:
    found = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
    if not Path(found).exists():
        raise RuntimeError("py-spy is not installed: scripts/install --bench")
    return found


@contextlib.contextmanager
def recording(pid: int, output: Path, seconds: float | None = None):
    """py-spy records `pid` while the block runs (or for `seconds`), then writes `output`: a flame
    graph, or collapsed stacks (one line per stack, for scripts) when its name ends in .txt."""
    argv = [
        py_spy(),
        "record",
        "-o",
        str(output),
        "--pid",
        str(pid),
        "--format",
        "raw" if output.suffix == ".txt" else "flamegraph",
    ]
    process = subprocess.Popen([*argv, "--duration", str(int(seconds))] if seconds else argv)
    try:
        yield process
    finally:
        if process.poll() is None and not seconds:
            process.send_signal(signal.SIGINT)  # py-spy writes its output on Ctrl-C
        process.wait(timeout=60 + (seconds or 0))


def shard_pid(config: configuration.Config, shard: int, branch: str) -> int:
    answer = probe(config, shard, branch)
    if answer is None:
        raise RuntimeError(f"{branch}/shard-{shard} does not answer a ping (is MonClub running? MONCLUB_HOME?)")
    return answer["pid"]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shard", type=int, default=0)
    parser.add_argument("--branch", default="reunions", choices=("reunions", "prets"))
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--output", type=Path, default=Path("profile.svg"))
    args = parser.parse_args(argv)
    try:
        pid = shard_pid(configuration.load(), args.shard, args.branch)
        print(f"recording {args.branch}/shard-{args.shard} (pid {pid}) for {args.seconds:g}s into {args.output}")
        with recording(pid, args.output, args.seconds):
            pass
    except RuntimeError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
