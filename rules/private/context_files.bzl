"""Files as a stage's context gets them, for tests that give them to another builder.

A stage builds the files of its `context` under its transition, which
rewrites the source paths Go records in a program (see transition.bzl). A
test that hands the same program to BuildKit must hand it the same bytes:
`context_files` builds its sources with that rewrite.
"""

load(":transition.bzl", "stable_go_paths_transition")

def _context_files_impl(ctx):
    files = depset(transitive = [src[DefaultInfo].files for src in ctx.attr.srcs])
    return [DefaultInfo(files = files, runfiles = ctx.runfiles(transitive_files = files))]

context_files = rule(
    implementation = _context_files_impl,
    doc = "The files of `srcs`, built as a stage's `context` builds them.",
    attrs = {
        "srcs": attr.label_list(
            doc = "Targets whose files a stage's context would hold, such as a go_binary.",
            allow_files = True,
            cfg = stable_go_paths_transition,
        ),
    },
)
