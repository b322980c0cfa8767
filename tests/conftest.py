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
