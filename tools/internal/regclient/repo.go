package regclient

import (
	"fmt"
	"net"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/stagex/stagex-bazel/tools/internal/stagex"
)

// Repository is a repository of a registry: Host "127.0.0.1:5000" (with
// the port, if any) and Path "stagex/core-box".
type Repository struct {
	Host, Path string
}

// String returns "HOST/PATH".
func (r Repository) String() string { return r.Host + "/" + r.Path }

// ParseRepository parses "HOST[:PORT]/PATH". The registry host must be
// written out, so that a bare "stagex/core-box" is not silently sent to
// some default registry.
func ParseRepository(s string) (Repository, error) {
	host, rest, ok := strings.Cut(s, "/")
	if !ok || rest == "" || !(strings.ContainsAny(host, ".:") || host == "localhost") {
		return Repository{}, fmt.Errorf("repository %q: expected HOST/NAMESPACE/NAME with the registry host written out (for example 127.0.0.1:5000/stagex/core-box)", s)
	}
	r, err := name.NewRepository(s, name.StrictValidation)
	if err != nil {
		return Repository{}, fmt.Errorf("repository %q: %v", s, err)
	}
	return Repository{Host: r.RegistryStr(), Path: r.RepositoryStr()}, nil
}

// ParseDigestReference parses "HOST[:PORT]/PATH@sha256:<hex>", an image
// named by its digest.
func ParseDigestReference(s string) (Repository, v1.Hash, error) {
	repo, dg, ok := strings.Cut(s, "@")
	if !ok {
		return Repository{}, v1.Hash{}, fmt.Errorf("image %q: expected HOST/PATH@sha256:<hex>, an image named by its digest", s)
	}
	r, err := ParseRepository(repo)
	if err != nil {
		return Repository{}, v1.Hash{}, err
	}
	h, err := ParseDigest(dg)
	if err != nil {
		return Repository{}, v1.Hash{}, fmt.Errorf("image %q: %v", s, err)
	}
	return r, h, nil
}

// ParseDigest parses "sha256:<64 hex digits>".
func ParseDigest(s string) (v1.Hash, error) {
	hex, err := stagex.ParseDigest(s)
	if err != nil {
		return v1.Hash{}, err
	}
	return v1.Hash{Algorithm: "sha256", Hex: hex}, nil
}

// ValidTag reports whether t is a valid tag: up to 128 of [A-Za-z0-9_.-],
// not starting with '.' or '-'.
func ValidTag(t string) bool {
	if t == "" || len(t) > 128 || t[0] == '.' || t[0] == '-' {
		return false
	}
	for _, c := range t {
		ok := c == '_' || c == '.' || c == '-' || (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
		if !ok {
			return false
		}
	}
	return true
}

// isLoopback reports whether host (with or without a port) names the
// local machine.
func isLoopback(host string) bool {
	h := bareHost(host)
	if h == "localhost" {
		return true
	}
	ip := net.ParseIP(h)
	return ip != nil && ip.IsLoopback()
}
