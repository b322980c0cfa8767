"""The toy branch's pure core (tests/fixtures/casiers): a casier is held by one membre at most."""

import pytest

from monclub.errors import Refus
from tests.fixtures.casiers import casier as c


def refused(code, fn, *args):
    with pytest.raises(Refus) as info:
        fn(*args)
    assert info.value.code == code


def test_a_casier_is_held_by_one_membre_at_most():
    assert c.prendre(None, "c1", 7) == [c.CasierPris("c1", 7)]
    held = c.appliquer_tous(None, c.prendre(None, "c1", 7))
    refused("casier_pris", c.prendre, held, "c1", 8)
    refused("casier_pris", c.prendre, held, "c1", 7)


def test_only_its_holder_frees_it_and_then_anyone_takes_it():
    held = c.appliquer_tous(None, [c.CasierPris("c1", 7)])
    refused("non_titulaire", c.liberer, held, "c1", 8)
    refused("non_titulaire", c.liberer, None, "c1", 7)
    free = c.appliquer_tous(held, c.liberer(held, "c1", 7))
    assert c.etat(free, "c1") == {"casier": "c1", "membre": None}
    assert c.prendre(free, "c1", 8) == [c.CasierPris("c1", 8)]
