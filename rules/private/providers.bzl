"""Providers shared by the StageX rules."""

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
