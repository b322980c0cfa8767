"""Given these events, when this command, then these events or this refusal."""

import dataclasses

import pytest

from monclub.errors import Refus
from monclub.reunions import seance as s
from monclub.reunions.seance import (
    MembreDesinscrit,
    MembreInscrit,
    MembreMisEnAttente,
    MembrePromu,
    PlacesChangees,
    SeanceAnnulee,
    SeanceCreee,
    SeanceDeplacee,
)

DECEMBRE = "2026-12-10T18:00:00Z"
JANVIER = "2027-01-14T18:30:00Z"


def given(*events, places=2, attente=2, tarif=500):
    state = s.appliquer(None, SeanceCreee("polar", "Soirée Polar", places, attente, tarif))
    return s.appliquer_tous(state, list(events))


def refused(code, fn, *args):
    with pytest.raises(Refus) as info:
        fn(*args)
    assert info.value.code == code


def test_creer_starts_empty():
    seance = s.appliquer_tous(None, s.creer("polar", "Soirée Polar", 3, 1, 0))
    assert s.etat(seance) == {
        "id": "polar",
        "titre": "Soirée Polar",
        "places": 3,
        "attente_max": 1,
        "tarif": 0,
        "inscrits": [],
        "attente": [],
        "places_restantes": 3,
        "annulee": False,
        "quand": None,
    }


def test_creer_refuses_negative_numbers():
    refused("invalid_request", s.creer, "x", "t", -1, 0, 0)
    refused("invalid_request", s.creer, "x", "t", 1, -1, 0)
    refused("invalid_request", s.creer, "x", "t", 1, 0, -5)


def test_inscrire_while_places_remain():
    assert s.inscrire(given(), 7) == [MembreInscrit("polar", 7)]


def test_inscrire_when_full_goes_to_the_waiting_list_with_its_position():
    seance = given(MembreInscrit("polar", 1), MembreInscrit("polar", 2), MembreMisEnAttente("polar", 3, 1))
    assert s.inscrire(seance, 4) == [MembreMisEnAttente("polar", 4, 2)]


def test_inscrire_refused_when_waiting_list_is_full_too():
    seance = given(MembreInscrit("polar", 1), MembreMisEnAttente("polar", 2, 1), places=1, attente=1)
    refused("seance_complete", s.inscrire, seance, 3)


def test_inscrire_with_no_waiting_list_refuses_when_full():
    refused("seance_complete", s.inscrire, given(MembreInscrit("polar", 1), places=1, attente=0), 2)


def test_a_member_appears_at_most_once():
    seance = given(MembreInscrit("polar", 1), MembreInscrit("polar", 2), MembreMisEnAttente("polar", 3, 1))
    refused("deja_inscrit", s.inscrire, seance, 1)
    refused("deja_inscrit", s.inscrire, seance, 3)


def test_desinscrire_promotes_the_first_waiting_member():
    seance = given(
        MembreInscrit("polar", 1),
        MembreInscrit("polar", 2),
        MembreMisEnAttente("polar", 3, 1),
        MembreMisEnAttente("polar", 4, 2),
    )
    events = s.desinscrire(seance, 1)
    assert events == [MembreDesinscrit("polar", 1, True), MembrePromu("polar", 3)]
    after = s.appliquer_tous(seance, events)
    assert s.liste_inscrits(after) == (2, 3) and after.attente == (4,)


def test_desinscrire_a_waiting_member_removes_them_from_the_list_only():
    seance = given(
        MembreInscrit("polar", 1),
        MembreInscrit("polar", 2),
        MembreMisEnAttente("polar", 3, 1),
        MembreMisEnAttente("polar", 4, 2),
    )
    events = s.desinscrire(seance, 3)
    assert events == [MembreDesinscrit("polar", 3, False)]
    after = s.appliquer_tous(seance, events)
    assert s.liste_inscrits(after) == (1, 2) and after.attente == (4,)


def test_desinscrire_without_waiting_list_frees_a_place():
    after = s.appliquer_tous(given(MembreInscrit("polar", 1)), s.desinscrire(given(MembreInscrit("polar", 1)), 1))
    assert s.places_restantes(after) == 2


def test_desinscrire_an_unknown_member_is_refused():
    refused("non_inscrit", s.desinscrire, given(MembreInscrit("polar", 1)), 9)


def test_raising_places_promotes_from_the_waiting_list_in_order():
    seance = given(
        MembreInscrit("polar", 1),
        MembreInscrit("polar", 2),
        MembreMisEnAttente("polar", 3, 1),
        MembreMisEnAttente("polar", 4, 2),
    )
    assert s.changer_places(seance, 3) == [PlacesChangees("polar", 3), MembrePromu("polar", 3)]
    assert s.changer_places(seance, 9) == [
        PlacesChangees("polar", 9),
        MembrePromu("polar", 3),
        MembrePromu("polar", 4),
    ]


def test_lowering_places_below_the_registered_count_is_refused():
    seance = given(MembreInscrit("polar", 1), MembreInscrit("polar", 2))
    refused("places_insuffisantes", s.changer_places, seance, 1)
    assert s.changer_places(seance, 2) == [PlacesChangees("polar", 2)]


def test_inscrits_never_exceed_places_whatever_the_sequence():
    seance = given(places=3, attente=5)
    for membre in range(20):
        try:
            seance = s.appliquer_tous(seance, s.inscrire(seance, membre))
        except Refus:
            pass
        assert len(seance.inscrits) <= seance.places
    assert s.liste_inscrits(seance) == (0, 1, 2) and seance.attente == (3, 4, 5, 6, 7)


def test_annuler_names_everyone_registered_or_waiting_and_closes_the_seance():
    seance = given(MembreInscrit("polar", 1), MembreInscrit("polar", 2), MembreMisEnAttente("polar", 3, 1))
    events = s.annuler(seance)
    assert events == [SeanceAnnulee("polar", (1, 2), (3,))]
    closed = s.appliquer_tous(seance, events)
    assert closed.annulee
    refused("seance_annulee", s.inscrire, closed, 4)
    refused("seance_annulee", s.desinscrire, closed, 1)
    refused("seance_annulee", s.changer_places, closed, 5)
    refused("seance_annulee", s.annuler, closed)


def test_creer_with_a_date_keeps_it_in_the_event_and_the_state():
    events = s.creer("polar", "Soirée Polar", 3, 1, 0, DECEMBRE)
    assert events == [SeanceCreee("polar", "Soirée Polar", 3, 1, 0, DECEMBRE)]
    assert s.etat(s.appliquer_tous(None, events))["quand"] == DECEMBRE


def test_deplacer_names_the_old_and_new_date_and_everyone_to_tell():
    seance = given(MembreInscrit("polar", 1), MembreInscrit("polar", 2), MembreMisEnAttente("polar", 3, 1))
    dated = s.appliquer_tous(seance, s.deplacer(seance, DECEMBRE))
    assert s.deplacer(seance, DECEMBRE) == [SeanceDeplacee("polar", None, DECEMBRE, (1, 2), (3,))], "no date before"
    assert dated.quand == DECEMBRE
    events = s.deplacer(dated, JANVIER)
    assert events == [SeanceDeplacee("polar", DECEMBRE, JANVIER, (1, 2), (3,))]
    moved = s.appliquer_tous(dated, events)
    assert (moved.quand, s.liste_inscrits(moved), moved.attente) == (JANVIER, (1, 2), (3,)), "only the date changes"


def test_deplacer_where_it_already_is_changes_nothing_and_tells_nobody():
    seance = given(MembreInscrit("polar", 1))
    dated = s.appliquer_tous(seance, s.deplacer(seance, DECEMBRE))
    assert s.deplacer(dated, DECEMBRE) == []
    assert s.appliquer_tous(dated, []) == dated


def test_deplacer_a_cancelled_seance_is_refused():
    closed = s.appliquer_tous(given(), s.annuler(given()))
    refused("seance_annulee", s.deplacer, closed, DECEMBRE)


def test_a_registration_keeps_every_other_field_of_the_seance():
    """The state after a registration is built field by field (the hot path): a field added to
    Seance and forgotten there would be lost at every registration."""
    before = dataclasses.replace(given(MembreMisEnAttente("polar", 7, 1), places=1, attente=1), quand=DECEMBRE)
    after = s.appliquer(before, MembrePromu("polar", 7))
    changed = {"inscrits", "attente", "rangs"}
    for field in dataclasses.fields(s.Seance):
        if field.name not in changed:
            assert getattr(after, field.name) == getattr(before, field.name), field.name
    assert after.attente == () and 7 in after.inscrits and after.rangs == before.rangs + 1
