"""Unit tests of the functions of facts.bzl, on the cases the Go tests of package stagex use."""

load("@bazel_skylib//lib:unittest.bzl", "asserts", "unittest")
load(":facts.bzl", "is_sha256_hex", "parse_platform")

_HEX = "0123456789abcdef" * 4

def _is_sha256_hex_test_impl(ctx):
    env = unittest.begin(ctx)
    for s, want in [
        (_HEX, True),
        (_HEX.upper(), False),
        (_HEX[1:], False),
        (_HEX + "0", False),
        (_HEX[1:] + "g", False),
        ("sha256:" + _HEX, False),
        ("", False),
    ]:
        asserts.equals(env, want, is_sha256_hex(s), "is_sha256_hex(%r)" % s)
    return unittest.end(env)

is_sha256_hex_test = unittest.make(
    _is_sha256_hex_test_impl,
    doc = "is_sha256_hex accepts 64 lower-case hex digits and nothing else.",
)

def _parse_platform_test_impl(ctx):
    env = unittest.begin(ctx)
    for s, want in [
        ("linux/amd64", ("linux", "amd64", "")),
        ("linux/arm64/v8", ("linux", "arm64", "v8")),
        ("linux/x86_64", ("linux", "x86_64", "")),
        ("Linux/amd64", None),
        ("linux", None),
        ("linux/", None),
        ("linux//amd64", None),
        ("linux/amd64/v2/x", None),
        ("linux/amd 64", None),
        ("linux/amd64:10", None),
    ]:
        p = parse_platform(s)
        got = None if p == None else (p.os, p.architecture, p.variant)
        asserts.equals(env, want, got, "parse_platform(%r)" % s)
    return unittest.end(env)

parse_platform_test = unittest.make(
    _parse_platform_test_impl,
    doc = "parse_platform splits os/architecture[/variant] and refuses anything else.",
)

def facts_test_suite(name):
    """Declares the tests of facts.bzl.

    Args:
      name: the name of the test suite.
    """
    unittest.suite(name, is_sha256_hex_test, parse_platform_test)
