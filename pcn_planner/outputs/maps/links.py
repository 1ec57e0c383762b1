"""Added links on a map: the practice-graph edges a problem added, drawn so a planner can see them.

Nesting hubs within sub-ICBs (or districts) can need links the practice
graph does not have, to join a part of an area that the graph leaves cut off
(:attr:`Instance.nesting_links <pcn_planner.model.instance.Instance.nesting_links>`).
Hubs are judged contiguous on the graph with those links, so a map that did
not show them would make a correct plan look broken.
"""

from __future__ import annotations

import html

import folium

from pcn_planner.scoring.scorecard import Scorecard

#: Layer name of the added links.
LAYER_LINKS = "Added links"
#: CSS class of every drawn link (``path.pcn-link``), for tests and styling.
LINK_CLASS = "pcn-link"
LINK_COLOUR = "#212b32"


def add_link_layer(m: folium.Map, scorecard: Scorecard) -> folium.FeatureGroup | None:
    """Draw the scorecard's added links as dashed lines, each with its reason; ``None`` if there are none."""
    links = scorecard.added_links
    if links.empty:
        return None
    practices = scorecard.region.atlas.practices
    layer = folium.FeatureGroup(name=f"{LAYER_LINKS} ({len(links)})", show=True)
    for a, b, why in links.itertuples(index=False):
        ends = [[float(practices.at[c, "lat"]), float(practices.at[c, "lon"])] for c in (a, b)]
        text = (f"<b>Added link</b> {html.escape(str(practices.at[a, 'name']))} ({html.escape(a)}) – "
                f"{html.escape(str(practices.at[b, 'name']))} ({html.escape(b)})<br>{html.escape(why)}")
        folium.PolyLine(ends, color=LINK_COLOUR, weight=3, dash_array="6 6", opacity=0.9,
                        class_name=LINK_CLASS, tooltip=folium.Tooltip(text, sticky=True)).add_to(layer)
    layer.add_to(m)
    return layer
