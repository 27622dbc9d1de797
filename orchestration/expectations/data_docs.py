"""Data Docs that open from disk without network.

GX's pages load jQuery, Bootstrap, bootstrap-table, Font Awesome, vega and
their logo from public CDNs. After GX writes a site, the vendored copies in
expectations/data_docs_assets/ are copied into it as `static/vendor/`, and every
page's CDN address is rewritten to the copy (relative to the page, so the site
can move). A page that still loads anything from the internet afterwards is an
error naming the page and the address: a GX upgrade that links a new asset must
not quietly make the pages depend on the network again.
"""

from __future__ import annotations

import os
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

import yaml

ASSETS_DIR = Path("expectations") / "data_docs_assets"
ASSETS_FILE = "assets.yml"
VENDOR = Path("static") / "vendor"  # in the site
GX_STATIC = Path("static")  # GX's own static files, in every site

# An element that makes the browser fetch its address when the page loads.
_LOADS = re.compile(
    r"<(?:script|link|img|iframe|source|embed|object)\b[^>]*?\b(?:src|href|data)\s*=\s*"
    r"[\"']((?:https?:)?//[^\"']+)[\"']",
    re.IGNORECASE,
)
_IMPORTS = re.compile(r"(?:@import\s+|url\(\s*)[\"']?((?:https?:)?//[^\"')\s]+)", re.IGNORECASE)
# Subresource integrity needs a CORS fetch, which a file:// page cannot make;
# the vendored files are the very files those hashes name (a unit test checks).
_INTEGRITY = re.compile(r"\s+(?:integrity|crossorigin)=\"[^\"]*\"")


class DataDocsError(Exception):
    """Data Docs would load something from the internet, or the assets are missing."""


@dataclass(frozen=True)
class Asset:
    url: str
    local: Path  # relative to the site


def load_assets(project_dir: Path) -> list[Asset]:
    """assets.yml: each CDN address and the site file that replaces it."""
    folder = Path(project_dir) / ASSETS_DIR
    path = folder / ASSETS_FILE
    try:
        entries = (yaml.safe_load(path.read_text(encoding="utf-8")) or {})["assets"]
        assets = []
        for entry in entries:
            if entry.get("file"):
                if not (folder / entry["file"]).is_file():
                    raise DataDocsError(f"{path}: {entry['file']} is not in {folder}")
                assets.append(Asset(entry["url"], VENDOR / entry["file"]))
            else:
                assets.append(Asset(entry["url"], GX_STATIC / entry["gx_static"]))
    except (OSError, KeyError, TypeError, AttributeError, yaml.YAMLError) as error:
        raise DataDocsError(
            f"{path}: needs `assets:` with `url` and `file` (or `gx_static`) ({error!r})"
        ) from None
    return assets


def localize(site: Path, project_dir: Path) -> None:
    """Copies the vendored assets into `site` and points its pages at them."""
    assets = load_assets(project_dir)
    source = Path(project_dir) / ASSETS_DIR
    shutil.copytree(
        source, site / VENDOR, dirs_exist_ok=True, ignore=shutil.ignore_patterns(ASSETS_FILE)
    )
    for asset in assets:
        if not (site / asset.local).is_file():
            raise DataDocsError(f"Data Docs have no {asset.local} to stand in for {asset.url}")
    # Longest first: no address is rewritten through a shorter one it starts with.
    ordered = sorted(assets, key=lambda asset: len(asset.url), reverse=True)
    for page in sorted(site.rglob("*.html")):
        text = page.read_text(encoding="utf-8")
        for asset in ordered:
            local = Path(os.path.relpath(site / asset.local, page.parent)).as_posix()
            # GX adds a query to some addresses (the logo's `?d=<context id>`).
            pattern = re.escape(asset.url) + r"(?:\?[^\"']*)?(?=[\"'])"
            text = re.sub(pattern, lambda _, local=local: local, text)
        text = _INTEGRITY.sub("", text)
        remote = _LOADS.findall(text) + _IMPORTS.findall(text)
        if remote:
            raise DataDocsError(
                f"Data Docs page {page.relative_to(site).as_posix()} loads {remote[0]} from the "
                f"internet: vendor it in {ASSETS_DIR.as_posix()}/ (see the README there)"
            )
        page.write_text(text, encoding="utf-8")
