"""Map output: folium pages that work offline."""
