"""Batch: scenario files, the result store, workers, Dask runs and the sensitivity summary."""
