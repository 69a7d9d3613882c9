// Package signing implements StageX's multi-party signing and threshold
// verification of container image digests.
//
// Trust model. Every StageX image is reproducible, so each maintainer
// rebuilds the images on their own machine and, only when a built digest
// equals the one pinned in digests/<tier>.txt, signs the pair (identity
// "stagex/<tier>-<name>", manifest digest) with their own OpenPGP key
// (Sign; `bazel run //:sign`, command stagex-sign). Signatures
// use the containers "simple signing" format and sit in the lookaside layout
// that podman and skopeo read
// (signatures/stagex/<tier>-<name>@sha256=<hex>/signature-<n>). No single
// maintainer can vouch for an image alone: a verifier accepts an image only
// when at least a threshold (default 2, configurable per stage in
// keys/policy.toml) of DISTINCT maintainer primary keys, taken from the
// maintainers' keyring (keys/*.asc) and allowed by the policy, made valid
// signatures over that exact digest and identity. Signatures by subkeys
// count for their primary key, several signatures by one key count once,
// and signatures by unknown, expired or revoked keys count for nothing. So
// do signatures made with a weak hash (MD5, SHA-1, RIPEMD-160) or a weak
// key (DSA, ElGamal, RSA under 2048 bits), dated before their key, and
// files that hold more than one signature or data after it; the report
// names the reason.
//
// A user checks images with
//
//	stagex-verify --keyring keys --policy keys/policy.toml --store signatures \
//	    --digests digests/core.txt
//
// (or --image core-busybox --digest sha256:<hex>, or --layout NAME=DIR for a
// local build); it prints which maintainers signed and which are missing,
// and exits non-zero unless the threshold is met. In Bazel,
// stagex_signature_test (rules/defs.bzl) runs the same check as a test.
// Each signature file is also a standard containers signature, so `skopeo
// standalone-verify` and podman's signedBy policy can check any single
// maintainer's signature.
package signing
