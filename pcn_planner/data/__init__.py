"""Data: the atlas (loading and validating it), building it from raw public files, synthetic regions."""
