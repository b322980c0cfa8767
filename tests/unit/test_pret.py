"""Given these events, when this command at this time, then these events or this refusal."""

import pytest

from monclub.errors import Refus
from monclub.prets import pret as p
from monclub.prets.pret import LivreAjoute, LivreEmprunte, LivreRetourne, PretEnRetard, PretProlonge, Relance

JOUR = 10.0
RYTHME = p.Rythme(intervalle=5.0, maximum=2)


def given(*events):
    return p.appliquer_tous(None, [LivreAjoute("dune", "Dune"), *events])


def refused(code, fn, *args):
    with pytest.raises(Refus) as info:
        fn(*args)
    assert info.value.code == code


def test_one_borrower_at_a_time():
    livre = given()
    assert p.emprunter(livre, 7, 3 * JOUR, now=100.0) == [LivreEmprunte("dune", 7, 130.0)]
    lent = p.appliquer_tous(livre, p.emprunter(livre, 7, 3 * JOUR, now=100.0))
    refused("deja_emprunte", p.emprunter, lent, 8, JOUR, 101.0)
    refused("deja_emprunte", p.emprunter, lent, 7, JOUR, 101.0)


def test_only_the_borrower_returns_and_only_a_lent_copy():
    lent = given(LivreEmprunte("dune", 7, 130.0))
    refused("non_emprunteur", p.retourner, lent, 8, 120.0)
    refused("non_emprunte", p.retourner, given(), 7, 120.0)
    assert p.retourner(lent, 7, 120.0) == [LivreRetourne("dune", 7, en_retard=False)]
    assert p.retourner(lent, 7, 131.0) == [LivreRetourne("dune", 7, en_retard=True)]
    assert p.appliquer_tous(lent, p.retourner(lent, 7, 120.0)) == given()


def test_prolonger_once_and_never_when_overdue():
    lent = given(LivreEmprunte("dune", 7, 130.0))
    assert p.prolonger(lent, 7, JOUR, 120.0) == [PretProlonge("dune", 7, 140.0)]
    once = p.appliquer_tous(lent, p.prolonger(lent, 7, JOUR, 120.0))
    refused("deja_prolonge", p.prolonger, once, 7, JOUR, 125.0)
    refused("en_retard", p.prolonger, lent, 7, JOUR, 131.0)
    refused("non_emprunteur", p.prolonger, lent, 8, JOUR, 120.0)


def test_nothing_is_due_before_the_due_date():
    assert p.echoir(given(LivreEmprunte("dune", 7, 130.0)), 129.9, RYTHME) == []
    assert p.echoir(given(), 1000.0, RYTHME) == []


def test_overdue_then_a_relance_every_interval_up_to_the_maximum():
    livre = given(LivreEmprunte("dune", 7, 130.0))
    timeline = []
    for now in (130.0, 132.0, 135.0, 139.0, 140.0, 145.0, 200.0):
        events = p.echoir(livre, now, RYTHME)
        livre = p.appliquer_tous(livre, events)
        timeline += [(now, e) for e in events]
    assert timeline == [
        (130.0, PretEnRetard("dune", 7, 130.0, 135.0)),
        (135.0, Relance("dune", 7, 1, 140.0)),
        (140.0, Relance("dune", 7, 2, None)),
    ]


def test_several_missed_intervals_give_one_relance_not_a_burst():
    livre = given(LivreEmprunte("dune", 7, 130.0), PretEnRetard("dune", 7, 130.0, 135.0))
    events = p.echoir(livre, 180.0, RYTHME)
    assert events == [Relance("dune", 7, 1, 185.0)]
    assert p.echoir(p.appliquer_tous(livre, events), 180.0, RYTHME) == []


def test_returning_stops_the_reminders_and_a_new_loan_starts_afresh():
    livre = given(LivreEmprunte("dune", 7, 130.0), PretEnRetard("dune", 7, 130.0, 135.0))
    back = p.appliquer_tous(livre, p.retourner(livre, 7, 133.0))
    assert p.echoir(back, 500.0, RYTHME) == []
    again = p.appliquer_tous(back, p.emprunter(back, 8, JOUR, 600.0))
    assert (again.relances, again.retard_signale, again.prochaine) == (0, False, 610.0)
