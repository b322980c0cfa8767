"""The Réunions supervisor program: the séance shards' branch of the tree."""

import sys

from monclub.reunions.shard import BRANCH
from monclub.shards.branch import main

sys.exit(main(BRANCH))
