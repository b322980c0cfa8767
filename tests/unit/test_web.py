"""The web program's pure parts: its settings, its problems, its idempotency fingerprints."""

import pytest

from monclub import config as configuration
from monclub.errors import ConfigError, InvalidField, InvalidRequest, MonclubError, Refus, Timeout, Unavailable
from monclub.web import idempotency, problems
from monclub.web.settings import WebSettings, load, make_token, token_file


def _settings(tmp_path, text: str, **env) -> WebSettings:
    path = tmp_path / "monclub.toml"
    path.write_text(text)
    return load(configuration.load({"MONCLUB_CONFIG": str(path), "MONCLUB_HOME": str(tmp_path), **env}))


def test_the_defaults_are_loopback_a_free_port_no_buttons(tmp_path):
    assert _settings(tmp_path, "") == WebSettings("127.0.0.1", 0, False, None)


@pytest.mark.parametrize(
    "text, message",
    [
        ('[web]\nbind = "0.0.0.0"', "beyond loopback: set web.token"),
        ("[web]\nactions = true", "web.actions = true needs web.token"),
        ('[web]\nactions = "yes"', "web.actions must be true or false"),
        ("[web]\nport = 70000", "web.port = 70000"),
        ('[web]\nbind = "localhost:80"', "give an IP address"),
        ('[web]\ntoken = "short"', "web.token must be 16 to 256"),
        ('web = "x"', "[web] must be a table"),
    ],
)
def test_a_setting_that_would_open_the_door_or_cannot_work_is_refused(tmp_path, text, message):
    with pytest.raises(ConfigError, match=message.replace("[", r"\[")):
        _settings(tmp_path, text)


def test_the_environment_gives_the_token_and_the_bind(tmp_path):
    found = _settings(tmp_path, "[web]\nactions = true", MONCLUB_WEB_TOKEN="t" * 16, MONCLUB_WEB_BIND="0.0.0.0")
    assert (found.bind, found.token, found.actions, found.loopback) == ("0.0.0.0", "t" * 16, True, False)


def test_the_token_monclub_keys_made_is_used_unless_one_is_configured(tmp_path):
    (tmp_path / "web.toml").write_text('[web]\nbind = "0.0.0.0"')
    config = configuration.load({"MONCLUB_HOME": str(tmp_path), "MONCLUB_CONFIG": str(tmp_path / "web.toml")})
    with pytest.raises(ConfigError, match="or run monclub keys web-token"):
        load(config)
    assert make_token(config) and not make_token(config)
    stored = token_file(config).read_text().strip()
    assert token_file(config).stat().st_mode & 0o777 == 0o600 and len(stored) >= 40
    assert load(config).token == stored
    assert _settings(tmp_path, '[web]\nbind = "0.0.0.0"', MONCLUB_WEB_TOKEN="e" * 16).token == "e" * 16


@pytest.mark.parametrize(
    "error, status",
    [
        (Refus("no seance x", "seance_inconnue"), 404),
        (Refus("full", "seance_complete"), 409),
        (Refus("again", "deja_emprunte"), 409),
        (InvalidField("places", "must be an integer from 0 to 100000"), 422),
        (Unavailable("down"), 503),
        (Timeout("no answer"), 504),
    ],
)
def test_each_error_has_its_status_and_keeps_its_code(error, status):
    problem = problems.of_error(error)
    assert (problem["status"], problem["code"]) == (status, error.code)
    assert problems.headers_of(problem) == ({"Retry-After": "1"} if status == 503 else {})


def test_a_timeout_says_to_resend_with_the_same_key_and_a_bad_field_names_itself():
    assert "same Idempotency-Key" in problems.of_error(Timeout("no answer"))["resend"]
    assert problems.of_error(InvalidField("places", "must be"))["field"] == "places"


def test_a_request_id_reused_is_over_http_an_idempotency_key_reused():
    problem = problems.of_error(MonclubError("sent before with another request", "request_id_reused"))
    assert (problem["status"], problem["code"]) == (422, "idempotency_key_reused")
    assert "Idempotency-Key" in problem["detail"]


def test_keys_are_namespaced_and_bounded():
    assert idempotency.request_id("abcdefgh") == "http:abcdefgh"
    assert idempotency.request_id(None) is None
    for bad in ("short", "x" * 101, "with space!"):
        with pytest.raises(InvalidRequest, match="Idempotency-Key"):
            idempotency.checked_key(bad)
