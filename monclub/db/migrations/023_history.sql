-- Every aggregate's history (docs/events.md, "The archive"): each domain event kept for good, with
-- the node and the request id that caused it, in monthly partitions that `[history] keep` may drop.
--
-- The counter row is locked first: no event commits while the archive is set up, so that the
-- outbox's events copied here, the archive's position and the snapshots all stand at one point.
SELECT seq FROM outbox_sequence FOR UPDATE;

-- Who wrote an event: the writer's node, and the request id of the command that caused it (null
-- for a timer's event, such as a loan's reminder, and for events written before this migration).
ALTER TABLE events ADD COLUMN node text, ADD COLUMN request_id text;

-- The archive: the outbox's rows, with the membres each event names (for a member's history),
-- partitioned by month of `at`. `snapshot` rows (seq = the last event they include) hold an
-- aggregate's whole state, so that replay needs nothing older. The primary key leads with the
-- aggregate: one aggregate's history, in seq order, page by page.
CREATE TABLE history (
    seq        bigint      NOT NULL,
    type       text        NOT NULL,
    aggregate  text        NOT NULL,
    at         timestamptz NOT NULL,
    payload    jsonb       NOT NULL,
    branch     text,
    partition  integer,
    epoch      bigint,
    node       text,
    request_id text,
    membres    bigint[]    NOT NULL DEFAULT '{}',
    PRIMARY KEY (aggregate, seq, at)
) PARTITION BY RANGE (at);
CREATE INDEX history_seq ON history (seq);
CREATE INDEX history_membres ON history USING gin (membres);
-- Whatever falls outside the months created (the relay was down at a month's turn): no insert fails.
CREATE TABLE history_default PARTITION OF history DEFAULT;

-- How far the relay has archived the outbox: retention prunes nothing beyond it.
CREATE TABLE history_position (
    singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    seq       bigint  NOT NULL
);
INSERT INTO history_position SELECT true, seq FROM outbox_sequence;

-- The membres an event names: its `membre`, or everyone a cancellation lists.
CREATE FUNCTION monclub_membres(p_type text, p_payload jsonb) RETURNS bigint[]
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE
        WHEN p_type = 'snapshot' THEN '{}'::bigint[]
        WHEN p_payload ? 'membre' THEN ARRAY[(p_payload ->> 'membre')::bigint]
        WHEN p_type = 'seance_annulee' THEN ARRAY(
            SELECT jsonb_array_elements_text(p_payload -> 'inscrits')
            UNION ALL SELECT jsonb_array_elements_text(p_payload -> 'attente'))::bigint[]
        ELSE '{}'::bigint[] END
$$;

-- The partitions of this month and the `p_ahead` next ones (UTC months) that do not exist yet,
-- each taking from the default partition the rows of its month; under an advisory lock, since the
-- relay of any node and the migrations call it. As the owner: the programs' role has no DDL.
CREATE FUNCTION monclub_history_months(p_ahead integer) RETURNS integer
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    first timestamptz := date_trunc('month', now() AT TIME ZONE 'UTC') AT TIME ZONE 'UTC';
    lo timestamptz;
    hi timestamptz;
    name text;
    made integer := 0;
BEGIN
    PERFORM pg_advisory_xact_lock(1296236548, 0);  -- 0x4D430004: the archive's partitions
    FOR i IN 0..p_ahead LOOP
        lo := first + make_interval(months => i);
        hi := lo + interval '1 month';
        name := 'history_' || to_char(lo AT TIME ZONE 'UTC', 'YYYY_MM');
        CONTINUE WHEN to_regclass(name) IS NOT NULL;
        EXECUTE format('CREATE TABLE %I (LIKE history INCLUDING DEFAULTS)', name);
        EXECUTE format('WITH moved AS (DELETE FROM history_default WHERE at >= %L AND at < %L RETURNING *)'
                       ' INSERT INTO %I SELECT * FROM moved', lo, hi, name);
        EXECUTE format('ALTER TABLE history ATTACH PARTITION %I FOR VALUES FROM (%L) TO (%L)', name, lo, hi);
        made := made + 1;
    END LOOP;
    RETURN made;
END $$;

-- Every séance and copy as its stored rows say, in the payload of a `snapshot` row: what a snapshot
-- keeps, and what `monclub verify` compares each aggregate's replayed events with.
CREATE VIEW aggregate_states AS
    SELECT 'seance/' || s.id AS aggregate, jsonb_build_object(
        'seance', s.id, 'titre', s.titre, 'places', s.places, 'attente_max', s.attente_max,
        'tarif', s.tarif, 'annulee', s.annulee,
        -- `quand` in the one form the wire gives an instant (monclub.contract.protocol.instant)
        'quand', to_char(s.quand AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS')
                 || CASE WHEN to_char(s.quand, 'US') = '000000' THEN '' ELSE to_char(s.quand, '.US') END || 'Z',
        'inscrits', ARRAY(SELECT membre_id FROM inscriptions i
                          WHERE i.seance_id = s.id AND i.statut = 'inscrit' ORDER BY i.rang),
        'attente', ARRAY(SELECT membre_id FROM inscriptions i
                         WHERE i.seance_id = s.id AND i.statut = 'attente' ORDER BY i.rang)) AS payload
    FROM seances s
    UNION ALL
    SELECT 'livre/' || l.id, jsonb_build_object(
        'livre', l.id, 'titre', l.titre, 'emprunteur', l.emprunteur,
        'echeance', extract(epoch FROM l.echeance)::float8, 'prolonge', l.prolonge,
        'retard_signale', l.retard_signale, 'relances', l.relances,
        'prochaine', extract(epoch FROM l.prochaine_relance)::float8)
    FROM livres l;

-- A snapshot of every aggregate at the last event committed: one statement, so that the counter and
-- the rows are read in one snapshot of the database.
CREATE FUNCTION monclub_history_snapshot() RETURNS bigint
LANGUAGE sql AS $$
    WITH made AS (
        INSERT INTO history (seq, type, aggregate, at, payload)
        SELECT o.seq, 'snapshot', a.aggregate, now(), a.payload FROM outbox_sequence o, aggregate_states a
        RETURNING 1)
    SELECT count(*) FROM made
$$;

-- `[history] keep`: drop the whole months that ended more than `p_months` months before this one,
-- and the default partition's rows as old, after a snapshot of every aggregate in the same
-- transaction (replay starts from it); with nothing to drop, no snapshot. The months dropped.
CREATE FUNCTION monclub_history_keep(p_months integer) RETURNS integer
LANGUAGE plpgsql SECURITY DEFINER SET search_path = public, pg_temp AS $$
DECLARE
    cutoff timestamptz := (date_trunc('month', now() AT TIME ZONE 'UTC') AT TIME ZONE 'UTC')
                          - make_interval(months => p_months);
    old text[];
    name text;
BEGIN
    IF p_months < 1 THEN
        RAISE EXCEPTION 'keep at least the month before this one (got %)', p_months;
    END IF;
    PERFORM pg_advisory_xact_lock(1296236548, 0);
    old := ARRAY(
        SELECT c.relname FROM pg_inherits h JOIN pg_class c ON c.oid = h.inhrelid
        WHERE h.inhparent = 'history'::regclass AND c.relname ~ '^history_\d{4}_\d{2}$'
          AND to_date(substr(c.relname, 9), 'YYYY_MM') + interval '1 month' <= cutoff AT TIME ZONE 'UTC'
        ORDER BY c.relname);
    IF cardinality(old) = 0 AND NOT EXISTS (SELECT FROM history_default WHERE at < cutoff) THEN
        RETURN 0;
    END IF;
    PERFORM monclub_history_snapshot();
    FOREACH name IN ARRAY old LOOP
        EXECUTE format('DROP TABLE %I', name);
    END LOOP;
    DELETE FROM history_default WHERE at < cutoff;
    RETURN cardinality(old);
END $$;

SELECT monclub_history_months(2);

-- What the outbox still holds, then a snapshot of every aggregate: replay starts from it, since
-- the events pruned before the archive existed are gone.
INSERT INTO history (seq, type, aggregate, at, payload, branch, partition, epoch, membres)
SELECT seq, type, aggregate, at, payload, branch, partition, epoch, monclub_membres(type, payload) FROM events;
SELECT monclub_history_snapshot();
