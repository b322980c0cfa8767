"""MonClub: a club backend whose aggregates are supervised OS processes."""

import os

if os.environ.get("MONCLUB_COMPILED") == "1":
    # The optional compiled build (monclub/compiled.py): every submodule comes from its copy.
    from monclub import compiled

    compiled.activate(__path__)
