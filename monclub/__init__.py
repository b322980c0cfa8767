"""MonClub: a club backend whose aggregates are supervised OS processes."""
