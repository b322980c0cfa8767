-- The transactional outbox, listener positions, and what the listeners produce.

ALTER TABLE seances ADD COLUMN annulee boolean NOT NULL DEFAULT false;

-- The next event sequence number. A shard takes its numbers with UPDATE ... RETURNING as the last
-- statement before COMMIT: the row lock is held until commit, so numbers are gapless (a rollback
-- gives them back) and visible in commit order (a writer waits for the previous one to commit).
CREATE TABLE outbox_sequence (
    singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    seq       bigint NOT NULL
);
INSERT INTO outbox_sequence VALUES (true, 0);

CREATE TABLE events (
    seq       bigint PRIMARY KEY,
    type      text NOT NULL,
    aggregate text NOT NULL,
    at        timestamptz NOT NULL DEFAULT now(),
    payload   jsonb NOT NULL
);
CREATE INDEX events_age ON events (at);

-- How far each listener has applied the event stream, written in the same transaction as its
-- effects: a redelivered event is never applied twice.
CREATE TABLE listener_positions (
    listener   text PRIMARY KEY,
    seq        bigint NOT NULL DEFAULT 0,
    updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE paiements (
    id        bigserial PRIMARY KEY,
    seance_id text NOT NULL REFERENCES seances (id),
    membre_id bigint NOT NULL REFERENCES membres (id),
    montant   integer NOT NULL CHECK (montant > 0),
    statut    text NOT NULL CHECK (statut IN ('en_attente', 'paye', 'annule', 'a_rembourser')),
    event_seq bigint NOT NULL UNIQUE,
    cree_le   timestamptz NOT NULL DEFAULT now(),
    modifie_le timestamptz NOT NULL DEFAULT now()
);
-- At most one live payment per registration.
CREATE UNIQUE INDEX paiements_un_vivant ON paiements (seance_id, membre_id) WHERE statut IN ('en_attente', 'paye');

CREATE TABLE notifications (
    id        bigserial PRIMARY KEY,
    event_seq bigint NOT NULL,
    membre_id bigint NOT NULL REFERENCES membres (id),
    kind      text NOT NULL,
    message   text NOT NULL,
    cree_le   timestamptz NOT NULL DEFAULT now(),
    envoye_le timestamptz,
    UNIQUE (event_seq, membre_id)
);
CREATE INDEX notifications_a_envoyer ON notifications (id) WHERE envoye_le IS NULL;

-- The listeners are known from the start, so that pruning never removes what one of them has not
-- consumed yet, even before its first run.
INSERT INTO listener_positions (listener) VALUES ('paiements'), ('notifications');
