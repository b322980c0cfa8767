"""docs/protocol.md held to the op declarations, so that the document cannot drift from the code:
its op tables (fields, mutating or not, reply), each op's table of refusals, the error codes, and
the list of ops the parser's message names."""

import re
from pathlib import Path

import pytest

from monclub.accueil.ops import OPS as ACCUEIL
from monclub.contract.protocol import Ops
from monclub.errors import CODES
from monclub.events.replay import OPS as REPLAY
from monclub.prets.ops import OPS as PRETS
from monclub.reunions.ops import OPS as REUNIONS

DOC = (Path(__file__).parents[2] / "docs" / "protocol.md").read_text()
SERVICE_OF_SECTION = {"4": REUNIONS, "5": REUNIONS, "11": PRETS, "14": ACCUEIL, "15": REPLAY}
NAMES = re.compile(r"`(\w+)`")


def _sections() -> dict[str, str]:
    parts = re.split(r"^## (\d+)\. ", DOC, flags=re.M)
    return dict(zip(parts[1::2], parts[2::2], strict=True))


SECTIONS = _sections()


def _tables(text: str, header: str) -> list[list[list[str]]]:
    """Every table of `text` whose header row starts with `header`: its rows, as lists of cells."""
    found = []
    for match in re.finditer(rf"^{re.escape(header)}.*\n\|[- |]+\|\n((?:\|.*\n)+)", text, flags=re.M):
        found.append([[cell.strip() for cell in row.strip().strip("|").split("|")] for row in match[1].splitlines()])
    return found


def _subsections(text: str) -> dict[str, str]:
    parts = re.split(r"^### (.+)$", text, flags=re.M)
    return dict(zip(parts[1::2], parts[2::2], strict=True))


@pytest.mark.parametrize("number", ["4", "11", "14", "15"])
def test_each_op_table_gives_the_declared_fields_and_whether_the_op_is_recorded(number):
    service: Ops = SERVICE_OF_SECTION[number]
    tables = _tables(SECTIONS[number], "| op | fields |")
    assert len(tables) == 1, f"section {number} has one op table"
    listed = set()
    for cells in tables[0]:
        fields = NAMES.findall(cells[1])
        for name in NAMES.findall(cells[0]):
            op = service.declared.get(name)
            assert op is not None, f"section {number} lists {name}, which {service.service} does not declare"
            assert fields == list(op.fields), f"section {number}: the fields of {name}"
            if cells[2] in ("yes", "no"):
                assert (cells[2] == "no") == op.reads, f"section {number}: whether {name} is recorded"
            else:
                keys = re.findall(r'"(\w+)":', cells[2])
                assert keys == list(op.reply), f"section {number}: the reply of {name}"
            listed.add(name)
    listings = {row[0].strip("`") for table in _tables(SECTIONS[number], "| op | order") for row in table}
    assert listed | listings == set(service.declared), f"section {number} lists every op of {service.service}"


@pytest.mark.parametrize("number", ["5", "11", "14"])
def test_each_op_section_lists_exactly_the_refusals_its_declaration_gives(number):
    service = SERVICE_OF_SECTION[number]
    for name, text in _subsections(SECTIONS[number]).items():
        if name not in service.declared:
            continue
        tables = _tables(text, "| code | when |")
        documented = {code for table in tables for row in table for code in NAMES.findall(row[0])}
        assert documented == set(service.declared[name].refusals), f"section {number}, {name}: its refusals"


def test_the_error_codes_are_those_of_the_code_table():
    table = _tables(SECTIONS["7"], "| code | meaning |")[0]
    listed = {name for row in table for name in NAMES.findall(row[0])}
    assert listed <= set(CODES)
    assert {name for name in CODES if f"`{name}`" not in SECTIONS["7"]} == set(), "every code is in section 7"


@pytest.mark.parametrize("number", ["4", "11"])
def test_the_parsers_list_of_ops_is_the_documented_one(number):
    service = SERVICE_OF_SECTION[number]
    messages = re.findall(r"field 'op' must be one of ([\w, ]+)", SECTIONS[number])
    assert messages, f"section {number} quotes the message"
    assert set(messages) == {", ".join(sorted(service.declared))}
