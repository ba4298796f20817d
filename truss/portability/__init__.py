"""Your data is yours: export everything into one archive, import an archive (issue 16)."""
