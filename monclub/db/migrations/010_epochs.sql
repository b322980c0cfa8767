-- Ownership of partitions, fenced by epoch (docs/architecture.md, "Fencing by epoch").
-- Acquiring a partition increments its epoch; every transaction a shard commits first calls
-- monclub_fence with the epoch it acquired, which reads the partition's row FOR SHARE: a bump
-- (an UPDATE of that row) waits for the transactions that passed the check to commit, and a
-- transaction that checks after a bump is refused. A plain SELECT would let a bump slip in
-- between the check and the COMMIT.

CREATE TABLE partitions (
    branch    text    NOT NULL,
    partition integer NOT NULL CHECK (partition >= 0),
    epoch     bigint  NOT NULL DEFAULT 0,
    owner     text,
    PRIMARY KEY (branch, partition)
);

-- Every acquisition, with the outbox position right after it: an event of the partition written
-- under an older epoch with a later sequence number was committed by a stale owner.
CREATE TABLE epochs (
    branch      text        NOT NULL,
    partition   integer     NOT NULL,
    epoch       bigint      NOT NULL,
    owner       text        NOT NULL,
    acquired_at timestamptz NOT NULL DEFAULT now(),
    outbox_seq  bigint      NOT NULL,
    PRIMARY KEY (branch, partition, epoch)
);

ALTER TABLE requests ADD COLUMN epoch bigint;
ALTER TABLE events ADD COLUMN branch text, ADD COLUMN partition integer, ADD COLUMN epoch bigint;

CREATE FUNCTION monclub_fence(p_branch text, p_partition integer, p_epoch bigint) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM 1 FROM partitions
    WHERE branch = p_branch AND partition = p_partition AND epoch = p_epoch
    FOR SHARE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'partition %/% is no longer owned at epoch %', p_branch, p_partition, p_epoch
            USING ERRCODE = 'MCF01';
    END IF;
END $$;
