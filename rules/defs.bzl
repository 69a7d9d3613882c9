"""Public API of the StageX rules: load everything from this file."""
