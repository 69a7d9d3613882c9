"""Shell quoting for the launchers the rules expand from `.sh.tpl` templates."""

def shell_quote(word):
    """Quotes one word for a POSIX shell: it reaches the program unchanged.

    Args:
      word: any string.

    Returns:
      The word in single quotes, each single quote inside written `'\\''`.
    """
    return "'" + word.replace("'", "'\\''") + "'"

def shell_words(words):
    """Quotes a list of words for a POSIX shell command line.

    Args:
      words: strings, one argument each.

    Returns:
      The quoted words joined by spaces.
    """
    return " ".join([shell_quote(w) for w in words])
