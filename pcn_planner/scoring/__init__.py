"""Scoring: the scorecard, the metrics registry and the differences between plans."""
