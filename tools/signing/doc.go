// Package signing implements StageX's multi-party signing and threshold
// verification of container image digests.
//
// Trust model. Every StageX image is reproducible, so each maintainer
// rebuilds the images on their own machine and, only when a built digest
// equals the one pinned in digests/<stage>.txt, signs the pair (identity
// "stagex/<stage>-<name>", manifest digest) with their own OpenPGP key
// (Sign, command stagex-sign). Signatures use the containers "simple
// signing" format and sit in the lookaside layout that podman and skopeo
// read (<store>/stagex/<stage>-<name>@sha256=<hex>/signature-<n>). No single
// maintainer can vouch for an image alone: a verifier accepts an image only
// when at least a threshold (default 2, configurable per stage) of DISTINCT
// maintainer primary keys, taken from the maintainers' keyring and allowed
// by the policy file, made valid signatures over that exact digest and
// identity. Signatures by subkeys count for their primary key, several
// signatures by one key count once, and signatures by unknown, expired or
// revoked keys count for nothing.
//
// A user checks an image by fetching the keyring, the policy and the
// signature store and running
//
//	stagex-verify --keyring keys/ --policy policy.toml --store signatures/ \
//	    --image core-busybox --digest sha256:<hex>
//
// (or --digests digests/core.txt for a whole stage); it prints which
// maintainers signed and which are missing, and exits non-zero unless the
// threshold is met. Each signature file is also a standard containers
// signature, so `skopeo standalone-verify` and podman's signedBy policy can
// check any single maintainer's signature.
package signing
