"""How the CLI reads a date-time: as monclub.club.quand says, in the club's time zone."""

import click

from monclub.cli.common import load_config
from monclub.club.quand import with_offset


class LocalDateTime(click.types.StringParamType):
    """The CLI's type of a date-time field: a string, as the check's, given the club's offset when
    typed without one (`with_offset`)."""

    def convert(self, value, param, ctx):
        return with_offset(super().convert(value, param, ctx), load_config().zone)

    def get_metavar(self, param, ctx=None) -> str:
        return "DATE-TIME"
