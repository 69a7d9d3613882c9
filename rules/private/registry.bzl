"""The repository rule that downloads a published image pinned by digest.

The `stagex` module extension (rules/extensions.bzl) declares one such
repository per `stagex.image` tag; its BUILD file holds a
`stagex_pulled_image` target (rules/private/pulled_image.bzl), the build
rule that checks the signatures and imports the image.

How it stays hermetic and trustworthy:

- The repository rule downloads the manifest (or multi-platform index) and
  every blob by digest, `/v2/<name>/manifests/<digest>` and
  `/v2/<name>/blobs/<digest>`, through Bazel's downloader with
  `sha256` = the digest. The downloader checks each file, keeps it in the
  repository cache (so later fetches, on any workspace of the machine, need
  no network) and honours `--distdir`, `--downloader_config` and
  `--experimental_downloader_config`. Mirrors named in the environment
  variable STAGEX_REGISTRY_MIRRORS (space- or comma-separated registry base
  URLs, e.g. `http://127.0.0.1:5000`; pass it with `--repo_env`) are tried
  first: content is pinned, so any mirror is safe.
- Repository rules cannot build tools, so the signature check is a build
  action: the image target's only output, its layout directory, is written
  by `stagex-import` after it has checked that the maintainers' signatures
  over the pinned digest meet the policy's threshold. Without enough
  signatures, every build that uses the image fails before any of its files
  is used. (The price: the blobs are downloaded before the check; nothing
  reads them until it passes.)

Registries that want a bearer token even for anonymous pulls need
`auth_realm` and `auth_service` (what `WWW-Authenticate` on `/v2/` names;
a realm written as a path, `/token`, is asked of the registry itself or of
each mirror); a token is asked for only when a download without one fails.
"""

load(":facts.bzl", "is_sha256_hex", "parse_platform")

MIRRORS_ENV = "STAGEX_REGISTRY_MIRRORS"

_INDEX_TYPES = [
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
]

_MANIFEST_TYPES = [
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.docker.distribution.manifest.v2+json",
]

def check_digest(where, digest):
    """Fails unless digest is `sha256:` and 64 lowercase hex digits.

    Args:
      where: what to name in the error message (a tag, a file and line).
      digest: the digest to check.

    Returns:
      The 64 hex digits.
    """
    hexpart = digest[len("sha256:"):]
    if not digest.startswith("sha256:") or not is_sha256_hex(hexpart):
        fail("%s: digest %r: expected sha256: and 64 lowercase hex digits" % (where, digest))
    return hexpart

def split_repository(where, repository):
    """Splits `HOST[:PORT]/PATH`, failing when the host is not written out.

    Args:
      where: what to name in the error message.
      repository: the repository, `HOST[:PORT]/NAMESPACE/NAME`.

    Returns:
      (host, path).
    """
    host, sep, path = repository.partition("/")
    if not sep or not path or not ("." in host or ":" in host or host == "localhost"):
        fail("%s: repository %r: expected HOST[:PORT]/NAMESPACE/NAME with the registry host written out" % (where, repository))
    return host, path

def _is_loopback(host):
    h = host
    if h.startswith("["):
        h = h[1:h.find("]")]
    else:
        h = h.partition(":")[0]
    return h == "localhost" or h == "::1" or h.startswith("127.")

def _base_urls(rctx, host):
    """Registry base URLs to try: the mirrors, then the image's registry."""
    raw = rctx.os.environ.get(MIRRORS_ENV, "").replace(",", " ")
    mirrors = [m.rstrip("/") for m in raw.split(" ") if m]
    return mirrors + [("http://" if _is_loopback(host) else "https://") + host]

def _bearer_token(rctx, state):
    """Asks the configured realm for an anonymous pull token.

    A realm that starts with "/" is a path on the registry itself, or on
    each mirror in order, as some registries serve their tokens; the token
    is then only for the one that gave it. An absolute realm's token is for
    the image's own registry.

    Returns:
      (token, base URL the token is for), or (None, None).
    """
    realm = rctx.attr.auth_realm
    query = "?scope=repository:%s:pull" % state["path"]
    if rctx.attr.auth_service:
        query += "&service=" + rctx.attr.auth_service
    if realm.startswith("/"):
        candidates = [(b + realm + query, b) for b in state["bases"]]
    else:
        candidates = [(realm + query, state["bases"][-1])]
    for url, base in candidates:
        res = rctx.download(url = url, output = "token.json", allow_fail = True)
        if not res.success:
            continue
        body = json.decode(rctx.read("token.json"))
        rctx.delete("token.json")
        token = body.get("token") or body.get("access_token")
        if token:
            return token, base
    return None, None

def _fetch(rctx, state, kind, digest, output):
    """Downloads one manifest or blob by digest into output, or fails."""
    hexpart = check_digest(rctx.attr.where, digest)
    urls = ["%s/v2/%s/%s/%s" % (b, state["path"], kind, digest) for b in state["bases"]]
    extra = {}
    if kind == "manifests":
        extra["headers"] = {"Accept": _MANIFEST_TYPES + _INDEX_TYPES}
    res = rctx.download(url = urls, output = output, sha256 = hexpart, allow_fail = True, **extra)
    if not res.success and rctx.attr.auth_realm:
        if state["token"] == None:
            token, base = _bearer_token(rctx, state)
            state["token"] = token or ""
            state["token_base"] = base
        if state["token"]:
            # The token goes to the registry that issued it, and nowhere else.
            headers = dict(extra.get("headers", {}))
            headers["Authorization"] = "Bearer " + state["token"]
            res = rctx.download(
                url = "%s/v2/%s/%s/%s" % (state["token_base"], state["path"], kind, digest),
                output = output,
                sha256 = hexpart,
                allow_fail = True,
                headers = headers,
            )
    if res.success:
        return

    # Say why: nothing there, or other content than the digest names.
    found = []
    for u in urls:
        probe = rctx.download(url = u, output = "probe", allow_fail = True, **extra)
        if probe.success:
            found.append("    %s serves content with sha256 %s" % (u, probe.sha256))
        else:
            found.append("    %s: not found or unreachable" % u)
    if rctx.path("probe").exists:
        rctx.delete("probe")
    fail(("stagex: cannot get %s %s of image %s (%s)\n" +
          "  expected sha256: %s\n" +
          "  tried, in order (the repository cache and --distdir had no copy):\n%s\n" +
          "  A wrong digest in MODULE.bazel, or a registry that does not hold the image, gives this. Offline, serve the\n" +
          "  image from a registry mirror named in --repo_env=%s=http://127.0.0.1:PORT.") % (
        kind[:-1],
        digest,
        rctx.attr.repository,
        rctx.attr.where,
        hexpart,
        "\n".join(found),
        MIRRORS_ENV,
    ))

def _choose(rctx, index_digest, index):
    """The entry of an image index for the requested platform."""
    want = parse_platform(rctx.attr.platform)
    if want == None:
        fail("%s: platform %r: expected os/architecture[/variant]" % (rctx.attr.where, rctx.attr.platform))
    have = []
    for entry in index.get("manifests", []):
        p = entry.get("platform", {})
        name = "%s/%s" % (p.get("os", "?"), p.get("architecture", "?"))
        if p.get("variant"):
            name += "/" + p["variant"]
        have.append(name)
        if p.get("os") == want.os and p.get("architecture") == want.architecture and (not want.variant or p.get("variant") == want.variant):
            return entry
    fail("%s: index %s has no image for platform %s; it has: %s (set platform on the stagex.image tag)" % (
        rctx.attr.where,
        index_digest,
        rctx.attr.platform,
        ", ".join(sorted(have)) or "none",
    ))

def _quote_list(items):
    return "[" + ", ".join(['"%s"' % i for i in items]) + "]"

def _image_repo_impl(rctx):
    host, path = split_repository(rctx.attr.where, rctx.attr.repository)
    state = {"bases": _base_urls(rctx, host), "path": path, "token": None, "token_base": None}
    digest = rctx.attr.digest
    top = "blobs/sha256/" + check_digest(rctx.attr.where, digest)
    _fetch(rctx, state, "manifests", digest, top)
    manifest = json.decode(rctx.read(top))
    platform = ""
    if manifest.get("mediaType") in _INDEX_TYPES or ("manifests" in manifest and "layers" not in manifest):
        entry = _choose(rctx, digest, manifest)
        platform = rctx.attr.platform
        image = "blobs/sha256/" + check_digest(rctx.attr.where, entry["digest"])
        _fetch(rctx, state, "manifests", entry["digest"], image)
        manifest = json.decode(rctx.read(image))
    if "config" not in manifest or "layers" not in manifest:
        fail("%s: %s@%s is not an image manifest (mediaType %r)" % (rctx.attr.where, rctx.attr.repository, digest, manifest.get("mediaType")))
    seen = {}
    for blob in [manifest["config"]] + manifest["layers"]:
        if blob["digest"] in seen:
            continue
        seen[blob["digest"]] = True
        _fetch(rctx, state, "blobs", blob["digest"], "blobs/sha256/" + check_digest(rctx.attr.where, blob["digest"]))
    config = json.decode(rctx.read("blobs/sha256/" + manifest["config"]["digest"][len("sha256:"):]))

    lines = [
        "# Written by the stagex module extension (%s) for %s@%s." % (rctx.attr.where, rctx.attr.repository, digest),
        'load("%s", "stagex_pulled_image")' % rctx.attr.rules_bzl,
        "",
        "stagex_pulled_image(",
        '    name = "%s",' % rctx.attr.target_name,
        '    architecture = "%s",' % config.get("architecture", ""),
        '    blobs = glob(["blobs/sha256/*"]),',
        '    digest = "%s",' % digest,
        '    image_name = "%s",' % rctx.attr.image_name,
        "    keyring = %s," % _quote_list(rctx.attr.keyring),
        '    os = "%s",' % config.get("os", ""),
        '    platform = "%s",' % platform,
    ]
    if rctx.attr.policy:
        lines.append('    policy = "%s",' % rctx.attr.policy)
    lines += [
        '    repository = "%s",' % rctx.attr.repository,
        '    repository_prefix = "%s",' % rctx.attr.repository_prefix,
        '    signatures = "%s",' % rctx.attr.signatures,
        '    visibility = ["//visibility:public"],',
        ")",
        "",
    ]
    if rctx.attr.target_name != "image":
        lines += [
            "alias(",
            '    name = "image",',
            '    actual = ":%s",' % rctx.attr.target_name,
            '    visibility = ["//visibility:public"],',
            ")",
            "",
        ]
    rctx.file("BUILD.bazel", "\n".join(lines))

stagex_image_repository = repository_rule(
    implementation = _image_repo_impl,
    doc = "Downloads an image pinned by digest, and writes a BUILD file with a `stagex_pulled_image` target that imports it.",
    attrs = {
        "auth_realm": attr.string(doc = "The token endpoint, as the `stagex.image` tag gives it."),
        "auth_service": attr.string(doc = "The `service` passed to `auth_realm`."),
        "digest": attr.string(doc = "The pinned manifest or index digest, `sha256:<hex>`.", mandatory = True),
        "image_name": attr.string(doc = "The published name the signatures name.", mandatory = True),
        "keyring": attr.string_list(doc = "Labels of the maintainers' public keys.", mandatory = True),
        "platform": attr.string(doc = "The platform to take from an index, `os/architecture[/variant]`."),
        "policy": attr.string(doc = "Label of the signing policy; empty for stagex-verify's default."),
        "repository": attr.string(doc = "Where the image is published: `HOST[:PORT]/NAMESPACE/NAME`.", mandatory = True),
        "repository_prefix": attr.string(doc = "The repository prefix of the signed identity."),
        "rules_bzl": attr.string(doc = "The .bzl file the BUILD file loads `stagex_pulled_image` from.", mandatory = True),
        "signatures": attr.string(doc = "Label of the lookaside signature store.", mandatory = True),
        "target_name": attr.string(doc = "The name of the image target in the repository.", mandatory = True),
        "where": attr.string(doc = "The tag, for messages."),
    },
    environ = [MIRRORS_ENV],
)
