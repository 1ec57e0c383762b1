"""Make folium pages work with no network: inline every CDN asset from a vendored copy.

Planners open our map pages straight from disk, often with no internet. folium
(and branca, and the folium plugins) write ``<script src="https://cdn...">`` and
``<link rel="stylesheet" href="https://cdn...">`` tags, so such a page shows a
blank grey box offline. :func:`inline_assets` swaps each of those tags for an
inline ``<script>`` / ``<style>`` holding the file kept in ``assets/`` (images and
webfonts that a stylesheet refers to become ``data:`` URIs). A tag whose URL we
have not vendored is an error, never a silent pass-through, so a page we ship
cannot reach the network for code or styles.

Tile layers are not handled here: they cannot work offline. Build maps with
``tiles=None`` and add any web tile layer only as an overlay with ``show=False``.

In Jupyter, a plain ``folium.Map`` shows itself through an iframe that loads
its scripts from the CDNs. :class:`OfflineMap` (what
:func:`~pcn_planner.outputs.maps.plan_map.plan_map` returns) shows itself with
:func:`notebook_html` instead: the same page, assets inlined, in an
``<iframe srcdoc>``, so a notebook needs no network to show a map either.

Where each vendored file came from, and its licence, is in ``assets/README.md``.
"""

from __future__ import annotations

import base64
import functools
import html as html_lib
import os
import re
import tempfile
from collections.abc import Collection
from pathlib import Path
from typing import Any, Protocol

import folium

__all__ = [
    "ASSETS_DIR",
    "FOLIUM_EXTRAS",
    "KNOWN_ASSETS",
    "AssetError",
    "OfflineMap",
    "UnknownAssetError",
    "inline_assets",
    "notebook_html",
    "save_offline",
]

ASSETS_DIR = Path(__file__).with_name("assets")

# URL that folium / branca / folium.plugins writes -> vendored file under ASSETS_DIR.
# The URLs must match exactly: a folium upgrade that changes a version in a URL
# must fail loudly here, so that someone vendors the new file on purpose.
KNOWN_ASSETS: dict[str, str] = {
    # folium.Map defaults (folium/folium.py _default_js / _default_css)
    "https://cdn.jsdelivr.net/npm/leaflet@1.9.3/dist/leaflet.js": "leaflet-1.9.3/leaflet.js",
    "https://cdn.jsdelivr.net/npm/leaflet@1.9.3/dist/leaflet.css": "leaflet-1.9.3/leaflet.css",
    "https://code.jquery.com/jquery-3.7.1.min.js": "jquery-3.7.1/jquery.min.js",
    "https://cdn.jsdelivr.net/npm/bootstrap@5.2.2/dist/js/bootstrap.bundle.min.js": (
        "bootstrap-5.2.2/bootstrap.bundle.min.js"
    ),
    "https://cdn.jsdelivr.net/npm/bootstrap@5.2.2/dist/css/bootstrap.min.css": (
        "bootstrap-5.2.2/bootstrap.min.css"
    ),
    "https://netdna.bootstrapcdn.com/bootstrap/3.0.0/css/bootstrap-glyphicons.css": (
        "glyphicons-bootstrap-3.4.1/css/bootstrap-glyphicons.min.css"
    ),
    "https://cdn.jsdelivr.net/npm/@fortawesome/fontawesome-free@6.2.0/css/all.min.css": (
        "fontawesome-free-6.2.0/css/fontawesome-regular-solid.min.css"
    ),
    "https://cdnjs.cloudflare.com/ajax/libs/Leaflet.awesome-markers/2.0.2/leaflet.awesome-markers.js": (
        "leaflet.awesome-markers-2.0.2/leaflet.awesome-markers.min.js"
    ),
    "https://cdnjs.cloudflare.com/ajax/libs/Leaflet.awesome-markers/2.0.2/leaflet.awesome-markers.css": (
        "leaflet.awesome-markers-2.0.2/leaflet.awesome-markers.css"
    ),
    "https://cdn.jsdelivr.net/gh/python-visualization/folium/folium/templates/leaflet.awesome.rotate.min.css": (
        "folium-0.20.0/leaflet.awesome.rotate.min.css"
    ),
    # folium.plugins.DualMap
    "https://cdn.jsdelivr.net/gh/jieter/Leaflet.Sync/L.Map.Sync.min.js": (
        "leaflet.sync-0.2.4/L.Map.Sync.min.js"
    ),
    # branca.colormap.*Colormap legends draw with d3 v3
    "https://cdnjs.cloudflare.com/ajax/libs/d3/3.5.5/d3.min.js": "d3-3.5.5/d3.min.js",
}

_LEAFLET_JS = "leaflet-1.9.3/leaflet.js"

#: The assets every ``folium.Map`` links besides Leaflet and jQuery (which
#: folium's popups use): Bootstrap, glyph and icon fonts, awesome-markers. A
#: page drawing only Leaflet vectors, ``DivIcon`` markers, tooltips, popups and
#: the layer control never uses them; the notebook view of an
#: :class:`OfflineMap` leaves them out (about 0.8 MB less).
FOLIUM_EXTRAS: frozenset[str] = frozenset(
    url for name, url in (*folium.Map.default_js, *folium.Map.default_css)
    if name not in ("leaflet", "leaflet_css", "jquery")
)

# MIME types for files a vendored stylesheet refers to with url(...).
_MIME = {
    ".png": "image/png",
    ".svg": "image/svg+xml",
    ".woff2": "font/woff2",
    ".woff": "font/woff",
}


class AssetError(RuntimeError):
    """The vendored asset set is broken (a file is missing or unusable)."""


class UnknownAssetError(ValueError):
    """A page refers to an external asset that we have no vendored copy of."""


class _Renderable(Protocol):
    """Anything folium/branca can render to a whole page (Map, Figure, Element)."""

    def get_root(self) -> object: ...


# <script ... src="..." ...></script>; folium always writes the closing tag.
_SCRIPT_SRC = re.compile(
    r"<script\b(?P<attrs>[^>]*?)\bsrc\s*=\s*(?P<q>[\"']?)(?P<url>[^\"'\s>]+)(?P=q)[^>]*>\s*</script\s*>",
    re.IGNORECASE,
)
# Any start tag of a script with src, however it ends; a src script that
# _SCRIPT_SRC does not match (so would not be replaced) is reported, not missed.
_ANY_SCRIPT_SRC = re.compile(
    r"<script\b[^>]*?\bsrc\s*=\s*[\"']?(?P<url>[^\"'\s>]+)", re.IGNORECASE
)
# Any <link ...> tag; we look at rel and href below.
_LINK = re.compile(r"<link\b[^>]*>", re.IGNORECASE)
_ATTR = re.compile(r"\b(?P<name>[a-zA-Z-]+)\s*=\s*(?P<q>[\"']?)(?P<value>[^\"'\s>]*)(?P=q)")
# Other things a browser fetches by itself on load (or when a popup opens).
_OTHER_LOADS = re.compile(
    r"<(?:img|iframe|source|embed|audio|video|input)\b[^>]*?\bsrc\s*=\s*[\"']?"
    r"(?P<url>(?:https?:)?//[^\"'\s>]+)"
    r"|url\(\s*[\"']?(?P<cssurl>(?:https?:)?//[^\"')\s]+)"
    r"|@import\s+[\"'](?P<importurl>(?:https?:)?//[^\"']+)",
    re.IGNORECASE,
)
_CSS_URL = re.compile(r"url\(\s*(?P<q>[\"']?)(?P<ref>[^\"')]+?)(?P=q)\s*\)")


def inline_assets(html: str, *, omit: Collection[str] = ()) -> str:
    """Replace every CDN ``<script src>`` / ``<link href>`` with the vendored file inline.

    Parameters
    ----------
    html : str
        A whole page as folium renders it.
    omit : collection of str
        Known asset URLs whose tags are dropped instead of inlined (e.g.
        :data:`FOLIUM_EXTRAS` for a page that does not use them).

    Returns
    -------
    str
        The same page with each known external script/stylesheet inlined as
        ``<script>`` / ``<style>``, in the same place so load and cascade order
        are unchanged.

    Raises
    ------
    UnknownAssetError
        If the page refers to any script, stylesheet, image, frame or CSS import
        outside the page that is not in :data:`KNOWN_ASSETS`; the message lists
        every such URL.
    AssetError
        If a vendored file is missing from ``assets/``.
    """
    unknown: list[str] = []

    replaceable = set()
    for match in _SCRIPT_SRC.finditer(html):
        replaceable.add(match.start())
        if match.group("url") not in KNOWN_ASSETS:
            unknown.append(match.group("url"))
    for match in _ANY_SCRIPT_SRC.finditer(html):
        if match.start() not in replaceable:
            unknown.append(f"{match.group('url')} (in a <script> tag of a form not handled here)")
    for match in _LINK.finditer(html):
        href = _attrs(match.group(0)).get("href")
        if href is not None and not href.startswith("data:") and href not in KNOWN_ASSETS:
            unknown.append(href)
    for match in _OTHER_LOADS.finditer(html):
        unknown.append(match.group("url") or match.group("cssurl") or match.group("importurl"))

    if unknown:
        listed = "\n  ".join(dict.fromkeys(unknown))
        raise UnknownAssetError(
            "page refers to external assets that have no vendored copy, so it would "
            f"reach the network when opened:\n  {listed}\n"
            "Vendor them in pcn_planner/outputs/maps/assets/ and add them to KNOWN_ASSETS, "
            "or stop using the element that adds them."
        )

    def script(match: re.Match[str]) -> str:
        url = match.group("url")
        return "" if url in omit else _inline_script(KNOWN_ASSETS[url])

    def link(match: re.Match[str]) -> str:
        href = _attrs(match.group(0)).get("href")
        if href is None or href.startswith("data:"):
            return match.group(0)
        return "" if href in omit else _inline_style(KNOWN_ASSETS[href])

    # Functions as replacements: the asset text is full of backslashes that
    # re.sub would otherwise read as group references.
    html = _SCRIPT_SRC.sub(script, html)
    return _LINK.sub(link, html)


def save_offline(fig: _Renderable, path: str | Path) -> Path:
    """Render a folium map/figure to one self-contained HTML file.

    Parameters
    ----------
    fig : folium.Map, folium.Figure or branca.element.Element
        What to render; its root figure (the whole page) is written.
    path : str or Path
        Where to write the page. Parent directories must exist.

    Returns
    -------
    Path
        The absolute path written.

    Raises
    ------
    UnknownAssetError
        If the page would load anything not vendored; nothing is written then.

    Notes
    -----
    The file is written to a temporary file in the same directory and moved
    into place with :func:`os.replace`, so a reader never sees half a page and a
    failed save leaves any earlier page untouched.
    """
    path = Path(path).absolute()
    html = inline_assets(fig.get_root().render())  # type: ignore[attr-defined]

    fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(html)
        # mkstemp makes the file 0600, unreadable to colleagues on a shared
        # drive; keep the mode of the page we replace, else rw-r--r--.
        # (Not derived from os.umask(): reading it means setting it, process-wide.)
        mode = path.stat().st_mode & 0o777 if path.exists() else 0o644
        os.chmod(tmp_name, mode)
        os.replace(tmp_name, path)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise
    return path


def notebook_html(fig: _Renderable, *, height: int = 620, omit: Collection[str] = FOLIUM_EXTRAS) -> str:
    """The page of a folium map/figure as an offline ``<iframe srcdoc>`` for Jupyter.

    Like folium's own ``_repr_html_``, but every asset is inlined (see
    :func:`inline_assets`), so showing the map reaches no network.

    Parameters
    ----------
    fig : folium.Map, folium.Figure or branca.element.Element
        What to show; its root figure (the whole page) is rendered.
    height : int
        Height of the frame in CSS pixels; it takes the full output width.
    omit : collection of str
        Asset URLs to leave out; by default the folium extras a page of Leaflet
        vectors does not use (:data:`FOLIUM_EXTRAS`). Pass ``()`` to keep all.

    Returns
    -------
    str
        One ``<iframe>`` element.

    Raises
    ------
    UnknownAssetError
        If the page would load anything not vendored.
    """
    page = inline_assets(fig.get_root().render(), omit=omit)  # type: ignore[attr-defined]
    # Non-ASCII as character references: the frame then reads the same whatever
    # the encoding of the page it sits in.
    srcdoc = html_lib.escape(page, quote=True).encode("ascii", "xmlcharrefreplace").decode("ascii")
    return (f'<iframe srcdoc="{srcdoc}" class="pcn-map-frame" '
            f'style="width:100%;height:{int(height)}px;border:none" allowfullscreen></iframe>')


class OfflineMap(folium.Map):
    """A ``folium.Map`` that needs no network to show or save.

    Shown in Jupyter, it renders with :func:`notebook_html` (assets inlined,
    in an ``<iframe srcdoc>``), not folium's CDN-loading iframe; :meth:`save`
    writes the page with :func:`save_offline`. Otherwise it is a folium map.

    Examples
    --------
    >>> from pcn_planner.outputs.maps.offline import OfflineMap
    >>> m = OfflineMap(location=[52.8, -2.1], tiles=None, zoom_start=9)
    >>> "<iframe srcdoc=" in m._repr_html_() and "https://cdn" not in m._repr_html_()
    True
    """

    #: Height (CSS pixels) of the notebook frame.
    notebook_height: int = 620
    #: Asset URLs the notebook view leaves out; set to ``frozenset()`` on a map
    #: that uses folium icons (``folium.Icon``) or Bootstrap.
    notebook_omit: frozenset[str] = FOLIUM_EXTRAS

    def _repr_html_(self, **kwargs: Any) -> str:
        return notebook_html(self, height=self.notebook_height, omit=self.notebook_omit)

    def save(self, outfile: str | Path, close_file: bool = True, **kwargs: Any) -> None:  # type: ignore[override]
        """Write the page to ``outfile`` with every asset inlined (:func:`save_offline`)."""
        save_offline(self, outfile)


def _attrs(tag: str) -> dict[str, str]:
    """Attributes of one start tag, names lower-cased."""
    return {m.group("name").lower(): m.group("value") for m in _ATTR.finditer(tag)}


@functools.cache
def _inline_script(rel: str) -> str:
    """A ``<script>`` element holding the vendored JS file ``rel``."""
    text = _asset_path(rel).read_text(encoding="utf-8")
    # "</script" inside the code would end the element early; "<\/script" means
    # the same thing in every JS context it can legally appear in (strings, regexes).
    text = re.sub(r"</(script)", r"<\\/\1", text, flags=re.IGNORECASE)
    if rel == _LEAFLET_JS:
        text += "\n" + _leaflet_default_icon_fix()
    return f"<script>\n{text}\n</script>"


@functools.cache
def _inline_style(rel: str) -> str:
    """A ``<style>`` element holding the vendored CSS file ``rel``, its url()s as data URIs."""
    css_path = _asset_path(rel)
    text = css_path.read_text(encoding="utf-8")
    if re.search(r"</style", text, re.IGNORECASE):
        raise AssetError(f"{rel} contains '</style' and cannot be inlined")

    def to_data_uri(match: re.Match[str]) -> str:
        ref = match.group("ref")
        # data: is already inline; "#default#VML" is an old-IE behaviour, not a fetch.
        if ref.startswith(("data:", "#")):
            return match.group(0)
        target = (css_path.parent / ref.split("?")[0].split("#")[0]).resolve()
        if ASSETS_DIR.resolve() not in target.parents or not target.is_file():
            raise AssetError(f"{rel} refers to {ref!r}, which is not vendored in {ASSETS_DIR}")
        return f'url("{_data_uri(target)}")'

    return f"<style>\n{_CSS_URL.sub(to_data_uri, text)}\n</style>"


def _leaflet_default_icon_fix() -> str:
    """JS that gives Leaflet's default marker icon data: URIs.

    Leaflet finds its marker PNGs by reading a CSS background-image and
    fetching ``marker-icon.png`` next to it; inline, that would be a relative
    file that does not exist. Setting ``imagePath`` to "" skips the lookup.
    """
    images = _asset_path("leaflet-1.9.3/images")
    icon = _data_uri(images / "marker-icon.png")
    retina = _data_uri(images / "marker-icon-2x.png")
    shadow = _data_uri(images / "marker-shadow.png")
    return (
        'L.Icon.Default.imagePath = "";\n'
        f'L.Icon.Default.mergeOptions({{iconUrl: "{icon}", iconRetinaUrl: "{retina}", '
        f'shadowUrl: "{shadow}"}});'
    )


def _asset_path(rel: str) -> Path:
    path = ASSETS_DIR / rel
    if not path.exists():
        raise AssetError(f"vendored asset missing: {path}")
    return path


def _data_uri(path: Path) -> str:
    try:
        mime = _MIME[path.suffix.lower()]
    except KeyError:
        raise AssetError(f"no MIME type known for vendored file {path}") from None
    return f"data:{mime};base64,{base64.b64encode(path.read_bytes()).decode('ascii')}"
