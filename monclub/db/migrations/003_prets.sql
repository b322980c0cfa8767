-- Book copies (livres) and their loans. The current loan's state, including when its next
-- reminder falls due, lives on the livre row: timers are state, found by an indexed query.

CREATE TABLE livres (
    id                text PRIMARY KEY,
    titre             text NOT NULL,
    shard             integer NOT NULL,
    emprunteur        bigint REFERENCES membres (id),
    echeance          timestamptz,
    prolonge          boolean NOT NULL DEFAULT false,
    retard_signale    boolean NOT NULL DEFAULT false,
    relances          integer NOT NULL DEFAULT 0,
    prochaine_relance timestamptz,
    cree_le           timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX livres_relances_dues ON livres (shard, prochaine_relance) WHERE prochaine_relance IS NOT NULL;

-- One row per loan; at most one open loan per copy, even against direct SQL.
CREATE TABLE prets (
    id        bigserial PRIMARY KEY,
    livre_id  text NOT NULL REFERENCES livres (id),
    membre_id bigint NOT NULL REFERENCES membres (id),
    debut     timestamptz NOT NULL DEFAULT now(),
    echeance  timestamptz NOT NULL,
    rendu_le  timestamptz
);
CREATE UNIQUE INDEX prets_un_emprunteur ON prets (livre_id) WHERE rendu_le IS NULL;

-- Every reminder sent, recorded in the same transaction as its event: numero 0 is pret_en_retard.
CREATE TABLE relances (
    pret_id    bigint NOT NULL REFERENCES prets (id),
    numero     integer NOT NULL,
    envoyee_le timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (pret_id, numero)
);
