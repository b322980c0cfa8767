-- A listener's position moved, guarded by the position it read, in one statement that fails
-- (SQLSTATE MCP01) when another process moved it first. A listener sends its whole transaction
-- (BEGIN, this, the effects, COMMIT) in one round trip, a pipeline, so it cannot look at a row
-- count before the effects are sent: the failure aborts them instead, and nothing is applied
-- twice (monclub.events.listener).
CREATE FUNCTION monclub_move_position(p_listener text, p_from bigint, p_to bigint) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    UPDATE listener_positions SET seq = p_to, updated_at = now() WHERE listener = p_listener AND seq = p_from;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'listener % is no longer at seq %', p_listener, p_from USING ERRCODE = 'MCP01';
    END IF;
END $$;
