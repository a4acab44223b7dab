"""`tds login|me|styles`: your key, your account and what this server renders.

Like every client command these go through tds.client only; an API error exits 1.
"""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from tds.cli.connection import ApiKey, BaseUrl, api
from tds.cli.output import Json, dump, out, table
from tds.client import save_config


def login(
    api_key: Annotated[
        str | None,
        typer.Option("--api-key", help="The key; asked for (hidden) when not given."),
    ] = None,
    base_url: BaseUrl = None,
    as_json: Json = False,
) -> None:
    """Check an API key and store it with the server URL in your user config (mode 600).

    Later commands, and Client() in Python, use the stored key and URL when neither
    --api-key/--base-url nor TDS_API_KEY/TDS_BASE_URL say otherwise. The file is
    $TDS_CONFIG, else ~/.config/tds/config.json.

    Examples:

      tds login --base-url http://localhost:8000       (asks for the key)

      echo "$KEY" | tds login --base-url https://render.example.com
    """
    if api_key is None:
        # Piped (`echo "$KEY" | tds login`): read it; typed: ask without echoing it.
        piped = not sys.stdin.isatty()
        api_key = (
            sys.stdin.readline() if piped else typer.prompt("API key", hide_input=True, err=True)
        )
    key = api_key.strip()
    if not key:
        raise typer.BadParameter("no API key given", param_hint="--api-key")
    with api(key, base_url, as_json, repair=True) as client:
        account = client.me()
        path = save_config(key, client.base_url)
    if as_json:
        dump({"base_url": client.base_url, "config": str(path), "account": account.raw})
        return
    out(
        f"Logged in to {client.base_url} as {account.email} ({account.plan.name} plan, "
        f"{account.credits} credits). Saved to {path}."
    )


def me(api_key: ApiKey = None, base_url: BaseUrl = None, as_json: Json = False) -> None:
    """Your account: plan, credits available and credits held by renders in flight.

    Example: tds me --json | jq .credits
    """
    with api(api_key, base_url, as_json) as client:
        account = client.me()
    if as_json:
        dump(account.raw)
        return
    plan = account.plan
    out(f"{account.email}  ({account.id})")
    out(
        f"plan     {plan.name}: up to {plan.max_resolution}, {plan.max_in_flight} at once, "
        f"{plan.monthly_credits} credits a month; kinds {', '.join(plan.kinds)}"
    )
    out(f"credits  {account.credits} available, {account.credits_held} held")
    out(f"server   {client.base_url}")


def styles(api_key: ApiKey = None, base_url: BaseUrl = None, as_json: Json = False) -> None:
    """What a render can ask for on this server, and what each kind costs.

    Options are accepted by id or name in any case: "Golden Hour" = golden_hour.

    Example: tds styles --json | jq -r '.architectural_styles[].name'
    """
    with api(api_key, base_url, as_json) as client:
        catalogue = client.styles()
    if as_json:
        dump(catalogue.raw)
        return
    for engine in catalogue.engines:
        out(f"engine  {engine.name} ({_nature(engine.generative)}): {engine.description}")
    out()
    resolutions = [r.id for r in catalogue.resolutions]
    rows = [
        [
            k.id,
            k.engine or "-",
            _nature(k.generative) if k.engine else "-",
            *(str(k.costs.get(r, "")) for r in resolutions),
        ]
        for k in catalogue.kinds
    ]
    out(table(["KIND", "ENGINE", "AI", *(f"{r.upper()} CREDITS" for r in resolutions)], rows))
    for title, options in (
        ("scene types (--scene)", catalogue.scene_types),
        ("styles (--style)", catalogue.architectural_styles),
        ("lighting (--lighting)", catalogue.lighting),
        ("input types (--input-type)", catalogue.input_types),
    ):
        out()
        out(title)
        out(
            table(
                ["  ID", "NAME", "DESCRIPTION"],
                [[f"  {o.id}", o.name, o.description] for o in options],
            )
        )


def _nature(generative: bool | None) -> str:
    """Plainly whether an engine is generative AI."""
    if generative is None:
        return "unknown"
    return "generative" if generative else "not generative"


def register(app: typer.Typer) -> None:
    """Add login, me and styles to the `tds` app."""
    app.command("login")(login)
    app.command("me")(me)
    app.command("styles")(styles)
