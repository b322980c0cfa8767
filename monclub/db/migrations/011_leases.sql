-- Leases on partitions (docs/architecture.md, "Leases and fenced reads"): an owner renews
-- lease_until while it lives; another process takes the partition only once the lease has
-- expired by PostgreSQL's clock, or when the owner's process is known to be dead on this host.
ALTER TABLE partitions
    ADD COLUMN owner_pid   integer,
    ADD COLUMN owner_host  text,
    ADD COLUMN lease_until timestamptz;
