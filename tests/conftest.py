"""The suite's fixtures, and the markers that say what a test needs beyond Python (pyproject.toml
declares them). Marking follows the fixtures a test uses, so that it cannot drift from the code:
`scripts/test --quick` leaves out every test so marked, and tests/fixtures/lanes.py fails any test
that still reaches one of these fixtures in that lane."""

pytest_plugins = [
    "tests.fixtures.postgres",
    "tests.fixtures.processes",
    "tests.fixtures.tree",
    "tests.fixtures.daemon",
    "tests.fixtures.netns",
    "tests.fixtures.web",
    "tests.fixtures.browser",
    "tests.fixtures.services",
]

# fixture -> the markers of every test that uses it, directly or through another fixture (e.g. `sql`,
# `tree`, `web` and `netns_database` reach one of these). A test that starts such a thing otherwise
# (a fixture of its own file, request.getfixturevalue, a program it runs itself) is marked in its file.
NEEDS = {
    "postgres_cluster": ("pg",),  # postgres.py: the suite's private PostgreSQL cluster
    "start_reunions": ("daemon",),  # processes.py: a Réunions supervisor and its shards
    "start_service": ("daemon",),  # services.py: the accueil, the replay socket
    "start_tree": ("daemon",),  # tree.py: a whole tree under supervisord (`monclub start`)
    "daemon_env": ("daemon", "pg"),  # daemon.py: a whole MonClub, its embedded PostgreSQL included
    "netns_network": ("netns",),  # netns.py: the switch and the hosts' namespaces
    "netns_postgres": ("pg",),  # netns.py: PostgreSQL in the `pg` namespace
    "browser": ("browser",),  # browser.py: Chromium through Playwright
}


def pytest_collection_modifyitems(items):
    for item in items:
        for marker in sorted({marker for name in item.fixturenames for marker in NEEDS.get(name, ())}):
            item.add_marker(marker)
