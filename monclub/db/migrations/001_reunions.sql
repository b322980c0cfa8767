-- Members, séances, their registrations, and the replies of applied requests.

CREATE TABLE meta (
    key   text PRIMARY KEY,
    value text NOT NULL
);

CREATE TABLE membres (
    id      bigserial PRIMARY KEY,
    nom     text NOT NULL CHECK (length(nom) BETWEEN 1 AND 200),
    email   text CHECK (length(email) <= 320),
    cree_le timestamptz NOT NULL DEFAULT now()
);

-- inscrits and en_attente are counters kept by the trigger below, so that the CHECKs hold even
-- against direct SQL writes, at O(1) cost per write (the row lock on the séance serializes them).
CREATE TABLE seances (
    id          text PRIMARY KEY,
    titre       text NOT NULL,
    places      integer NOT NULL CHECK (places >= 0),
    attente_max integer NOT NULL CHECK (attente_max >= 0),
    tarif       integer NOT NULL CHECK (tarif >= 0),
    inscrits    integer NOT NULL DEFAULT 0 CHECK (inscrits >= 0),
    en_attente  integer NOT NULL DEFAULT 0 CHECK (en_attente >= 0),
    cree_le     timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT seance_places_respectees CHECK (inscrits <= places),
    CONSTRAINT seance_attente_respectee CHECK (en_attente <= attente_max)
);

CREATE SEQUENCE inscription_rang;

-- One row per member per séance (the primary key forbids duplicates); rang orders the registered
-- members and the FIFO waiting list.
CREATE TABLE inscriptions (
    seance_id text NOT NULL REFERENCES seances (id),
    membre_id bigint NOT NULL REFERENCES membres (id),
    statut    text NOT NULL CHECK (statut IN ('inscrit', 'attente')),
    rang      bigint NOT NULL DEFAULT nextval('inscription_rang'),
    PRIMARY KEY (seance_id, membre_id)
);
CREATE INDEX inscriptions_ordre ON inscriptions (seance_id, rang);

CREATE FUNCTION compter_inscriptions() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        UPDATE seances SET
            inscrits = inscrits - (OLD.statut = 'inscrit')::int,
            en_attente = en_attente - (OLD.statut = 'attente')::int
        WHERE id = OLD.seance_id;
    END IF;
    IF TG_OP IN ('UPDATE', 'INSERT') THEN
        UPDATE seances SET
            inscrits = inscrits + (NEW.statut = 'inscrit')::int,
            en_attente = en_attente + (NEW.statut = 'attente')::int
        WHERE id = NEW.seance_id;
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER inscriptions_compteurs
    AFTER INSERT OR UPDATE OF statut, seance_id OR DELETE ON inscriptions
    FOR EACH ROW EXECUTE FUNCTION compter_inscriptions();

-- The reply of every applied request, by its client-chosen id: a retry gets the original outcome.
CREATE TABLE requests (
    id      text PRIMARY KEY,
    shard   text NOT NULL,
    reply   bytea NOT NULL,
    cree_le timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX requests_age ON requests (cree_le);
