"""The target instance: a looker.ini section, the looker-sdk convention (base_url, client_id,
client_secret, verify_ssl, timeout). Read here, not by looker-sdk, so that LOOKERSDK_*
variables (which name the instance the store syncs) never redirect a migration."""

from __future__ import annotations

import configparser
from pathlib import Path
from urllib.parse import urlsplit

from looker_assets.looker.client import ClientConfig, LookerClient
from looker_assets.migrate.identity import MigrationError


def target_config(ini: Path, section: str, max_concurrency: int = 8) -> ClientConfig:
    parser = configparser.ConfigParser()
    try:
        found = parser.read(ini)
    except configparser.Error as exc:
        raise MigrationError(f"{ini}: {exc}") from None
    if not found:
        raise MigrationError(f"no {ini}: pass --ini FILE naming a looker.ini with a "
                             f"[{section}] section")
    if not parser.has_section(section):
        have = ", ".join(parser.sections()) or "none"
        raise MigrationError(f"{ini} has no [{section}] section (it has: {have})")
    values = parser[section]
    missing = [k for k in ("base_url", "client_id", "client_secret") if not values.get(k)]
    if missing:
        raise MigrationError(f"[{section}] in {ini} lacks {', '.join(missing)}")
    verify = values.get("verify_ssl")
    return ClientConfig(
        base_url=values["base_url"].rstrip("/"), client_id=values["client_id"],
        client_secret=values["client_secret"],
        verify_ssl=None if verify is None else verify.strip().lower() not in (
            "false", "0", "no", "off"),
        timeout=int(values["timeout"]) if values.get("timeout") else None,
        ini_file=str(ini), max_concurrency=max_concurrency)


def _instance(url: str) -> tuple[str, str, int | None]:
    parts = urlsplit(url.strip())
    default = {"https": 443, "http": 80}.get(parts.scheme.lower())
    return parts.scheme.lower(), (parts.hostname or "").lower(), parts.port or default


def same_instance(a: str, b: str) -> bool:
    """Whether two base URLs name one Looker (scheme, host and port; default ports too)."""
    return _instance(a) == _instance(b)


def open_target(ini: Path, section: str, source: str | None,
                max_concurrency: int = 8) -> LookerClient:
    """A client of the target; refused when it is the instance the store backs up."""
    config = target_config(ini, section, max_concurrency)
    assert config.base_url is not None
    if source is None:
        raise MigrationError("this store has not recorded which Looker it backs up (its last "
                             "sync ran before that was kept): run a sync, then migrate")
    if same_instance(source, config.base_url):
        raise MigrationError(f"[{section}] is {config.base_url}, the instance this store backs "
                             f"up: moving content within it is `looker-assets restore`")
    return LookerClient(config)
