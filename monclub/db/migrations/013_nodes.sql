-- The nodes of a cluster (docs/cluster.md): each shard process beats its node's heartbeat here
-- (seen), and a node being drained (`monclub node drain`) keeps running but is given no partition.
CREATE TABLE nodes (
    node     text        PRIMARY KEY,
    seen     timestamptz NOT NULL DEFAULT now(),
    draining boolean     NOT NULL DEFAULT false
);
