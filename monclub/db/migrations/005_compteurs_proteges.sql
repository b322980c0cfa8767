-- The séance counters can only be written by the counter triggers of inscriptions (migration 004),
-- so that the CHECK (inscrits <= places) they carry tells the truth. Before this, `UPDATE seances
-- SET inscrits = 0` and one more 'inscrit' row gave two registrations on one seat.
--
-- Two locks: the counter function runs as the owner of the schema (SECURITY DEFINER), so the
-- application's role needs no right on the counter columns at all (privileges.sql grants it
-- UPDATE of places and annulee only); and a trigger refuses any change of a counter that does not
-- come from a trigger (pg_trigger_depth), which holds for the owner's plain SQL too. Both are row
-- triggers on seances with a WHEN clause, so they cost nothing to the statements that leave the
-- counters alone, and one call per séance per statement to the counter triggers, which stay
-- set-based. Only the owner can drop or disable them (session_replication_role needs a superuser).

ALTER FUNCTION compter_inscriptions() SECURITY DEFINER SET search_path = pg_catalog, public;

CREATE FUNCTION compteurs_par_inscriptions() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF pg_trigger_depth() < 2 THEN
        RAISE EXCEPTION 'seances.inscrits and en_attente count the rows of inscriptions: write inscriptions, not the counters'
            USING ERRCODE = 'check_violation', TABLE = 'seances', CONSTRAINT = 'seance_compteurs_derives';
    END IF;
    RETURN NEW;
END $$;

CREATE TRIGGER seance_compteurs_derives BEFORE UPDATE OF inscrits, en_attente ON seances
    FOR EACH ROW WHEN (NEW.inscrits IS DISTINCT FROM OLD.inscrits OR NEW.en_attente IS DISTINCT FROM OLD.en_attente)
    EXECUTE FUNCTION compteurs_par_inscriptions();
CREATE TRIGGER seance_compteurs_a_zero BEFORE INSERT ON seances
    FOR EACH ROW WHEN (NEW.inscrits <> 0 OR NEW.en_attente <> 0)
    EXECUTE FUNCTION compteurs_par_inscriptions();
