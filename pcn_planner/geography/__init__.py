"""Geography: territories and the practice graph, travel, natural communities, risk, and the region."""
