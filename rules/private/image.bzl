"""Published images pinned by digest: the `stagex` module extension.

In a consumer's MODULE.bazel:

    stagex = use_extension("@stagex//rules:defs.bzl", "stagex")
    stagex.image(
        name = "core_busybox",
        repository = "<registry>/stagex/core-busybox",
        digest = "sha256:<hex>",   # or pins = "@stagex//digests:core.txt"
    )
    use_repo(stagex, "core_busybox")

`@core_busybox` is then an image usable as the `base` (or in `images`) of a
`stagex_stage`, and, as a plain OCI image layout directory, by any rule that
takes one (rules_oci's `oci_image(base = ...)`, for example).

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

load(":facts.bzl", "DEFAULT_PLATFORM", "REPOSITORY_PREFIX", "is_sha256_hex", "parse_platform")
load(":providers.bzl", "StagexImageInfo")

_MIRRORS_ENV = "STAGEX_REGISTRY_MIRRORS"

_INDEX_TYPES = [
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
]

_MANIFEST_TYPES = [
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.docker.distribution.manifest.v2+json",
]

def _check_digest(where, digest):
    """Fails unless digest is `sha256:` and 64 lowercase hex digits."""
    hexpart = digest[len("sha256:"):]
    if not digest.startswith("sha256:") or not is_sha256_hex(hexpart):
        fail("%s: digest %r: expected sha256: and 64 lowercase hex digits" % (where, digest))
    return hexpart

def _split_repository(where, repository):
    """Returns (host, path) of `HOST[:PORT]/PATH`."""
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
    raw = rctx.os.environ.get(_MIRRORS_ENV, "").replace(",", " ")
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
    hexpart = _check_digest(rctx.attr.where, digest)
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
        _MIRRORS_ENV,
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
    host, path = _split_repository(rctx.attr.where, rctx.attr.repository)
    state = {"bases": _base_urls(rctx, host), "path": path, "token": None, "token_base": None}
    digest = rctx.attr.digest
    top = "blobs/sha256/" + _check_digest(rctx.attr.where, digest)
    _fetch(rctx, state, "manifests", digest, top)
    manifest = json.decode(rctx.read(top))
    platform = ""
    if manifest.get("mediaType") in _INDEX_TYPES or ("manifests" in manifest and "layers" not in manifest):
        entry = _choose(rctx, digest, manifest)
        platform = rctx.attr.platform
        image = "blobs/sha256/" + _check_digest(rctx.attr.where, entry["digest"])
        _fetch(rctx, state, "manifests", entry["digest"], image)
        manifest = json.decode(rctx.read(image))
    if "config" not in manifest or "layers" not in manifest:
        fail("%s: %s@%s is not an image manifest (mediaType %r)" % (rctx.attr.where, rctx.attr.repository, digest, manifest.get("mediaType")))
    seen = {}
    for blob in [manifest["config"]] + manifest["layers"]:
        if blob["digest"] in seen:
            continue
        seen[blob["digest"]] = True
        _fetch(rctx, state, "blobs", blob["digest"], "blobs/sha256/" + _check_digest(rctx.attr.where, blob["digest"]))
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

_image_repo = repository_rule(
    implementation = _image_repo_impl,
    doc = "Downloads an image pinned by digest; see the module extension's documentation.",
    attrs = {
        "auth_realm": attr.string(),
        "auth_service": attr.string(),
        "digest": attr.string(mandatory = True),
        "image_name": attr.string(mandatory = True),
        "keyring": attr.string_list(mandatory = True),
        "platform": attr.string(),
        "policy": attr.string(),
        "repository": attr.string(mandatory = True),
        "repository_prefix": attr.string(),
        "rules_bzl": attr.string(mandatory = True),
        "signatures": attr.string(mandatory = True),
        "target_name": attr.string(mandatory = True),
        "where": attr.string(doc = "The tag, for messages."),
    },
    environ = [_MIRRORS_ENV],
)

def _pinned_digest(mctx, tag, where, image_name):
    """The digest a tag pins: its digest, or its image's line in its pin file."""
    if not tag.pins:
        if not tag.digest:
            fail("%s: give the image's digest (digest = \"sha256:...\") or a pin file (pins = \"@stagex//digests:<tier>.txt\")" % where)
        return tag.digest
    found = None
    for n, line in enumerate(mctx.read(tag.pins).splitlines()):
        fields = [f for f in line.split(" ") if f]
        if len(fields) == 2 and fields[1] == image_name:
            found = "sha256:" + fields[0]
            _check_digest("%s:%d" % (tag.pins, n + 1), found)
    if not found:
        fail("%s: %s pins no image named %s" % (where, tag.pins, image_name))
    if tag.digest and tag.digest != found:
        fail("%s: digest %s differs from the pin of %s in %s (%s)" % (where, tag.digest, image_name, tag.pins, found))
    return found

def _stagex_extension_impl(mctx):
    names = {}
    for mod in mctx.modules:
        for tag in mod.tags.image:
            where = "stagex.image(name = %r) in module %s" % (tag.name, mod.name)
            if tag.name in names:
                fail("%s: the name is taken already by %s" % (where, names[tag.name]))
            names[tag.name] = where
            _split_repository(where, tag.repository)
            image_name = tag.image_name or tag.repository.split("/")[-1]
            digest = _pinned_digest(mctx, tag, where, image_name)
            _check_digest(where, digest)
            _image_repo(
                name = tag.name,
                auth_realm = tag.auth_realm,
                auth_service = tag.auth_service,
                digest = digest,
                image_name = image_name,
                keyring = [str(k) for k in tag.keyring],
                platform = tag.platform,
                policy = str(tag.policy) if tag.policy else "",
                repository = tag.repository,
                repository_prefix = tag.repository_prefix,
                rules_bzl = str(Label("//rules/private:image.bzl")),
                signatures = str(tag.signatures),
                target_name = tag.name,
                where = where,
            )
    if hasattr(mctx, "extension_metadata"):
        return mctx.extension_metadata(reproducible = True)
    return None

_image_tag = tag_class(
    doc = "One published image, pinned by digest; `@<name>` becomes the image.",
    attrs = {
        "auth_realm": attr.string(
            doc = "Token endpoint of a registry that wants a bearer token even for anonymous pulls (the `realm` of its `WWW-Authenticate` answer); a path such as `/token` means that path on the registry, or on each mirror.",
        ),
        "auth_service": attr.string(
            doc = "The `service` the registry's `WWW-Authenticate` answer names, passed to `auth_realm`.",
        ),
        "digest": attr.string(
            doc = "The manifest or image index digest, `sha256:<hex>`: what the maintainers signed. Give this or `pins`.",
        ),
        "image_name": attr.string(
            doc = "The published name the signatures name (`core-busybox`); defaults to the last part of `repository`.",
        ),
        "keyring": attr.label_list(
            doc = "The maintainers' public keys (`.asc` files).",
            default = [Label("//keys")],
            allow_files = [".asc"],
        ),
        "name": attr.string(
            doc = "The repository name: `@<name>` is the image.",
            mandatory = True,
        ),
        "pins": attr.label(
            doc = "A pin file (`@stagex//digests:<tier>.txt`) to take the digest from, by `image_name`.",
            allow_single_file = [".txt"],
        ),
        "platform": attr.string(
            doc = "The platform to take when the digest names a multi-platform index.",
            default = DEFAULT_PLATFORM,
        ),
        "policy": attr.label(
            doc = "The signing policy; none means stagex-verify's default (2 distinct keys of the keyring).",
            default = Label("//keys:policy.toml"),
            allow_single_file = [".toml"],
        ),
        "repository": attr.string(
            doc = "Where the image is published: `HOST[:PORT]/NAMESPACE/NAME`.",
            mandatory = True,
        ),
        "repository_prefix": attr.string(
            doc = "The repository prefix of the signed identity, `<prefix>/<image_name>`.",
            default = REPOSITORY_PREFIX,
        ),
        "signatures": attr.label(
            doc = "The lookaside signature store: a filegroup of its signature files declared in the store's root package, or one directory.",
            default = Label("//signatures"),
        ),
    },
)

stagex = module_extension(
    implementation = _stagex_extension_impl,
    doc = "Published StageX images pinned by digest, checked against the maintainers' signatures before use.",
    tag_classes = {"image": _image_tag},
)

def _store_root(ctx):
    """The exec path of the signature store's root directory."""
    files = ctx.files.signatures
    if len(files) == 1 and files[0].is_directory:
        return files[0].path
    label = ctx.attr.signatures.label
    parts = [p for p in [label.workspace_root, label.package] if p]
    return "/".join(parts) if parts else "."

def _pulled_image_impl(ctx):
    if not ctx.files.blobs:
        fail("%s: no blobs" % ctx.label)
    blob_dir = ctx.files.blobs[0].dirname
    if not blob_dir.endswith("/sha256"):
        fail("%s: blobs must sit in a directory named sha256, found %s" % (ctx.label, blob_dir))
    layout = ctx.actions.declare_directory(ctx.label.name + ".oci")
    digest = ctx.actions.declare_file(ctx.label.name + ".digest")
    report = ctx.actions.declare_file(ctx.label.name + ".signatures.txt")

    args = ctx.actions.args()
    args.add("--blobs", blob_dir[:-len("/sha256")])
    args.add("--digest", ctx.attr.digest)
    if ctx.attr.platform:
        args.add("--platform", ctx.attr.platform)
    args.add("--image-name", ctx.attr.image_name)
    args.add("--repository-prefix", ctx.attr.repository_prefix)
    args.add_all(ctx.files.keyring, before_each = "--keyring")
    args.add("--store", _store_root(ctx))
    if ctx.file.policy:
        args.add("--policy", ctx.file.policy)
    args.add("--out", layout.path)
    args.add("--digest-out", digest)
    args.add("--report", report)

    ctx.actions.run(
        executable = ctx.executable._import,
        arguments = [args],
        inputs = ctx.files.blobs + ctx.files.keyring + ctx.files.signatures + ([ctx.file.policy] if ctx.file.policy else []),
        outputs = [layout, digest, report],
        mnemonic = "StagexImport",
        progress_message = "Checking the signatures of %s and importing it" % ctx.attr.repository,
    )
    return [
        DefaultInfo(files = depset([layout])),
        StagexImageInfo(
            layout = layout,
            digest = digest,
            os = ctx.attr.os,
            architecture = ctx.attr.architecture,
            image_name = ctx.attr.image_name,
        ),
        OutputGroupInfo(digest = depset([digest]), signatures = depset([report])),
    ]

stagex_pulled_image = rule(
    implementation = _pulled_image_impl,
    doc = """A published image downloaded by the `stagex` module extension, usable once its signatures check out.

The target's output is the image as an OCI image layout directory, with one
image (for an index, the one for `platform`); it provides StagexImageInfo, so
it can be the `base` of a `stagex_stage`. The `digest` output group holds the
image's manifest digest, the `signatures` output group stagex-verify's report.
The module extension writes these targets; they are not meant to be written
by hand.""",
    attrs = {
        "architecture": attr.string(doc = "The image's architecture, from its config."),
        "blobs": attr.label_list(
            doc = "The downloaded blobs, all in one `.../sha256/` directory, named by their hex digests.",
            allow_files = True,
            mandatory = True,
        ),
        "digest": attr.string(doc = "The pinned digest the maintainers signed (a manifest or index).", mandatory = True),
        "image_name": attr.string(doc = "The published name the signatures name.", mandatory = True),
        "keyring": attr.label_list(doc = "The maintainers' public keys.", allow_files = [".asc"], mandatory = True),
        "os": attr.string(doc = "The image's operating system, from its config."),
        "platform": attr.string(doc = "The platform taken from an index; empty for a single image."),
        "policy": attr.label(doc = "The signing policy file.", allow_single_file = [".toml"]),
        "repository": attr.string(doc = "Where the image was published, for messages."),
        "repository_prefix": attr.string(doc = "The repository prefix of the signed identity.", default = REPOSITORY_PREFIX),
        "signatures": attr.label(doc = "The lookaside signature store.", allow_files = True, mandatory = True),
        "_import": attr.label(
            default = "//tools/cmd/stagex-import",
            executable = True,
            cfg = "exec",
        ),
    },
)
