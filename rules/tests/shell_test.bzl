"""Unit tests of the launchers' shell quoting (rules/private/shell.bzl)."""

load("@bazel_skylib//lib:unittest.bzl", "asserts", "unittest")
load("//rules/private:shell.bzl", "shell_quote", "shell_words")

def _shell_test_impl(ctx):
    env = unittest.begin(ctx)
    for word, want in [
        ("", "''"),
        ("plain", "'plain'"),
        ("two words", "'two words'"),
        ("it's", "'it'\\''s'"),
        ("$HOME `x` \"y\"", "'$HOME `x` \"y\"'"),
    ]:
        asserts.equals(env, want, shell_quote(word), "shell_quote(%r)" % word)
    asserts.equals(env, "'a' 'b c' ''", shell_words(["a", "b c", ""]), "shell_words")
    return unittest.end(env)

shell_test = unittest.make(
    _shell_test_impl,
    doc = "Checks shell_quote and shell_words against a table.",
)
