"""How many times each program of the tree has started since `monclub start` (supervisord keeps
no restart count): each program records its own start in the run directory."""

from pathlib import Path


def _path(run_dir: Path, program: str) -> Path:
    return run_dir / "starts" / program


def record_start(run_dir: Path, program: str) -> None:
    path = _path(run_dir, program)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(str(starts(run_dir, program) + 1))
    tmp.replace(path)


def starts(run_dir: Path, program: str) -> int:
    try:
        return int(_path(run_dir, program).read_text())
    except (FileNotFoundError, ValueError):
        return 0


def reset(run_dir: Path) -> None:
    for path in (run_dir / "starts").glob("*"):
        path.unlink()
