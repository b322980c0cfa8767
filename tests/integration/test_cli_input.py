"""Bad input at the CLI: every limit is checked before anything is sent, and named in one line,
`error: invalid_request: FIELD: …`, never a traceback nor a raw database or codec message."""

import json
import os
import subprocess
import sys

import pytest

HUGE = "99999999999999999999"  # beyond 2**64: msgpack cannot even encode it
NOT_UTF8 = b"Soir\xe9e"  # $'Soir\xe9e' typed in a Latin-1 terminal
MEMBRE_RANGE = f"must be an integer from 1 to {2**63 - 1}"
PRINTABLE = "must be a non-empty printable string of at most 200 characters"
ID_RULE = "must be 1 to 64 characters of A-Z a-z 0-9 _ . : -"
UTF8 = "is not valid UTF-8"

# argv -> the one line after "error: invalid_request: "
BAD = {
    "places beyond 2**64": (["seance", "creer", "X", "--places", HUGE], "places: must be an integer from 0 to 100000"),
    "attente beyond 2**64": (["seance", "creer", "X", "--places", "1", "--attente", HUGE], "attente: must be"),
    "tarif below 0": (["seance", "creer", "X", "--places", "1", "--tarif", "-1"], "tarif: must be an integer from 0"),
    "new places beyond 2**64": (["seance", "places", "polar", HUGE], "places: must be an integer from 0 to 100000"),
    "inscrire a huge membre": (["inscrire", "polar", HUGE], f"membre: {MEMBRE_RANGE}"),
    "desinscrire a huge membre": (["desinscrire", "polar", HUGE], f"membre: {MEMBRE_RANGE}"),
    "emprunter for a huge membre": (["pret", "emprunter", "livre", HUGE], f"membre: {MEMBRE_RANGE}"),
    "retourner for membre 0": (["pret", "retourner", "livre", "0"], f"membre: {MEMBRE_RANGE}"),
    "huge --jours": (["pret", "emprunter", "livre", "1", "--jours", HUGE], "jours: must be an integer from 1 to 365"),
    "non-UTF-8 titre": (["seance", "creer", NOT_UTF8, "--places", "2"], f"titre: {UTF8}"),
    "non-UTF-8 nom": (["membre", "creer", NOT_UTF8], f"nom: {UTF8}"),
    "non-UTF-8 livre titre": (["livre", "ajouter", NOT_UTF8], f"titre: {UTF8}"),
    "non-UTF-8 seance id": (["seance", "voir", NOT_UTF8], f"seance: {ID_RULE}"),
    "non-UTF-8 seance to inscrire": (["inscrire", NOT_UTF8, "1"], f"seance: {ID_RULE}"),
    "non-UTF-8 livre id": (["pret", "voir", NOT_UTF8], f"livre: {ID_RULE}"),
    "titre of 201 characters": (["seance", "creer", "x" * 201, "--places", "1"], f"titre: {PRINTABLE}"),
    "seance id of 65 characters": (["seance", "voir", "x" * 65], f"seance: {ID_RULE}"),
    "notifications of a huge membre": (["notifications", "--membre", HUGE], f"membre: {MEMBRE_RANGE}"),
    "paiements of a non-UTF-8 seance": (["paiements", "--seance", NOT_UTF8], f"seance: {ID_RULE}"),
    "regler a huge paiement": (["paiement", "regler", HUGE], f"paiement: {MEMBRE_RANGE}"),
    # item 8: validation as even as the titres'
    "control character in a nom": (["membre", "creer", "Ma\x01rie"], "nom: must be a non-empty printable string"),
    "nom of 201 characters": (["membre", "creer", "x" * 201], "nom: must be a non-empty printable string"),
    "not an email": (["membre", "creer", "Marie", "--email", "pas-un-email"], "email: must be an address like"),
    "email with a newline": (["membre", "creer", "Marie", "--email", "m@a.org\nBcc: x@y.org"], "email: must be"),
    "empty seance --id": (["seance", "creer", "X", "--places", "1", "--id", ""], f"seance: {ID_RULE}"),
    "empty livre --id": (["livre", "ajouter", "X", "--id", ""], f"livre: {ID_RULE}"),
    "negative verify --wait": (["verify", "--wait", "-1"], "wait: must be a number of seconds from 0 to 3600"),
    "infinite verify --wait": (["verify", "--wait", "inf"], "wait: must be a number of seconds from 0 to 3600"),
}


@pytest.fixture
def cli_env(state_dir, database, tmp_path):
    """No tree running (nothing is sent anyway), a short client deadline, the test database."""
    config = tmp_path / "monclub.toml"
    config.write_text("[client]\nattempt_timeout = 0.5\ndeadline = 2\n")
    return {
        **os.environ,
        "MONCLUB_HOME": str(state_dir),
        "MONCLUB_CONFIG": str(config),
        "MONCLUB_DATABASE_URL": database,
        "MONCLUB_SHARDS": "2",
    }


def monclub(env: dict, *args) -> subprocess.CompletedProcess:
    """The CLI with argv as given (bytes pass as they are); a hard deadline of 60 s."""
    return subprocess.run(
        [sys.executable, "-m", "monclub", *args], env=env, capture_output=True, timeout=60, errors="replace"
    )


@pytest.mark.parametrize("argv, line", BAD.values(), ids=BAD.keys())
@pytest.mark.parametrize("as_json", [False, True], ids=["text", "json"])
def test_bad_input_is_named_in_one_line_before_anything_is_sent(cli_env, argv, line, as_json):
    done = monclub(cli_env, *argv, *(["--json"] if as_json else []))
    assert done.returncode == 1, done.stderr + done.stdout
    assert "Traceback" not in done.stderr + done.stdout
    if as_json:
        error = json.loads(done.stdout)["error"]
        assert error["code"] == "invalid_request" and error["message"].startswith(line), error
    else:
        assert done.stderr.startswith(f"error: invalid_request: {line}"), done.stderr
        assert done.stderr.count("\n") == 1, "one line"


def test_a_valid_membre_with_an_email_is_created_through_the_accueil(cli_env, accueil, sql):
    done = monclub(cli_env, "membre", "creer", "Marie Curie", "--email", "marie.curie@example.org", "--json")
    assert done.returncode == 0, done.stderr
    created = json.loads(done.stdout)
    assert created == {"id": created["id"], "nom": "Marie Curie", "email": "marie.curie@example.org"}
    assert sql.execute("SELECT id, nom, email FROM membres").fetchall() == [
        (created["id"], "Marie Curie", "marie.curie@example.org")
    ]
    assert sql.execute("SELECT shard FROM requests").fetchall() == [("accueil",)], "applied by the accueil"
    text = monclub(cli_env, "membre", "creer", "Pierre")
    (pierre,) = sql.execute("SELECT id FROM membres WHERE nom = 'Pierre'").fetchone()
    assert text.returncode == 0 and text.stdout == f"membre {pierre}: Pierre\n", text.stderr


def test_paiement_regler_of_an_unknown_paiement_is_refused_by_the_accueil_in_one_line(cli_env, accueil, sql):
    done = monclub(cli_env, "paiement", "regler", "7")
    assert done.returncode == 1 and done.stderr == "error: paiement_inconnu: no paiement 7\n", done.stderr
    as_json = monclub(cli_env, "paiement", "regler", "7", "--json")
    assert as_json.returncode == 1
    refusal = {"code": "paiement_inconnu", "message": "no paiement 7"}
    assert json.loads(as_json.stdout) == {"ok": False, "error": refusal}
    assert sql.execute("SELECT count(*) FROM requests WHERE shard = 'accueil'").fetchone() == (2,), "one id each"
