"""The Prêts supervisor program: the loan shards' branch of the tree."""

import sys

from monclub.prets.shard import BRANCH
from monclub.shards.branch import main

sys.exit(main(BRANCH))
