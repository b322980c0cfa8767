-- Exactly once over HTTP (docs/http.md): each Idempotency-Key the web program was sent, with the
-- fingerprint of the request it came with (method, path, body), so that the same key with another
-- request is refused. A command of a shard needs nothing more: the key becomes its request id,
-- whose reply the shard stores. A command the web program applies to PostgreSQL itself (a new
-- membre, a settled paiement) stores its reply here, in the transaction of the change.
CREATE TABLE web_requests (
    key         text PRIMARY KEY,
    fingerprint text NOT NULL,
    status      integer,
    reply       jsonb,
    cree_le     timestamptz NOT NULL DEFAULT now()
);
