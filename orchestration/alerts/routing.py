"""Where each alert goes: the override webhook, the routing file, or the log file.

Order: `--webhook URL` / `TALLY_ALERT_WEBHOOK_URL` sends everything to one URL;
else the routing file (`TALLY_ALERT_ROUTING`, default `alert_routing.yml` at the
project root) maps owners, or keywords in the component (the reconciliation
name, `channel`, `tally`), to webhooks; else events are appended to the log
file as JSON lines. The format is in `alert_routing.example.yml`; the guide is
`docs/alerts.md`.

Webhook URLs often carry a token, so they are never printed: people see
`redact(url)` (scheme and host) only.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

ROUTE_KEYS = {"owner", "keyword", "webhook", "webhook_env", "routing_key_env"}


class RoutingError(ValueError):
    """The routing file is wrong; the message names the file and the field."""


@dataclass(frozen=True)
class Destination:
    """A webhook (with an optional PagerDuty routing key) or the log file."""

    kind: str  # webhook | log
    target: str  # URL or file path
    routing_key: str | None = None

    @property
    def label(self) -> str:
        """What may be printed: the host of a webhook, the path of the log."""
        return redact(self.target) if self.kind == "webhook" else self.target


@dataclass(frozen=True)
class Route:
    owner: str | None
    keyword: str | None
    destination: Destination

    def matches(self, owner: str, component: str) -> bool:
        if self.owner is not None and self.owner != owner:
            return False
        if self.keyword is not None and self.keyword.lower() not in component.lower():
            return False
        return True


@dataclass(frozen=True)
class Router:
    routes: tuple[Route, ...]
    fallback: Destination
    source: str  # for messages: where the routing came from

    def destination(self, owner: str, component: str) -> Destination:
        for route in self.routes:
            if route.matches(owner, component):
                return route.destination
        return self.fallback


def redact(url: str) -> str:
    """Scheme and host[:port] of a URL; path, query and credentials dropped."""
    parts = urlsplit(url)
    host = parts.hostname or "?"
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme or 'http'}://{host}{port}/…"


def check_url(url: str, where: str) -> str:
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise RoutingError(f"{where}: not an http(s) URL (it must look like https://host/path)")
    return url.strip()


def routing_path(project_dir: Path, env: dict[str, str] | None = None) -> Path:
    env = os.environ if env is None else env
    configured = env.get("TALLY_ALERT_ROUTING")
    return Path(configured) if configured else Path(project_dir) / "alert_routing.yml"


def build_router(
    *,
    webhook: str | None,
    project_dir: Path,
    log_path: Path,
    env: dict[str, str] | None = None,
) -> Router:
    """The routing in force for this run (override, routing file or log file)."""
    env = dict(os.environ if env is None else env)
    log = Destination("log", str(log_path))
    override = webhook or env.get("TALLY_ALERT_WEBHOOK_URL")
    if override:
        where = "--webhook" if webhook else "TALLY_ALERT_WEBHOOK_URL"
        destination = Destination("webhook", check_url(override, where))
        return Router(routes=(), fallback=destination, source=where)
    path = routing_path(project_dir, env)
    if not path.exists():
        if env.get("TALLY_ALERT_ROUTING"):
            raise RoutingError(f"TALLY_ALERT_ROUTING names {path}, which does not exist")
        return Router(routes=(), fallback=log, source=f"no webhook configured: {log_path}")
    return load_routing(path, log, env)


def load_routing(path: Path, log: Destination, env: dict[str, str]) -> Router:
    import yaml

    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as error:
        raise RoutingError(f"{path}: not valid YAML: {error}") from None
    if not isinstance(document, dict):
        raise RoutingError(f"{path}: expected a mapping with `routes` (and `default`)")
    unknown = set(document) - {"routes", "default"}
    if unknown:
        raise RoutingError(f"{path}: unknown key(s) {sorted(unknown)}; use routes and default")
    raw_routes = document.get("routes") or []
    if not isinstance(raw_routes, list):
        raise RoutingError(f"{path}: routes must be a list")
    routes = []
    for index, raw in enumerate(raw_routes):
        where = f"{path} routes[{index}]"
        if not isinstance(raw, dict):
            raise RoutingError(f"{where}: expected a mapping (owner/keyword, webhook/webhook_env)")
        unknown = set(raw) - ROUTE_KEYS
        if unknown:
            raise RoutingError(f"{where}: unknown key(s) {sorted(unknown)}")
        if raw.get("owner") is None and raw.get("keyword") is None:
            raise RoutingError(f"{where}: needs `owner` or `keyword` (or both) to match on")
        routes.append(
            Route(
                owner=_text(raw.get("owner")),
                keyword=_text(raw.get("keyword")),
                destination=_destination(raw, where, env),
            )
        )
    default = document.get("default")
    if default is None:
        fallback = log
    elif isinstance(default, dict):
        unknown = set(default) - {"webhook", "webhook_env", "routing_key_env"}
        if unknown:
            raise RoutingError(f"{path} default: unknown key(s) {sorted(unknown)}")
        fallback = _destination(default, f"{path} default", env)
    else:
        raise RoutingError(f"{path} default: expected a mapping with webhook or webhook_env")
    return Router(routes=tuple(routes), fallback=fallback, source=str(path))


def _text(value: Any) -> str | None:
    return None if value is None else str(value).strip()


def _destination(raw: dict[str, Any], where: str, env: dict[str, str]) -> Destination:
    has_url, has_env = raw.get("webhook") is not None, raw.get("webhook_env") is not None
    if has_url == has_env:
        raise RoutingError(f"{where}: give exactly one of webhook (URL) or webhook_env")
    if has_env:
        name = str(raw["webhook_env"])
        url = env.get(name)
        if not url:
            raise RoutingError(f"{where}.webhook_env: environment variable {name} is not set")
        url = check_url(url, f"{where}.webhook_env ({name})")
    else:
        url = check_url(str(raw["webhook"]), f"{where}.webhook")
    routing_key = None
    if raw.get("routing_key_env") is not None:
        name = str(raw["routing_key_env"])
        routing_key = env.get(name)
        if not routing_key:
            raise RoutingError(f"{where}.routing_key_env: environment variable {name} is not set")
    return Destination("webhook", url, routing_key)
