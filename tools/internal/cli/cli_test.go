package cli

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestFlags(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		strs    []string
		pairs   map[string]string
		wantErr string // "" means success; else part of the error
	}{
		{"none", nil, nil, map[string]string{}, ""},
		{"repeated strings keep order", []string{"-s", "b", "-s", "a", "-s", "b"}, []string{"b", "a", "b"}, map[string]string{}, ""},
		{"pairs", []string{"-kv", "A=1", "--kv", "B=x=y", "-kv", "C="}, nil, map[string]string{"A": "1", "B": "x=y", "C": ""}, ""},
		{"pair without =", []string{"-kv", "novalue"}, nil, nil, `invalid value "novalue" for flag -kv: expected KEY=VALUE`},
		{"pair without key", []string{"-kv", "=1"}, nil, nil, `invalid value "=1" for flag -kv: expected KEY=VALUE`},
		{"key twice", []string{"-kv", "A=1", "-kv", "A=2"}, nil, nil, `invalid value "A=2" for flag -kv: A given twice`},
		{"empty dir refused", []string{"-dir", "core-make="}, nil, nil, `invalid value "core-make=" for flag -dir: expected NAME=DIR`},
		{"stray argument", []string{"-s", "a", "extra"}, nil, nil, `unexpected argument "extra"`},
		{"unknown flag", []string{"-nope"}, nil, nil, "flag provided but not defined: -nope"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var stderr bytes.Buffer
			fs := NewFlagSet("tool", "usage: tool [-s S ...]", &stderr)
			var strs Strings
			pairs, dirs := map[string]string{}, map[string]string{}
			fs.Var(&strs, "s", "a string (repeatable)")
			fs.Var(NewMap(pairs, ""), "kv", "KEY=VALUE (repeatable)")
			fs.Var(&Map{M: dirs, Form: "NAME=DIR", NonEmpty: true}, "dir", "NAME=DIR (repeatable)")
			err := Parse(fs, tc.args)
			if tc.wantErr != "" {
				var ue *UsageError
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) || !errors.As(err, &ue) {
					t.Fatalf("Parse(%q) = %v; want a usage error containing %q", tc.args, err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("Parse(%q) = %v", tc.args, err)
			}
			if !reflect.DeepEqual([]string(strs), tc.strs) || !reflect.DeepEqual(pairs, tc.pairs) {
				t.Errorf("Parse(%q): strings %q, pairs %q; want %q, %q", tc.args, strs, pairs, tc.strs, tc.pairs)
			}
		})
	}
}

func TestParseArgs(t *testing.T) {
	tests := []struct {
		name     string
		args     []string
		wantArgs []string
		wantS    string
		wantErr  string // "" means success; else part of the error
	}{
		{"none", nil, nil, "", ""},
		{"flags then arguments", []string{"-s", "x", "//a/...", "@b//c"}, []string{"//a/...", "@b//c"}, "x", ""},
		{"a flag after an argument is an argument", []string{"//a/...", "-s", "x"}, []string{"//a/...", "-s", "x"}, "", ""},
		{"double dash", []string{"-s", "x", "--", "-s"}, []string{"-s"}, "x", ""},
		{"unknown flag", []string{"-nope", "//a"}, nil, "", "flag provided but not defined: -nope"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			fs := NewFlagSet("tool", "", io.Discard)
			s := fs.String("s", "", "a string")
			got, err := ParseArgs(fs, tc.args)
			if tc.wantErr != "" {
				var ue *UsageError
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) || !errors.As(err, &ue) {
					t.Fatalf("ParseArgs(%q) = %v; want a usage error containing %q", tc.args, err, tc.wantErr)
				}
				return
			}
			if err != nil || !reflect.DeepEqual(got, tc.wantArgs) || *s != tc.wantS {
				t.Errorf("ParseArgs(%q) = %q, %v, -s %q; want %q, -s %q", tc.args, got, err, *s, tc.wantArgs, tc.wantS)
			}
		})
	}
	fs := NewFlagSet("tool", "", io.Discard)
	if _, err := ParseArgs(fs, []string{"-h"}); Exit("tool", err, io.Discard) != ExitOK {
		t.Errorf("ParseArgs(-h) = %v; want an error that exits 0", err)
	}
}

func TestExit(t *testing.T) {
	var stderr bytes.Buffer
	fs := NewFlagSet("tool", "usage: tool [-x]", &stderr)
	fs.Bool("x", false, "")
	helpErr := Parse(fs, []string{"-h"})
	if !strings.Contains(stderr.String(), "usage: tool [-x]") {
		t.Errorf("-h printed %q; want the usage", stderr.String())
	}
	flagErr := Parse(fs, []string{"-y"})

	tests := []struct {
		name       string
		err        error
		code       int
		wantStderr string
	}{
		{"success", nil, ExitOK, ""},
		{"help", helpErr, ExitOK, ""},
		{"usage", Usagef("--out is required"), ExitUsage, "tool: --out is required\nrun tool -h for usage\n"},
		{"wrapped usage", fmt.Errorf("reading: %w", Usagef("bad")), ExitUsage, "tool: reading: bad\nrun tool -h for usage\n"},
		// The flag package has printed the message and the usage already.
		{"flag error", flagErr, ExitUsage, ""},
		{"failure", errors.New("disk full"), ExitFailed, "tool: disk full\n"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			if code := Exit("tool", tc.err, &buf); code != tc.code || buf.String() != tc.wantStderr {
				t.Errorf("Exit(%v) = %d, stderr %q; want %d, %q", tc.err, code, buf.String(), tc.code, tc.wantStderr)
			}
		})
	}
}

func TestExpandParams(t *testing.T) {
	dir := t.TempDir()
	write := func(name, text string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		return "@" + p
	}
	full := write("full", "--stage\npackage\n--build-arg\nV=1 2\n")
	noFinalBreak := write("nobreak", "--out\no.oci")
	empty := write("empty", "")
	blankLine := write("blank", "--label\n\n")
	tests := []struct {
		name string
		args []string
		want []string
	}{
		{"no files", []string{"--a", "b"}, []string{"--a", "b"}},
		{"lines in place, spaces kept", []string{"--x", full, "--y"}, []string{"--x", "--stage", "package", "--build-arg", "V=1 2", "--y"}},
		{"no final line break", []string{noFinalBreak}, []string{"--out", "o.oci"}},
		{"empty file", []string{"--a", empty}, []string{"--a"}},
		{"empty argument kept", []string{blankLine}, []string{"--label", ""}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ExpandParams(tc.args)
			if err != nil || !reflect.DeepEqual(got, tc.want) {
				t.Errorf("ExpandParams(%q) = %q, %v; want %q", tc.args, got, err, tc.want)
			}
		})
	}
	missing := filepath.Join(dir, "missing")
	if _, err := ExpandParams([]string{"@" + missing}); err == nil || !strings.Contains(err.Error(), missing) {
		t.Errorf("ExpandParams of a missing file = %v; want an error naming it", err)
	}
}
