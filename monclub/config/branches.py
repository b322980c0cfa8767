"""Each branch's section of the configuration (`[<branch>] shards, partitions, max_loaded,
idle`), for every branch of the registry: its environment variables for the counts, else its
section, else its defaults. The first two branches' settings keep their Config attributes."""

from monclub import registry
from monclub.config.checks import positive_float, positive_int
from monclub.errors import ConfigError

# A branch's settings and their kinds; the environment may set the counts (`<prefix>SHARDS`,
# `<prefix>PARTITIONS`, the prefix being the branch's in the registry).
_BRANCH_SETTINGS = {"shards": int, "partitions": int, "max_loaded": int, "idle": float}
_BRANCH_DEFAULTS = {"max_loaded": 100_000, "idle": 900.0}
# The Config attributes that the first two branches' settings keep (users and tests read them).
ATTRIBUTES = {
    "reunions": {"shards": "shards", "partitions": "partitions", "max_loaded": "max_loaded", "idle": "idle"},
    "prets": {key: f"pret_{key}" for key in _BRANCH_SETTINGS},
}


def defaults(branch: registry.Branch) -> dict:
    return {"shards": branch.shards, "partitions": branch.partitions, **_BRANCH_DEFAULTS}


def read(data: dict, env) -> dict[str, dict]:
    """Each registered branch's settings: its variables, else its section, else its defaults; at
    least as many partitions as shard processes per node (each hosts some)."""
    if registry.PROBLEM:
        raise ConfigError(registry.PROBLEM)
    found = {}
    for branch in registry.BRANCHES:
        section, default = data.get(branch.name, {}), defaults(branch)
        found[branch.name] = settings = {
            key: _checked(_variable(env, branch, key) or section.get(key, default[key]), kind, f"{branch.name}.{key}")
            for key, kind in _BRANCH_SETTINGS.items()
        }
        shards, partitions = settings["shards"], settings["partitions"]
        if shards > partitions:
            raise ConfigError(
                f"{branch.name}.shards = {shards} exceeds {branch.name}.partitions = {partitions}: "
                "a shard process hosts one partition or more; lower shards"
            )
    return found


def _variable(env, branch: registry.Branch, key: str) -> str | None:
    return env.get(f"{branch.env_prefix}{key.upper()}") if key in ("shards", "partitions") else None


def _checked(value, kind: type, name: str):
    return positive_int(value, name) if kind is int else positive_float(value, name)
