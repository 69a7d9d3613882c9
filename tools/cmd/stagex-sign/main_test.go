package main

import (
	"bytes"
	"io"
	"reflect"
	"slices"
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
			if got, build, err := parse(tc.args, io.Discard); err != nil || build != nil || !reflect.DeepEqual(got, tc.want) {
				t.Errorf("parse(%q) = %+v, %+v, %v; want %+v and no --build", tc.args, got, build, err, tc.want)
			}
		})
	}
}

func TestParseBuild(t *testing.T) {
	t.Setenv("BUILD_WORKSPACE_DIRECTORY", "/ws")
	tests := []struct {
		name     string
		args     []string
		want     signing.SignBuildsOptions
		patterns []string
		wantErr  string
	}{
		{"default patterns", []string{"--build", "--key", "k"}, signing.SignBuildsOptions{KeyFile: "k", PassphraseFD: -1, Prefix: "stagex"}, nil, ""},
		{"patterns after the flags", []string{"--build", "--key", "k", "--passphrase-fd", "0", "//packages/core/...", "@tree//packages/..."},
			signing.SignBuildsOptions{KeyFile: "k", PassphraseFD: 0, Prefix: "stagex"}, []string{"//packages/core/...", "@tree//packages/..."}, ""},
		{"flag after a pattern", []string{"--build", "//packages/...", "--key", "k"}, signing.SignBuildsOptions{}, nil, `target pattern "--key"`},
		{"pattern without --build", []string{"--key", "k", "//packages/..."}, signing.SignBuildsOptions{}, nil, `unexpected argument "//packages/..."`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, build, err := parse(tc.args, io.Discard)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("parse(%q) = %v; want an error saying %q", tc.args, err, tc.wantErr)
				}
				return
			}
			if err != nil || build == nil || !reflect.DeepEqual(got, tc.want) || build.Workspace != "/ws" || !slices.Equal(build.Patterns, tc.patterns) {
				t.Errorf("parse(%q) = %+v, %+v, %v; want %+v, workspace /ws, patterns %q", tc.args, got, build, err, tc.want, tc.patterns)
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
		{[]string{"--build", "--key", "k", "--root", "r"}, 2, "stagex-sign: --build finds the trees and layouts itself: leave out --root"},
	}
	for _, tc := range tests {
		var stdout, stderr bytes.Buffer
		if code := run(tc.args, &stdout, &stderr); code != tc.code || !strings.Contains(stderr.String(), tc.want) {
			t.Errorf("run(%q) = %d, stderr %q; want %d and %q", tc.args, code, stderr.String(), tc.code, tc.want)
		}
	}
}
