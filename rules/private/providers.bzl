"""Every provider of the StageX rules."""

StagexImageInfo = provider(
    doc = "A built container image: an OCI image layout directory and what it was built for.",
    fields = {
        "architecture": "string: the image's architecture, as OCI names it (`amd64`, `386`, ...).",
        "digest": "File: a text file holding the manifest digest, `sha256:<hex>`.",
        "image_name": "string: the published name (`<tier>-<name>`, or `<tier>-<subpackage>`), or empty for an internal stage.",
        "layout": "File: a directory holding an OCI image layout with exactly one image.",
        "os": "string: the image's operating system, as OCI names it (`linux`).",
    },
)

StagexImageIndexInfo = provider(
    doc = """A multi-platform image: an OCI image layout whose one entry is an image index.

Digest tests, signature tests and pushes take it as they take a single
image (StagexImageInfo). A push uploads the index and every platform's
image, and prints the index's digest; pins and signatures name the first
platform's manifest digest, the digest StageX's release script reads from
a multi-platform layout (so pointing a package's pin at its index leaves
the pin as it was).""",
    fields = {
        "digest": "File: a text file holding the image index's digest, `sha256:<hex>`.",
        "image_name": "string: the published name of the images it joins, or empty.",
        "images": "list of StagexImageInfo: the image of each platform, in the order the index lists them.",
        "layout": "File: a directory holding an OCI image layout whose index.json names one image index.",
        "platforms": "list of string: the platforms, `os/architecture`, in the index's order.",
    },
)

StagexBootstrapInfo = provider(
    doc = "What toolchain resolution chose for one bootstrap stage on the target platform.",
    fields = {
        "image": "Label: the image target the chosen toolchain hands out.",
        "stage": "string: the bootstrap stage, `stage0` to `stage3`.",
        "toolchain": "Label: the chosen stagex_bootstrap_toolchain target.",
    },
)

def published_image(target):
    """What digest tests, signature tests and pushes need of an image or an index.

    Args:
      target: a target providing StagexImageInfo or StagexImageIndexInfo.

    Returns:
      A struct with `layout` (the layout directory), `digest` (the digest
      file), `image_name` (the published name, maybe empty) and `is_index`.
    """
    if StagexImageIndexInfo in target:
        info = target[StagexImageIndexInfo]
        return struct(layout = info.layout, digest = info.digest, image_name = info.image_name, is_index = True)
    info = target[StagexImageInfo]
    return struct(layout = info.layout, digest = info.digest, image_name = info.image_name, is_index = False)
