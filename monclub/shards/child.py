"""A shard process started fresh by its branch supervisor (`replace`, for `monclub reload`):
`python -m monclub.shards.child BRANCH INDEX`, with the supervisor's environment. It runs the code
on disk, where a forked shard runs the code its supervisor imported when it started."""

import sys

from monclub import config as configuration
from monclub.prets.shard import BRANCH as PRETS
from monclub.reunions.shard import BRANCH as REUNIONS
from monclub.shards.branch import run_shard

BRANCHES = {branch.name: branch for branch in (REUNIONS, PRETS)}


def main(argv: list[str]) -> int:
    branch, index = BRANCHES[argv[0]], int(argv[1])
    config = configuration.load()
    return run_shard(branch, config, config.conninfo(), index)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
