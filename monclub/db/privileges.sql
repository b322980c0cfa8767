-- What the application's role may do, granted again after every migration (`{app}` is that role):
-- exactly the statements of the shards, relay, listeners and CLI, nothing on the schema itself.
-- The séance counters are written only by the SECURITY DEFINER trigger of migration 005.
REVOKE ALL ON ALL TABLES IN SCHEMA public FROM {app};
REVOKE ALL ON ALL SEQUENCES IN SCHEMA public FROM {app};
GRANT USAGE ON SCHEMA public TO {app};
GRANT SELECT, INSERT ON membres, relances TO {app};
GRANT SELECT, INSERT ON seances TO {app};
GRANT UPDATE (places, annulee, quand) ON seances TO {app};
GRANT SELECT, INSERT, DELETE ON inscriptions TO {app};
GRANT UPDATE (statut, rang) ON inscriptions TO {app};
GRANT SELECT, INSERT, DELETE ON requests, events TO {app};
GRANT SELECT, UPDATE ON outbox_sequence TO {app};
GRANT SELECT, INSERT, UPDATE ON listener_positions, paiements, notifications, livres, prets TO {app};
GRANT USAGE ON SEQUENCE membres_id_seq, inscription_rang, paiements_id_seq, notifications_id_seq, prets_id_seq TO {app};
GRANT SELECT, INSERT, UPDATE ON partitions TO {app};
GRANT SELECT, INSERT ON epochs TO {app};
GRANT SELECT, INSERT, UPDATE ON nodes TO {app};
GRANT SELECT ON meta TO {app};
-- The archive (migration 023): the relay appends to it and moves its position; everyone reads it.
-- Its partitions are made and dropped by the owner's functions (SECURITY DEFINER), not by the role.
GRANT SELECT, INSERT ON history TO {app};
GRANT SELECT ON aggregate_states TO {app};
GRANT SELECT, UPDATE ON history_position TO {app};
REVOKE EXECUTE ON FUNCTION monclub_history_months(integer), monclub_history_keep(integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION monclub_history_months(integer), monclub_history_keep(integer) TO {app};
