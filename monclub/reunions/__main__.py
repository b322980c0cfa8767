"""The Réunions supervisor program: the séance shards' branch of the tree."""

import sys

from monclub.reunions.shard import seance_shard
from monclub.supervision.branch import main

sys.exit(main("reunions", lambda config: config.shards,
              lambda config, conninfo, index: seance_shard(index, config.shards, conninfo, config.fault)))
