"""The fallback clusters kept outside their state directory: each records the state directory it
serves, and `monclub clusters --remove-orphans` removes those whose state directory is gone."""

import os
from pathlib import Path

from monclub.postgres import embedded as cluster


def _fallback(root: Path, name: str, home: Path | None) -> Path:
    directory = root / name
    (directory / "data").mkdir(parents=True)
    if home is not None:
        (directory / cluster.STATE_DIRECTORY).write_text(f"{home}\n")
    return directory


def test_only_a_cluster_whose_state_directory_is_gone_is_an_orphan_and_removed(tmp_path):
    root, alive_home = tmp_path / "clusters", tmp_path / "checkout" / ".monclub"
    alive_home.mkdir(parents=True)
    kept = _fallback(root, "a" * 16, alive_home)
    orphan = _fallback(root, "b" * 16, tmp_path / "deleted" / ".monclub")
    unknown = _fallback(root, "c" * 16, None)
    listed = {c["directory"]: c for c in cluster.fallback_clusters(root)}
    assert [listed[str(d)]["orphan"] for d in (kept, orphan, unknown)] == [False, True, False]
    assert listed[str(kept)]["state_directory"] == str(alive_home)
    assert cluster.remove_orphans(root) == [str(orphan)]
    assert kept.exists() and unknown.exists() and not orphan.exists()


def test_a_fallback_cluster_records_its_state_directory(tmp_path, monkeypatch):
    monkeypatch.setattr(cluster, "FALLBACK_ROOT", tmp_path / "clusters")
    home = tmp_path / "home"
    fallback = cluster.Cluster(tmp_path / "clusters" / "dddd", cluster.run_user(), home)
    fallback._prepare_directory()
    assert (fallback.directory / cluster.STATE_DIRECTORY).read_text().strip() == str(home)
    assert os.stat(fallback.directory).st_mode & 0o777 == 0o700
