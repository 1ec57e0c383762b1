"""Outputs: run folders, GIS exports, interactive maps and the options report."""
