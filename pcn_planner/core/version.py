"""The package version, in the bottom layer so that every layer can record it."""

__version__ = "0.1.0"
