"""The pages' forms without a tree: the fields read as the CLI reads them, a creation's id the same
for every resend of one form, the outcomes kept, the CSRF token and the session cookie."""

from datetime import UTC
from zoneinfo import ZoneInfo

import pytest
from starlette.datastructures import Headers

from monclub.club.ops import club_ops
from monclub.errors import InvalidField
from monclub.web import access
from monclub.web.forms import Outcome, Outcomes, typed, with_id


def _op(service: str, name: str):
    return next(d for d in club_ops() if (d.service, d.op.name) == (service, name))


def test_a_forms_strings_are_read_as_the_cli_reads_them_an_empty_field_left_out():
    inscrire = typed(_op("reunions", "inscrire"), {"seance": "polar", "membre": "3"}, UTC)
    assert inscrire == {"seance": "polar", "membre": 3}
    emprunter = typed(_op("prets", "emprunter"), {"livre": "dune", "membre": "3", "jours": ""}, UTC)
    assert emprunter == {"livre": "dune", "membre": 3}
    with pytest.raises(InvalidField, match="membre"):
        typed(_op("reunions", "inscrire"), {"seance": "polar", "membre": "trois"}, UTC)
    with pytest.raises(InvalidField, match="is not a field of this form"):
        typed(_op("reunions", "inscrire"), {"seance": "polar", "membre": "3", "places": "2"}, UTC)


def test_a_new_seance_needs_its_date_on_the_pages_read_in_the_clubs_zone():
    creer = _op("reunions", "creer")
    with pytest.raises(InvalidField, match="quand"):
        typed(creer, {"titre": "Polar", "places": "3"}, UTC)
    given = typed(creer, {"titre": "Polar", "places": "3", "quand": "2026-12-10T19:00"}, ZoneInfo("Europe/Paris"))
    assert given == {"titre": "Polar", "places": 3, "quand": "2026-12-10T19:00:00+01:00"}


def test_a_creations_id_comes_from_its_titre_and_its_forms_key():
    creer = _op("reunions", "creer")
    first = with_id(creer, {"titre": "Soirée Polar"}, "key-one-0001")
    assert first["seance"].startswith("soiree-polar-")
    assert with_id(creer, {"titre": "Soirée Polar"}, "key-one-0001") == first, "a resend names the same séance"
    assert with_id(creer, {"titre": "Soirée Polar"}, "key-two-0002") != first
    assert with_id(creer, {"titre": "x", "seance": "polar"}, "key-one-0001")["seance"] == "polar"


def test_the_outcomes_keep_the_last_ones():
    outcomes = Outcomes(size=2)
    for key in ("a", "b", "c"):
        outcomes.put(key, Outcome(True, key))
    assert outcomes.get("a") is None and outcomes.get("c") == Outcome(True, "c") and outcomes.get(None) is None


def test_the_csrf_token_is_the_browsers_cookie_and_a_form_must_carry_it():
    fresh = access.csrf_token(Headers({}))
    assert len(fresh) == 32 and access.csrf_token(Headers({})) != fresh
    cookie = Headers({"cookie": f"other=1; monclub_csrf={fresh}"})
    assert access.csrf_token(cookie) == fresh
    assert access.csrf_matches(cookie, fresh)
    assert not access.csrf_matches(cookie, "x" * 32) and not access.csrf_matches(Headers({}), fresh)
    assert not access.csrf_matches(cookie, None)


def test_the_session_cookie_is_derived_from_the_token_not_the_token():
    token = "a-token-of-sixteen-or-more"
    assert token not in access.session(token) and access.session(token) == access.session(token)
    assert access.session(token) != access.session(token + "!")
