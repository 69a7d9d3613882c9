package main

import (
	"bytes"
	"io"
	"reflect"
	"strings"
	"testing"

	"github.com/stagex/stagex-bazel/tools/internal/signing"
)

func TestParse(t *testing.T) {
	tests := []struct {
		name  string
		args  []string
		want  signing.VerifyImagesOptions
		quiet bool
	}{
		{"defaults", nil, signing.VerifyImagesOptions{Prefix: "stagex"}, false},
		{"every flag", []string{"--keyring", "k1", "--keyring", "k2", "--policy", "p", "--store", "s", "--digests", "a.txt", "--digests", "b.txt",
			"--layout", "core-a=A", "--image", "core-b", "--digest", "sha256:00", "--repository-prefix", "x", "-q"},
			signing.VerifyImagesOptions{Keyrings: []string{"k1", "k2"}, Policy: "p", Store: "s", PinFiles: []string{"a.txt", "b.txt"},
				Layouts: []string{"core-a=A"}, Image: "core-b", Digest: "sha256:00", Prefix: "x"}, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, quiet, err := parse(tc.args, io.Discard)
			if err != nil || !reflect.DeepEqual(got, tc.want) || quiet != tc.quiet {
				t.Errorf("parse(%q) = %+v, quiet %v, %v; want %+v, quiet %v", tc.args, got, quiet, err, tc.want, tc.quiet)
			}
		})
	}
}

func TestRun(t *testing.T) {
	tests := []struct {
		args []string
		code int
		want string // in stderr
	}{
		{[]string{"-h"}, 0, "usage: stagex-verify"},
		{[]string{"--nope"}, 2, "flag provided but not defined"},
		{[]string{"--store", "s", "--digests", "d"}, 2, "stagex-verify: no --keyring"},
		{[]string{"--keyring", "nokeys", "--store", "s", "--digests", "missing.txt"}, 1, "stagex-verify: open missing.txt"},
	}
	for _, tc := range tests {
		var stdout, stderr bytes.Buffer
		if code := run(tc.args, &stdout, &stderr); code != tc.code || !strings.Contains(stderr.String(), tc.want) {
			t.Errorf("run(%q) = %d, stderr %q; want %d and %q", tc.args, code, stderr.String(), tc.code, tc.want)
		}
	}
}
