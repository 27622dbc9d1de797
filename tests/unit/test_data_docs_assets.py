"""Data Docs open without network: every address GX's page templates load from
a CDN has a vendored copy (expectations/data_docs_assets/), the copies are the
very files GX pins by hash, and a site's pages are rewritten to them, with
anything still remote refused by name."""

from __future__ import annotations

import base64
import hashlib
import re
from pathlib import Path

import pytest
from conftest import PROJECT_DIR

from orchestration.expectations.data_docs import (
    ASSETS_DIR,
    VENDOR,
    DataDocsError,
    load_assets,
    localize,
)

VENDORED = PROJECT_DIR / ASSETS_DIR
REMOTE = re.compile(r"""(?:src|href)="(https?://[^"]+)"|url\('(https?://[^']+)'\)""")
PINNED = re.compile(r'src="(https?://[^"]+)" integrity="(sha384-[^"]+)"')


def gx_view() -> Path:
    import great_expectations

    return Path(great_expectations.__file__).parent / "render" / "view"


def gx_loads() -> set[str]:
    """Every remote address in GX's page templates and default styles that a
    browser fetches (links to web pages left out)."""
    found = set()
    for path in [*(gx_view() / "templates").glob("*.j2"), *(gx_view() / "static").rglob("*.css")]:
        for line in path.read_text(encoding="utf-8").splitlines():
            if "<a " in line:
                continue
            for match in REMOTE.finditer(line):
                found.add(match.group(1) or match.group(2))
    return found


def test_every_address_gx_loads_has_a_vendored_copy():
    vendored = {asset.url for asset in load_assets(PROJECT_DIR)}
    loads = gx_loads()
    assert len(loads) >= 15  # the scan sees GX's templates
    assert loads <= vendored, sorted(loads - vendored)
    # the logo, whose address GX builds from a prefix and a name
    assert any(url.endswith("/logo-long.png") for url in vendored)


def test_vendored_scripts_are_the_files_gx_pins_by_hash():
    assets = {asset.url: asset for asset in load_assets(PROJECT_DIR)}
    template = (gx_view() / "templates" / "js_script_imports.j2").read_text(encoding="utf-8")
    pinned = PINNED.findall(template)
    assert len(pinned) >= 2
    for url, integrity in pinned:
        local = VENDORED / assets[url].local.relative_to(VENDOR)
        digest = base64.b64encode(hashlib.sha384(local.read_bytes()).digest()).decode()
        assert f"sha384-{digest}" == integrity, url


def test_every_vendored_package_carries_its_license():
    packages = [folder for folder in VENDORED.iterdir() if folder.is_dir()]
    assert len(packages) >= 10
    for folder in packages:
        assert list(folder.glob("LICENSE*")), folder.name


PAGE = """<html><head>
<link rel="stylesheet" href="https://maxcdn.bootstrapcdn.com/bootstrap/4.3.1/css/bootstrap.min.css"/>
<script src="https://cdnjs.cloudflare.com/ajax/libs/popper.js/1.12.9/umd/popper.min.js" integrity="sha384-x" crossorigin="anonymous"></script>
<script src="https://cdn.jsdelivr.net/npm/vega@5"></script>
<script src="https://cdn.jsdelivr.net/npm/vega-lite@5"></script>
<style>.navbar-brand a { background: url('https://great-expectations-web-assets.s3.us-east-2.amazonaws.com/full_logo_dark.png') }</style>
</head><body>
<img src="https://great-expectations-web-assets.s3.us-east-2.amazonaws.com/logo-long.png?d=1234"/>
<a href="https://greatexpectations.io">Great Expectations</a>
</body></html>
"""  # noqa: E501 - GX's own lines


def site_with(tmp_path: Path, page: str) -> tuple[Path, Path]:
    site = tmp_path / "site"
    html = site / "validations" / "suite" / "run" / "page.html"
    html.parent.mkdir(parents=True)
    html.write_text(page, encoding="utf-8")
    logo = site / "static" / "images" / "logo-long.png"
    logo.parent.mkdir(parents=True)
    logo.write_bytes(b"png")
    return site, html


def test_pages_are_pointed_at_the_vendored_copies(tmp_path):
    site, html = site_with(tmp_path, PAGE)
    localize(site, PROJECT_DIR)
    text = html.read_text(encoding="utf-8")
    loads = re.findall(r'(?:src|href)="([^"]+)"|url\(\'([^\']+)\'\)', text)
    addresses = [a or b for a, b in loads]
    assert "https://greatexpectations.io" in addresses  # a link, not a load
    local = [address for address in addresses if not address.startswith("https://")]
    assert len(local) == 6
    for address in local:
        assert address.startswith("../../../static/"), address
        assert (html.parent / address).resolve().is_file(), address
    assert "vega-5.33.1/vega.min.js" in text and "vega-lite-5.23.0/vega-lite.min.js" in text
    assert "integrity" not in text and "crossorigin" not in text and "?d=1234" not in text
    assert (site / VENDOR / "README.md").is_file()
    assert (site / VENDOR / "fontawesome-free-6.6.0" / "webfonts" / "fa-solid-900.woff2").is_file()
    assert not (site / VENDOR / "assets.yml").exists()


def test_a_page_that_still_loads_from_the_internet_is_named(tmp_path):
    unknown = '<script src="https://cdn.example.org/new-widget.js"></script>'
    site, html = site_with(tmp_path, PAGE.replace("</head>", unknown + "</head>"))
    with pytest.raises(DataDocsError, match=r"validations/suite/run/page.html loads https://cdn"):
        localize(site, PROJECT_DIR)
    assert "https://maxcdn" in html.read_text()  # the page is left as it was
