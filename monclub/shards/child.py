"""A shard process started fresh by its branch supervisor (`replace`, for `monclub reload`):
`python -m monclub.shards.child BRANCH INDEX`, with the supervisor's environment. It runs the code
on disk, where a forked shard runs the code its supervisor imported when it started. The branch's
wiring comes from the registry, so any registered branch can be started this way."""

import sys

from monclub import config as configuration
from monclub import registry
from monclub.shards.branch import run_shard


def main(argv: list[str]) -> int:
    branch, index = registry.branch(argv[0]).wiring(), int(argv[1])
    config = configuration.load()
    return run_shard(branch, config, config.conninfo(), index)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
