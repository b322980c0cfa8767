-- The directory of owners (docs/cluster.md, "Routing"): each partition's row also says where its
-- owner listens, so that any shard can name the owner of a partition it does not host, and a
-- client can ask any shard where every partition lives.
ALTER TABLE partitions ADD COLUMN endpoint text;
