"""Builds the compiled copy of the package (monclub/compiled.py) into build/compiled; run by
`scripts/install --compiled`. Does nothing when the build was made from the sources as they are.

The copy is compiled in a fresh folder beside the build, which replaces the previous build only once
everything compiled: a failed compile says what failed, exits non-zero, and leaves the pure install
(and the previous build) as they were."""

import shutil
import subprocess
import sys
import time

from monclub import compiled

SETUP = """
from setuptools import setup
from mypyc.build import mypycify

setup(
    name="monclub_compiled",
    ext_modules=mypycify({paths!r} + ["--config-file", {config!r}], group_name="monclub"),
    script_args=["build_ext", "--inplace"],
)
"""
SCRATCH = ("build", "setup.py", ".mypy_cache")


def main() -> int:
    made_from = compiled.fingerprint()
    stamp = compiled.BUILD / compiled.STAMP
    if stamp.exists() and stamp.read_text().strip() == made_from:
        return 0
    fresh = compiled.BUILD.with_name("compiled.new")
    shutil.rmtree(fresh, ignore_errors=True)
    shutil.copytree(compiled.SOURCES, fresh / "monclub", ignore=shutil.ignore_patterns("__pycache__"))
    paths = [name.replace(".", "/") + ".py" for name in compiled.MODULES]
    config = compiled.SOURCES.parent / "pyproject.toml"
    (fresh / "setup.py").write_text(SETUP.format(paths=paths, config=str(config)))
    print(f"compiling {len(paths)} modules with mypyc into {compiled.BUILD}...", flush=True)
    started = time.monotonic()
    done = subprocess.run([sys.executable, "setup.py"], cwd=fresh, capture_output=True, text=True)
    if done.returncode != 0:
        sys.stderr.write(done.stdout[-5000:] + done.stderr[-5000:])
        print(
            f"scripts/install --compiled: the compile failed (mypyc's or the C compiler's errors above; its files"
            f" are left in {fresh}). It needs a C compiler and Python's headers (Debian: apt-get install gcc"
            " python3-dev). The pure Python install is unchanged: run MonClub without MONCLUB_COMPILED.",
            file=sys.stderr,
        )
        return 1
    if compiled.fingerprint() != made_from:
        print("scripts/install --compiled: the sources changed during the compile; run it again", file=sys.stderr)
        return 1
    for path in paths:  # a compiled module can only load as its extension module
        (fresh / path).unlink()
    for name in SCRATCH:
        shutil.rmtree(fresh / name) if (fresh / name).is_dir() else (fresh / name).unlink(missing_ok=True)
    (fresh / compiled.STAMP).write_text(made_from + "\n")
    shutil.rmtree(compiled.BUILD, ignore_errors=True)
    fresh.rename(compiled.BUILD)
    print(f"compiled in {time.monotonic() - started:.0f} s", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
