-- The séance counters, kept once per statement instead of once per row: a shard writes a batch of
-- registrations as one multi-row INSERT, which then updates each séance row once, not once per
-- registration. The CHECKs of migration 001 still hold against any direct SQL.

DROP TRIGGER inscriptions_compteurs ON inscriptions;
DROP FUNCTION compter_inscriptions();

CREATE FUNCTION compter_inscriptions() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        UPDATE seances s SET inscrits = s.inscrits + d.inscrits, en_attente = s.en_attente + d.attente
        FROM (SELECT seance_id, count(*) FILTER (WHERE statut = 'inscrit') AS inscrits,
                     count(*) FILTER (WHERE statut = 'attente') AS attente
              FROM nouvelles GROUP BY seance_id) d
        WHERE s.id = d.seance_id;
    ELSIF TG_OP = 'DELETE' THEN
        UPDATE seances s SET inscrits = s.inscrits - d.inscrits, en_attente = s.en_attente - d.attente
        FROM (SELECT seance_id, count(*) FILTER (WHERE statut = 'inscrit') AS inscrits,
                     count(*) FILTER (WHERE statut = 'attente') AS attente
              FROM anciennes GROUP BY seance_id) d
        WHERE s.id = d.seance_id;
    ELSE
        UPDATE seances s SET inscrits = s.inscrits + d.inscrits, en_attente = s.en_attente + d.attente
        FROM (SELECT seance_id, sum((statut = 'inscrit')::int * signe) AS inscrits,
                     sum((statut = 'attente')::int * signe) AS attente
              FROM (SELECT seance_id, statut, 1 AS signe FROM nouvelles
                    UNION ALL SELECT seance_id, statut, -1 FROM anciennes) changes
              GROUP BY seance_id) d
        WHERE s.id = d.seance_id AND (d.inscrits <> 0 OR d.attente <> 0);
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER inscriptions_ajoutees AFTER INSERT ON inscriptions
    REFERENCING NEW TABLE AS nouvelles FOR EACH STATEMENT EXECUTE FUNCTION compter_inscriptions();
CREATE TRIGGER inscriptions_retirees AFTER DELETE ON inscriptions
    REFERENCING OLD TABLE AS anciennes FOR EACH STATEMENT EXECUTE FUNCTION compter_inscriptions();
CREATE TRIGGER inscriptions_changees AFTER UPDATE ON inscriptions
    REFERENCING OLD TABLE AS anciennes NEW TABLE AS nouvelles FOR EACH STATEMENT EXECUTE FUNCTION compter_inscriptions();
