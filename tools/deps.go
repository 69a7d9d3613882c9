//go:build tools

// Package tools pins, in go.mod, the libraries the helpers under tools/ are
// built on, before every one of them has a user. The build tag keeps this
// file out of every build.
package tools

import (
	_ "github.com/BurntSushi/toml"
	_ "github.com/ProtonMail/go-crypto/openpgp"
	_ "github.com/google/go-containerregistry/pkg/v1/layout"
	_ "github.com/moby/buildkit/frontend/dockerfile/parser"
)
