"""Developer scripts (scripts/i18n.py: the translation catalogue)."""
