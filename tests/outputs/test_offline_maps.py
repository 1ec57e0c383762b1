"""Offline map pages: every CDN asset inlined, and the page works in a real browser.

The browser tests open the saved page from disk in headless Chromium with the
network cut off and demand no console errors, no uncaught exceptions, no failed
or external requests, the map elements present, and a screenshot that is not
blank. Screenshots land in pytest's tmp_path for a person to look at.
"""

from __future__ import annotations

import re
from pathlib import Path

import branca.colormap as cm
import folium
import folium.plugins
import pytest
from branca.element import CssLink, JavascriptLink

from pcn_planner.outputs.maps.offline import ASSETS_DIR, KNOWN_ASSETS, UnknownAssetError, inline_assets, save_offline
from tests.browser import check_page, chromium  # noqa: F401  (chromium is a fixture)

CENTRE = [52.63, 1.29]

# Two adjacent "hub" areas, lon/lat.
HUBS = {
    "type": "FeatureCollection",
    "features": [
        {
            "type": "Feature",
            "properties": {"hub": "North", "patients": 41000},
            "geometry": {
                "type": "Polygon",
                "coordinates": [[[1.20, 52.63], [1.38, 52.63], [1.38, 52.70], [1.20, 52.70], [1.20, 52.63]]],
            },
        },
        {
            "type": "Feature",
            "properties": {"hub": "South", "patients": 37500},
            "geometry": {
                "type": "Polygon",
                "coordinates": [[[1.20, 52.56], [1.38, 52.56], [1.38, 52.63], [1.20, 52.63], [1.20, 52.56]]],
            },
        },
    ],
}

SITES = [("Surgery A", 52.66, 1.25), ("Surgery B", 52.60, 1.33), ("Surgery C", 52.58, 1.24)]

LEGEND_HTML = """
<div class="pcn-legend" style="position: fixed; bottom: 30px; left: 10px; z-index: 1000;
     background: white; padding: 6px 8px; border: 1px solid #888; font: 12px sans-serif;">
  <b>Hub</b><br>
  <span style="display:inline-block;width:12px;height:12px;background:#1b9e77"></span> North<br>
  <span style="display:inline-block;width:12px;height:12px;background:#d95f02"></span> South
</div>
"""

COLOURS = {"North": "#1b9e77", "South": "#d95f02"}


def _add_hubs(m: folium.Map) -> None:
    """GeoJson polygons with tooltip and popup, plus practice CircleMarkers and a label."""
    folium.GeoJson(
        HUBS,
        name="Hubs",
        style_function=lambda f: {
            "fillColor": COLOURS[f["properties"]["hub"]],
            "color": "#333333",
            "weight": 2,
            "fillOpacity": 0.6,
        },
        tooltip=folium.GeoJsonTooltip(fields=["hub", "patients"], aliases=["Hub", "Patients"]),
        popup=folium.GeoJsonPopup(fields=["hub", "patients"]),
    ).add_to(m)
    sites = folium.FeatureGroup(name="Practices").add_to(m)
    for name, lat, lon in SITES:
        folium.CircleMarker(
            [lat, lon],
            radius=8,
            color="#000000",
            fill=True,
            fill_color="#ffd700",
            fill_opacity=1.0,
            popup=folium.Popup(f"<b>{name}</b>", max_width=200),
            class_name="pcn-site",
        ).add_to(sites)
    folium.Marker(
        [52.665, 1.29],
        icon=folium.DivIcon(html='<div class="pcn-label" style="font-weight:bold">North hub</div>'),
    ).add_to(m)


def _hub_map() -> folium.Map:
    m = folium.Map(location=CENTRE, zoom_start=11, tiles=None)
    _add_hubs(m)
    # Web tiles cannot work offline; they may only be an overlay that is off at opening.
    folium.TileLayer("OpenStreetMap", name="Street map (online only)", overlay=True, show=False).add_to(m)
    cm.StepColormap(
        ["#edf8e9", "#74c476", "#006d2c"], index=[0, 20000, 40000, 60000], vmin=0, vmax=60000,
        caption="Patients",
    ).add_to(m)
    m.get_root().html.add_child(folium.Element(LEGEND_HTML))
    folium.LayerControl(collapsed=True).add_to(m)
    return m


def _assert_clean(check) -> None:
    assert check.problems() == [], "\n".join(check.problems())


def test_map_page_works_offline(chromium: str, tmp_path: Path) -> None:  # noqa: F811
    page = save_offline(_hub_map(), tmp_path / "hubs.html")
    check = check_page(
        page,
        tmp_path / "hubs.png",
        click=[".pcn-site"],
        selectors=[
            ".leaflet-container",
            ".leaflet-interactive",
            ".pcn-site",
            ".pcn-label",
            ".pcn-legend",
            ".legend.leaflet-control svg#legend",  # branca colormap, drawn by d3
            ".leaflet-control-layers",
            ".leaflet-popup-content",  # the click opened the practice popup
        ],
        chromium=chromium,
    )
    _assert_clean(check)


def test_dual_map_page_works_offline(chromium: str, tmp_path: Path) -> None:  # noqa: F811
    dual = folium.plugins.DualMap(location=CENTRE, zoom_start=11, tiles=None)
    _add_hubs(dual.m1)
    folium.CircleMarker(CENTRE, radius=10, color="#7570b3", fill=True).add_to(dual.m2)
    folium.LayerControl().add_to(dual)
    page = save_offline(dual, tmp_path / "dual.html")
    check = check_page(
        page,
        tmp_path / "dual.png",
        selectors=[
            f"#{dual.m1.get_name()}.leaflet-container",
            f"#{dual.m2.get_name()}.leaflet-container",
            f"#{dual.m1.get_name()} .leaflet-interactive",
            f"#{dual.m2.get_name()} .leaflet-interactive",
        ],
        chromium=chromium,
    )
    _assert_clean(check)


def test_awesome_and_default_markers_work_offline(chromium: str, tmp_path: Path) -> None:  # noqa: F811
    # Not used by our maps today, but folium.Map always links their CSS/fonts,
    # so they must not turn into failed requests when someone does use them.
    m = folium.Map(location=CENTRE, zoom_start=11, tiles=None)
    folium.Marker(CENTRE).add_to(m)  # Leaflet's default PNG icon
    folium.Marker([52.65, 1.25], icon=folium.Icon(icon="info-sign")).add_to(m)  # glyphicon
    folium.Marker([52.61, 1.33], icon=folium.Icon(icon="hospital", prefix="fa", angle=30)).add_to(m)
    page = save_offline(m, tmp_path / "markers.html")
    check = check_page(
        page,
        tmp_path / "markers.png",
        selectors=[".leaflet-marker-icon", ".awesome-marker .glyphicon", ".awesome-marker .fa-hospital"],
        chromium=chromium,
    )
    _assert_clean(check)


def test_browser_check_catches_a_cdn_page_and_a_blank_one(chromium: str, tmp_path: Path) -> None:  # noqa: F811
    # Guards the guard: folium's own save() keeps the CDN links, which must show
    # up as external/failed requests and a JS error ("L is not defined").
    online = tmp_path / "online.html"
    _hub_map().save(str(online))
    check = check_page(online, tmp_path / "online.png", selectors=[".leaflet-container"], chromium=chromium)
    assert any("cdn.jsdelivr.net/npm/leaflet@1.9.3" in u for u in check.external_requests)
    assert check.failed_requests and check.page_errors
    assert check.missing_selectors == [".leaflet-container"]

    blank = tmp_path / "blank.html"
    blank.write_text("<!DOCTYPE html><html><body style='background:#fff'></body></html>")
    check = check_page(blank, tmp_path / "blank.png", chromium=chromium)
    assert check.blank and not check.ok


def test_saved_html_has_no_external_script_or_link(tmp_path: Path) -> None:
    dual = folium.plugins.DualMap(location=CENTRE, zoom_start=11, tiles=None)
    _add_hubs(dual.m1)
    for fig, name in [(_hub_map(), "hubs.html"), (dual, "dual.html")]:
        html = save_offline(fig, tmp_path / name).read_text(encoding="utf-8")
        assert re.findall(r"<script\b[^>]*\bsrc\s*=", html, re.IGNORECASE) == []
        assert re.findall(r"<link\b[^>]*\bhref\s*=", html, re.IGNORECASE) == []
        assert "cdn.jsdelivr.net" not in html and "cdnjs.cloudflare.com" not in html
        assert ("L.Sync=" in html) == (name == "dual.html")  # only DualMap pulls in Leaflet.Sync


def test_unknown_cdn_url_raises_and_writes_nothing(tmp_path: Path) -> None:
    m = folium.Map(tiles=None)
    m.get_root().header.add_child(JavascriptLink("https://cdn.example.org/lib/1.0/lib.min.js"))
    m.get_root().header.add_child(CssLink("https://cdn.example.org/lib/1.0/lib.css"))
    target = tmp_path / "map.html"
    with pytest.raises(UnknownAssetError) as err:
        save_offline(m, target)
    message = str(err.value)
    assert "https://cdn.example.org/lib/1.0/lib.min.js" in message
    assert "https://cdn.example.org/lib/1.0/lib.css" in message
    assert list(tmp_path.iterdir()) == []


def test_external_image_in_popup_raises() -> None:
    m = folium.Map(tiles=None)
    folium.Marker(CENTRE, popup='<img src="https://example.org/logo.png">').add_to(m)
    with pytest.raises(UnknownAssetError, match=re.escape("https://example.org/logo.png")):
        inline_assets(m.get_root().render())


def test_failed_save_keeps_previous_page(tmp_path: Path) -> None:
    target = tmp_path / "map.html"
    save_offline(folium.Map(tiles=None), target)
    before = target.read_bytes()
    bad = folium.Map(tiles=None)
    bad.get_root().header.add_child(JavascriptLink("https://unpkg.com/x.js"))
    with pytest.raises(UnknownAssetError):
        save_offline(bad, target)
    assert target.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["map.html"]  # no temp file left


def test_every_folium_default_asset_is_vendored() -> None:
    # Fails on a folium/branca upgrade that moves a URL, before any page breaks.
    urls = [url for _, url in folium.Map.default_js + folium.Map.default_css]
    urls += [url for _, url in folium.plugins.DualMap.default_js]
    fig = folium.Figure()
    cm.LinearColormap(["red", "blue"]).add_to(folium.Map(tiles=None).add_to(fig))
    urls += re.findall(r'src="([^"]+d3[^"]*)"', fig.render())
    missing = [u for u in urls if u not in KNOWN_ASSETS]
    assert missing == []
    for rel in KNOWN_ASSETS.values():
        assert (ASSETS_DIR / rel).is_file(), rel


def test_vendored_assets_have_licences_and_stay_small() -> None:
    total = sum(p.stat().st_size for p in ASSETS_DIR.rglob("*") if p.is_file())
    assert total < 1_500_000
    for folder in {Path(rel).parts[0] for rel in KNOWN_ASSETS.values()}:
        assert (ASSETS_DIR / folder / "LICENSE").is_file(), folder
