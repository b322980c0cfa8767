-- When a séance takes place (docs/protocol.md, `creer` and `deplacer`): an instant, shown in the
-- club's time zone (`[club] timezone`). Séances created before have none, and may keep none.
ALTER TABLE seances ADD COLUMN quand timestamptz;
