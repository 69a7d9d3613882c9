//go:build tools

// Package tools pins, in go.mod, the libraries the helpers under tools/ are
// built on, before every one of them has a user. The build tag keeps this
// file out of every build.
package tools

import (
	_ "github.com/BurntSushi/toml"
	_ "github.com/ProtonMail/go-crypto/openpgp"
	_ "github.com/bazelbuild/bazel-gazelle/language"
	_ "github.com/google/go-containerregistry/pkg/v1/layout"
	_ "github.com/klauspost/pgzip"
	_ "github.com/moby/buildkit/frontend/dockerfile/parser"
	_ "github.com/moby/buildkit/frontend/dockerfile/shell"
	_ "github.com/u-root/u-root/pkg/core/cat"
	_ "golang.org/x/sys/unix"
	_ "mvdan.cc/sh/v3/interp"
)
