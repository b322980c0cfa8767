-- Each stored reply keeps the fingerprint of the request it answered (docs/protocol.md §5): the same
-- request id sent again with another op or other fields is refused (`request_id_reused`) instead
-- of answered with the first request's reply. Replies stored before this migration have none.
-- The web program's own table of Idempotency-Keys goes: a key is a request id like any other, so
-- this fingerprint is all it needed, and the web program no longer writes to PostgreSQL.
ALTER TABLE requests ADD COLUMN empreinte bytea;
DROP TABLE web_requests;
