"""Rules for this repository's own tests; not part of the StageX API.

`context_files` builds programs as a stage's `context` builds them, so a
test can hand another builder (BuildKit) the very bytes a stage copies in.
"""

load("//rules/private:context_files.bzl", _context_files = "context_files")

context_files = _context_files
