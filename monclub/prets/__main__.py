"""The Prêts supervisor program: the loan shards' branch of the tree."""

import sys

from monclub.prets.shard import livre_shard
from monclub.supervision.branch import main

sys.exit(main("prets", lambda config: config.pret_shards, livre_shard))
