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
		name string
		args []string
		want signing.SignBuildsOptions
	}{
		{"defaults", nil, signing.SignBuildsOptions{PassphraseFD: -1, Prefix: "stagex"}},
		{"every flag", []string{"--key", "k", "--passphrase-file", "p", "--passphrase-fd", "3", "--digests", "a.txt", "--digests", "b.txt",
			"--root", "r", "--layout", "core-a=A", "--layout", "core-b=B", "--built", "built.txt", "--store", "s", "--repository-prefix", "x", "--timestamp", "5"},
			signing.SignBuildsOptions{KeyFile: "k", PassphraseFile: "p", PassphraseFD: 3, PinFiles: []string{"a.txt", "b.txt"}, Root: "r",
				Layouts: []string{"core-a=A", "core-b=B"}, Built: "built.txt", Store: "s", Prefix: "x", Timestamp: "5"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got, err := parse(tc.args, io.Discard); err != nil || !reflect.DeepEqual(got, tc.want) {
				t.Errorf("parse(%q) = %+v, %v; want %+v", tc.args, got, err, tc.want)
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
		{[]string{"-h"}, 0, "usage: stagex-sign"},
		{[]string{"--nope"}, 2, "flag provided but not defined"},
		{[]string{"--key", "k", "extra"}, 2, `stagex-sign: unexpected argument "extra"` + "\nrun stagex-sign -h for usage"},
		{[]string{"--digests", "d", "--built", "d", "--store", "s"}, 2, "stagex-sign: --key is required"},
		{[]string{"--key", "missing.key", "--digests", "missing.txt", "--built", "missing.txt", "--store", "s"}, 1, "missing.txt"},
	}
	for _, tc := range tests {
		var stdout, stderr bytes.Buffer
		if code := run(tc.args, &stdout, &stderr); code != tc.code || !strings.Contains(stderr.String(), tc.want) {
			t.Errorf("run(%q) = %d, stderr %q; want %d and %q", tc.args, code, stderr.String(), tc.code, tc.want)
		}
	}
}
