"""Pin lookup: the digest a pin file (`digests/<tier>.txt`) gives an image."""

load(":registry.bzl", "check_digest")

def find_pin(text, image_name, where):
    """The digest pinned for an image in the text of a pin file.

    A pin file has one image per line, `<64 hex digits> <image name>`,
    separated by one space (stagex-digests checks the whole file's form; this
    reads the line of one image). An image pinned twice fails, naming both
    lines, as stagex-digests refuses such a file.

    Args:
      text: the pin file's contents.
      image_name: the published name to look up, `<tier>-<name>`.
      where: the pin file, to name in errors (`<file>:<line>` is added).

    Returns:
      `sha256:<hex>`, or None when the file pins no such image.
    """
    found = None
    found_line = 0
    for n, line in enumerate(text.splitlines()):
        fields = [f for f in line.split(" ") if f]
        if len(fields) != 2 or fields[1] != image_name:
            continue
        if found:
            fail("%s:%d: duplicate image %s (first pinned on line %d); expected one line per image" % (where, n + 1, image_name, found_line))
        found = "sha256:" + fields[0]
        found_line = n + 1
        check_digest("%s:%d" % (where, n + 1), found)
    return found
