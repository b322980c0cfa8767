-- livres.emprunteur is the membre of the copy's open loan in prets, or null when none is open.
-- Before this, `UPDATE livres SET emprunteur = ...` could lend a copy with no loan, or to
-- somebody else than its borrower. A shard writes the livre row and the loan in either order
-- within one transaction, so the check runs at COMMIT (deferred constraint triggers, one indexed
-- lookup per changed row), on both tables: a loan opened, closed or moved must agree too.

CREATE FUNCTION verifier_emprunteur_de(livre text) RETURNS void LANGUAGE plpgsql
    SET search_path = pg_catalog, public AS $$
DECLARE
    emprunteur_livre bigint;
    emprunteur_pret bigint;
BEGIN
    SELECT emprunteur INTO emprunteur_livre FROM livres WHERE id = livre;
    SELECT membre_id INTO emprunteur_pret FROM prets WHERE livre_id = livre AND rendu_le IS NULL;
    IF emprunteur_livre IS DISTINCT FROM emprunteur_pret THEN
        RAISE EXCEPTION 'livre %: emprunteur % but the open loan in prets is %', livre,
            coalesce(emprunteur_livre::text, 'none'), coalesce(emprunteur_pret::text, 'none')
            USING ERRCODE = 'check_violation', TABLE = 'livres', CONSTRAINT = 'livre_emprunteur_du_pret';
    END IF;
END $$;

CREATE FUNCTION livre_emprunteur_du_pret() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM verifier_emprunteur_de(NEW.id);
    RETURN NULL;
END $$;

CREATE FUNCTION pret_emprunteur_du_livre() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        PERFORM verifier_emprunteur_de(OLD.livre_id);
    END IF;
    IF TG_OP IN ('UPDATE', 'INSERT') AND (TG_OP = 'INSERT' OR NEW.livre_id <> OLD.livre_id) THEN
        PERFORM verifier_emprunteur_de(NEW.livre_id);
    END IF;
    RETURN NULL;
END $$;

CREATE CONSTRAINT TRIGGER livre_emprunteur_du_pret AFTER INSERT OR UPDATE OF emprunteur ON livres
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION livre_emprunteur_du_pret();
CREATE CONSTRAINT TRIGGER pret_emprunteur_du_livre AFTER INSERT OR UPDATE OF livre_id, membre_id, rendu_le OR DELETE
    ON prets DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION pret_emprunteur_du_livre();
