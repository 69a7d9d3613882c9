"""Analysis tests of pin lookup (rules/private/pins.bzl).

`pin_lookup` runs `find_pin` at analysis time on a pin file's text given as
an attribute; `pin_lookup_test` checks what it found, and
`pin_lookup_failure_test` that it failed, saying what.
"""

load("@bazel_skylib//lib:unittest.bzl", "analysistest", "asserts")
load("//rules/private:pins.bzl", "find_pin")

PinLookupInfo = provider(
    doc = "What find_pin returned.",
    fields = {"digest": "string: the digest found, or empty for none."},
)

def _pin_lookup_impl(ctx):
    found = find_pin(ctx.attr.text, ctx.attr.image_name, "digests/core.txt")
    return [PinLookupInfo(digest = found or "")]

pin_lookup = rule(
    implementation = _pin_lookup_impl,
    doc = "Looks up an image in the text of a pin file, for the tests.",
    attrs = {
        "image_name": attr.string(doc = "The image to look up.", mandatory = True),
        "text": attr.string(doc = "The pin file's contents.", mandatory = True),
    },
)

def _pin_lookup_test_impl(ctx):
    env = analysistest.begin(ctx)
    target = analysistest.target_under_test(env)
    asserts.equals(env, ctx.attr.want, target[PinLookupInfo].digest, "the digest found")
    return analysistest.end(env)

pin_lookup_test = analysistest.make(
    _pin_lookup_test_impl,
    doc = "Checks the digest a pin_lookup found.",
    attrs = {"want": attr.string(doc = "The digest, `sha256:<hex>`; empty for none.")},
)

def _pin_lookup_failure_test_impl(ctx):
    env = analysistest.begin(ctx)
    for text in ctx.attr.messages:
        asserts.expect_failure(env, text)
    return analysistest.end(env)

pin_lookup_failure_test = analysistest.make(
    _pin_lookup_failure_test_impl,
    doc = "Checks that a pin_lookup fails, and with what message.",
    attrs = {"messages": attr.string_list(doc = "Texts the error must contain.", mandatory = True)},
    expect_failure = True,
)
