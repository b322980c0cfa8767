"""When a séance takes place, at every layer that needs no process: the wire's check and its one
form, `quand` left out by the clients from before it, the club's time zone in the configuration,
the CLI's reading and showing of dates and its order of `seance liste`, the members' French."""

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from click.testing import CliRunner

from monclub import config
from monclub.cli import main
from monclub.club.quand import heure, ordered, with_offset
from monclub.contract import protocol
from monclub.errors import ConfigError, InvalidField, InvalidRequest
from monclub.events.notifications import date, message_of, recipients
from monclub.reunions.ops import OPS
from monclub.wire.stored import empreinte

PARIS = ZoneInfo("Europe/Paris")
CREER = {"seance": "polar", "titre": "Soirée Polar", "places": 2, "attente": 0, "tarif": 0}


@pytest.mark.parametrize(
    ("sent", "instant"),
    [
        ("2026-12-10T19:00:00+01:00", "2026-12-10T18:00:00Z"),
        ("2026-12-10T18:00:00Z", "2026-12-10T18:00:00Z"),
        ("2026-12-10t18:00:00z", "2026-12-10T18:00:00Z"),
        ("2026-12-10 13:00:00-05:00", "2026-12-10T18:00:00Z"),
        ("2026-07-01T00:30:00.25+02:00", "2026-06-30T22:30:00.250000Z"),
    ],
)
def test_a_date_time_with_its_offset_is_taken_as_its_instant_in_one_form(sent, instant):
    assert protocol.quand("quand", sent) == instant


@pytest.mark.parametrize(
    "sent",
    [
        "2026-12-10T19:00:00",  # no offset: which 19:00?
        "2026-12-10",
        "2026-12-10T19:00+01:00",  # no seconds
        "2026-13-10T19:00:00Z",
        "2026-02-30T19:00:00Z",
        "2026-12-10T24:00:00Z",
        "2026-12-10T19:00:00+24:00",
        "2026-12-10T19:00:00.1234567Z",  # beyond the microsecond timestamptz keeps
        "0000-01-01T00:00:00Z",
        "0001-01-01T00:00:00+01:00",  # before year 1 in UTC
        "2026-12-10T19:00:00+01:00\n",
        1765393200,
        None,
    ],
)
def test_anything_else_is_refused_naming_the_field_and_its_rule(sent):
    with pytest.raises(InvalidField) as refused:
        protocol.quand("quand", sent)
    assert refused.value.code == "invalid_request" and refused.value.field == "quand"
    assert refused.value.rule == "must be an RFC 3339 date-time with its offset, like 2026-12-10T19:00:00+01:00"


def test_creer_may_leave_quand_out_or_nil_and_is_the_request_it_was_before_the_field():
    before = protocol.Request("r-000001", "creer", CREER)
    absent = OPS.parse(protocol.request("r-000001", "creer", **CREER))
    nil = OPS.parse(protocol.request("r-000001", "creer", **CREER, quand=None))
    assert absent.args == nil.args == CREER
    assert empreinte(absent) == empreinte(nil) == empreinte(before), "a resend across the upgrade is the same"
    dated = OPS.parse(protocol.request("r-000001", "creer", **CREER, quand="2026-12-10T19:00:00+01:00"))
    assert dated.args["quand"] == "2026-12-10T18:00:00Z" and empreinte(dated) != empreinte(absent)
    with pytest.raises(InvalidField, match="'quand' must be an RFC 3339"):
        OPS.parse(protocol.request("r-000001", "creer", **CREER, quand="2026-12-10T19:00:00"))


def test_deplacer_needs_its_quand_and_no_other_op_may_leave_a_field_out():
    with pytest.raises(InvalidRequest, match="op 'deplacer' needs field 'quand'"):
        OPS.parse(protocol.request("r-000001", "deplacer", seance="polar"))
    with pytest.raises(InvalidField, match="'quand'"):
        OPS.parse(protocol.request("r-000001", "deplacer", seance="polar", quand=None))
    assert [(op.name, op.omissible) for op in OPS.declared.values() if op.omissible] == [("creer", ("quand",))]


def test_the_club_time_zone_is_an_iana_name_or_the_machines(tmp_path):
    path = tmp_path / "monclub.toml"
    env = {"MONCLUB_CONFIG": str(path), "MONCLUB_HOME": str(tmp_path)}
    path.write_text("")
    assert config.load(env).timezone is None and config.load(env).zone is None
    path.write_text('[club]\ntimezone = "Europe/Paris"\n')
    assert config.load(env).zone == PARIS
    for wrong in ('"Mars/Olympus"', '"Europe"', '"../../etc/passwd"', '""', "1"):
        path.write_text(f"[club]\ntimezone = {wrong}\n")
        with pytest.raises(ConfigError) as refused:
            config.load(env)
        message = str(refused.value)
        assert message.startswith("club.timezone = ") and "IANA" in message and "\n" not in message, message


def test_the_cli_shows_an_instant_in_the_clubs_zone_and_reads_one_typed_without_offset():
    assert heure("2026-12-10T18:00:00Z", PARIS) == "Thu 2026-12-10 19:00"
    assert heure("2026-07-10T17:00:00Z", PARIS) == "Fri 2026-07-10 19:00", "summer time"
    assert heure("2026-12-10T18:00:00Z", UTC) == "Thu 2026-12-10 18:00"
    assert heure(None, PARIS) == "-"
    assert with_offset("2026-12-10T19:00", PARIS) == "2026-12-10T19:00:00+01:00"
    assert with_offset("2026-07-10 19:00:30", PARIS) == "2026-07-10T19:00:30+02:00"
    for as_typed in ("2026-12-10T19:00:00+01:00", "2026-12-10T19:00:00Z", "demain", "2026-02-30T19:00"):
        assert with_offset(as_typed, PARIS) == as_typed, "left to the wire's check"
    assert protocol.quand("quand", with_offset("2026-12-10T19:00", PARIS)) == "2026-12-10T18:00:00Z"


def test_a_quand_option_or_argument_is_read_in_the_clubs_zone(tmp_path, monkeypatch):
    path = tmp_path / "monclub.toml"
    path.write_text('[club]\ntimezone = "Europe/Paris"\n')
    monkeypatch.setenv("MONCLUB_CONFIG", str(path))
    creer = main.commands["seance"].commands["creer"]
    deplacer = main.commands["seance"].commands["deplacer"]
    context = creer.make_context("creer", ["Soirée Polar", "--places", "2", "--quand", "2026-12-10T19:00"])
    assert context.params["quand"] == "2026-12-10T19:00:00+01:00"
    context = deplacer.make_context("deplacer", ["polar", "2026-12-11T20:00:00Z"])
    assert context.params["quand"] == "2026-12-11T20:00:00Z"
    shown = CliRunner().invoke(main, ["seance", "creer", "--help"], prog_name="monclub")
    assert "--quand DATE-TIME" in shown.output
    refused = CliRunner().invoke(main, ["seance", "deplacer", "polar", "demain"], prog_name="monclub")
    assert refused.exit_code == 1
    assert refused.output.strip() == (
        "error: invalid_request: quand: must be an RFC 3339 date-time with its offset, like 2026-12-10T19:00:00+01:00"
    ), "refused before anything is sent"


def _seance(seance_id: str, quand: str | None) -> dict:
    return {"id": seance_id, "quand": quand}


def test_seance_liste_puts_tonight_first_then_those_to_come_then_undated_then_the_past_latest_first():
    now = datetime(2026, 12, 10, 21, 30, tzinfo=PARIS)  # tonight's séance began at 19:00
    seances = [
        _seance("sans-date-1", None),
        _seance("janvier", "2027-01-14T18:00:00Z"),
        _seance("hier", "2026-12-09T18:00:00Z"),
        _seance("ce-soir", "2026-12-10T18:00:00Z"),
        _seance("sans-date-2", None),
        _seance("novembre", "2026-11-05T18:00:00Z"),
        _seance("demain", "2026-12-11T18:00:00.5Z"),
        _seance("demain-tot", "2026-12-11T18:00:00Z"),
    ]
    shown = ordered(seances, PARIS, now)
    assert [(s["id"], s["passee"]) for s in shown] == [
        ("ce-soir", False),
        ("demain-tot", False),
        ("demain", False),
        ("janvier", False),
        ("sans-date-1", False),
        ("sans-date-2", False),
        ("hier", True),
        ("novembre", True),
    ]
    just_after_midnight = datetime(2026, 12, 11, 0, 5, tzinfo=PARIS)
    assert ordered(seances, PARIS, just_after_midnight)[-3]["id"] == "ce-soir", "past once its day is over"
    assert ordered(seances, ZoneInfo("America/New_York"), now)[0]["id"] == "ce-soir", "13:00 there"


def test_members_are_told_of_a_move_in_french_in_the_clubs_zone():
    assert date("2026-12-10T18:00:00Z", PARIS) == "jeudi 10 décembre 2026 à 19 h 00"
    assert date("2027-08-01T07:05:00Z", PARIS) == "dimanche 1er août 2027 à 09 h 05"
    moved = {
        "type": "seance_deplacee",
        "payload": {
            "seance": "polar",
            "avant": None,
            "quand": "2026-12-10T18:00:00Z",
            "inscrits": [2, 1],
            "attente": [3],
            "titre": "Soirée Polar",
            "tarif": 0,
        },
    }
    assert recipients(moved) == [2, 1, 3]
    assert message_of(moved, PARIS) == (
        "seance_deplacee",
        "« Soirée Polar » est déplacée au jeudi 10 décembre 2026 à 19 h 00.",
    )
