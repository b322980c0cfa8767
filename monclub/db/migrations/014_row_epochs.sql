-- Each row a shard writes carries the epoch it was written under (docs/cluster.md, "Fencing").
-- monclub_fence, the first statement of every shard transaction, also records the epoch it
-- checked as a transaction-local setting; new rows take it as their default, and a row updated in
-- such a transaction is stamped by a trigger. Rows written outside a fenced transaction (the
-- drills' direct SQL, the deliberately broken build MONCLUB_FAULT=no_fence) carry NULL.
CREATE OR REPLACE FUNCTION monclub_fence(p_branch text, p_partition integer, p_epoch bigint) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM 1 FROM partitions
    WHERE branch = p_branch AND partition = p_partition AND epoch = p_epoch
    FOR SHARE;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'partition %/% is no longer owned at epoch %', p_branch, p_partition, p_epoch
            USING ERRCODE = 'MCF01';
    END IF;
    PERFORM set_config('monclub.epoch', p_epoch::text, true);
END $$;

CREATE FUNCTION monclub_epoch() RETURNS bigint
LANGUAGE sql STABLE AS $$ SELECT nullif(current_setting('monclub.epoch', true), '')::bigint $$;

CREATE FUNCTION monclub_stamp_epoch() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    NEW.epoch := monclub_epoch();
    RETURN NEW;
END $$;

ALTER TABLE seances ADD COLUMN epoch bigint DEFAULT monclub_epoch();
ALTER TABLE inscriptions ADD COLUMN epoch bigint DEFAULT monclub_epoch();
ALTER TABLE livres ADD COLUMN epoch bigint DEFAULT monclub_epoch();
ALTER TABLE prets ADD COLUMN epoch bigint DEFAULT monclub_epoch();
ALTER TABLE relances ADD COLUMN epoch bigint DEFAULT monclub_epoch();

CREATE TRIGGER stamp_epoch BEFORE UPDATE ON seances FOR EACH ROW EXECUTE FUNCTION monclub_stamp_epoch();
CREATE TRIGGER stamp_epoch BEFORE UPDATE ON inscriptions FOR EACH ROW EXECUTE FUNCTION monclub_stamp_epoch();
CREATE TRIGGER stamp_epoch BEFORE UPDATE ON livres FOR EACH ROW EXECUTE FUNCTION monclub_stamp_epoch();
CREATE TRIGGER stamp_epoch BEFORE UPDATE ON prets FOR EACH ROW EXECUTE FUNCTION monclub_stamp_epoch();
