package main

import (
	"bytes"
	"io"
	"reflect"
	"strings"
	"testing"

	"github.com/stagex/stagex-bazel/tools/internal/imageimport"
)

func TestParse(t *testing.T) {
	digest := "sha256:" + strings.Repeat("0", 64)
	args := []string{"--blobs", "b", "--digest", digest, "--platform", "linux/arm64", "--image-name", "core-x",
		"--keyring", "k1", "--keyring", "k2", "--store", "s", "--policy", "p", "--out", "o", "--digest-out", "d", "--report", "r"}
	want := imageimport.Options{Blobs: "b", Digest: digest, Platform: "linux/arm64", ImageName: "core-x", Prefix: "stagex",
		Keyring: []string{"k1", "k2"}, Store: "s", Policy: "p", Out: "o", DigestOut: "d", Report: "r"}
	if got, err := parse(args, io.Discard); err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("parse(%q) = %+v, %v; want %+v", args, got, err, want)
	}
}

func TestRun(t *testing.T) {
	for _, tc := range []struct {
		args []string
		code int
	}{
		{[]string{"stray"}, 2},
		{[]string{"--no-such-flag"}, 2},
		{[]string{"--blobs", "b", "--digest", "sha256:" + strings.Repeat("0", 64), "--image-name", "core-x", "--out", "o"}, 1}, // no keyring
	} {
		var stderr bytes.Buffer
		if code := run(tc.args, &stderr); code != tc.code || stderr.Len() == 0 {
			t.Errorf("run(%q) = %d with %q; expected %d and a message", tc.args, code, stderr.String(), tc.code)
		}
	}
}
