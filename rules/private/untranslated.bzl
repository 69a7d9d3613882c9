"""stagex_untranslated: stands for a package that does not translate."""

def _untranslated_impl(ctx):
    fail("%s cannot be built: %s" % (ctx.label, ctx.attr.error))

stagex_untranslated = rule(
    implementation = _untranslated_impl,
    doc = """Stands for a target of a package whose Containerfile or package.toml
does not translate (or that StageX's build skips), so that what uses it fails
when it is analysed, with the translator's `file:line: message`. The
translator writes these, tagged manual, so that `//packages/...` passes over
them and only their users fail.""",
    attrs = {
        "error": attr.string(
            doc = "Why the package does not translate: the translator's error, `file:line: message`.",
            mandatory = True,
        ),
    },
)
