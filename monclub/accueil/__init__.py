"""The accueil (the club's front desk): everything the CLI does for a club that no shard owns,
over the wire, with the shards' envelope, codec and error codes (docs/protocol.md, section 14).

One ROUTER socket in one program of the tree: members created, listings read page by page from
PostgreSQL, payments settled. A mutation is exactly-once by request id: its reply is stored in
`requests` in the transaction of its change, as the shards store theirs.
"""
