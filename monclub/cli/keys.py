"""monclub keys init | client NAME | list | revoke NAME: the CurveZMQ keys of the shards' tcp endpoints."""

import click

from monclub.cli.common import emit, fail, handled, json_option, load_config
from monclub.web import settings as web_settings
from monclub.wire import keys


@click.group("keys")
def keys_group():
    """CurveZMQ keys: needed to bind the shards' tcp beyond loopback (see README, Access and keys)."""


@keys_group.command("init")
@json_option
@handled
def keys_init(as_json):
    """Create the server keypair and this machine's `local` client key, unless they exist."""
    home = load_config().home
    made = keys.init(home)
    public = keys.listing(home)["server"]
    text = (
        f"{'created' if made else 'kept the existing'} server keypair in {keys.directory(home)}\n"
        f"server public key: {public}  (clients need {keys.server_public(home)})"
    )
    emit(as_json, {"created": made, "server": public, "directory": str(keys.directory(home))}, text)


@keys_group.command("client")
@click.argument("name")
@json_option
@handled
def keys_client(name, as_json):
    """Create the keypair of client NAME and add its public key to the allowlist."""
    home = load_config().home
    secret = keys.add_client(home, name)
    text = (
        f"client {name} allowed; its keys: {secret.with_suffix('.key')} and {secret} (secret)\n"
        f"copy them and {keys.server_public(home)} to that machine, set there [access] client_key and "
        f"server_key to their paths, then delete the secret here"
    )
    emit(as_json, {"name": name, "secret": str(secret), "server_key": str(keys.server_public(home))}, text)


@keys_group.command("list")
@json_option
@handled
def keys_list(as_json):
    """The server's public key and the allowed clients."""
    listing = keys.listing(load_config().home)
    lines = [f"server  {listing['server'] or '(none: run monclub keys init)'}"]
    lines += [f"{client['name']:<7} {client['public']}" for client in listing["allowed"]]
    emit(as_json, listing, "\n".join(lines))


@keys_group.command("revoke")
@click.argument("name")
@click.option("--yes", is_flag=True, help="Revoke it even if it is the key this monclub itself uses.")
@json_option
@handled
def keys_revoke(name, yes, as_json):
    """Remove client NAME from the allowlist (its next connection is refused)."""
    config = load_config()
    own = config.client_key == keys.client_secret(config.home, name) and config.client_key.exists()
    if own and not yes:
        fail(
            f"{config.client_key} is the key this monclub uses: revoking it cuts its commands off the shards "
            f"while CURVE is on; add --yes to revoke it anyway (then `monclub keys client {name}` makes a new one)",
            1,
            as_json,
            "invalid_request",
        )
    if not keys.revoke(config.home, name):
        fail(f"no client key named {name!r}", 1, as_json, "invalid_request")
    if own:
        click.echo(
            f"warning: this monclub has no client key now; `monclub keys client {name}` makes a new one", err=True
        )
    emit(as_json, {"revoked": name}, f"client {name} revoked")


@keys_group.command("web-token")
@json_option
@handled
def keys_web_token(as_json):
    """Create the web program's token (keys/web.token, 0600) unless it exists: a bind beyond
    loopback and the kill buttons need it. [web] token and MONCLUB_WEB_TOKEN win over it."""
    config = load_config()
    made = web_settings.make_token(config)
    path = web_settings.token_file(config)
    text = (
        f"{'created' if made else 'kept the existing'} web token in {path} (read it there; it is not printed): "
        "give it to /login in a browser, or as Authorization: Bearer; restart web to use a new one"
    )
    emit(as_json, {"created": made, "path": str(path)}, text)


COMMANDS = (keys_group,)
