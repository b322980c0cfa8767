"""The web program: the HTTP API, the live pages and /metrics, in front of the same client and
reads as the CLI (docs/http.md)."""
