package stagex

import (
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"testing"

	"github.com/bazelbuild/buildtools/build"
)

// factsBzl is the Starlark side of this package's tables, relative to this
// package's directory (in the source tree, and in the runfiles of
// `bazel test`, which has it as data).
var factsBzl = filepath.Join("..", "..", "..", "rules", "private", "facts.bzl")

// TestStarlarkAgrees reads rules/private/facts.bzl and checks that each of
// its tables says what the Go one says, and that it has no table the Go
// side lacks: a change to either side alone fails here.
func TestStarlarkAgrees(t *testing.T) {
	data, err := os.ReadFile(factsBzl)
	if err != nil {
		t.Fatalf("cannot read the Starlark facts: %v", err)
	}
	consts, err := starlarkConstants(factsBzl, data)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"TIERS":            Tiers,
		"BOOTSTRAP_STAGES": BootstrapStages,
		// A dict of each platform's CPU constraint, which is Bazel's alone:
		// its keys, in order, are compared.
		"PLATFORMS":         Platforms,
		"DEFAULT_PLATFORM":  DefaultPlatform,
		"SOURCE_DATE_EPOCH": int64(SourceDateEpoch),
		"REPOSITORY_PREFIX": RepositoryPrefix,
	}
	for name, w := range want {
		c, ok := consts[name]
		if !ok {
			t.Errorf("%s: no %s; the Go side has %v", factsBzl, name, w)
			continue
		}
		got := c.value
		if c.keys != nil {
			got = c.keys
		}
		if !reflect.DeepEqual(got, w) {
			t.Errorf("%s:%d: %s = %#v, but package stagex says %#v", factsBzl, c.line, name, got, w)
		}
	}
	for name, c := range consts {
		if _, ok := want[name]; !ok {
			t.Errorf("%s:%d: %s has no counterpart in package stagex, and this test does not compare it", factsBzl, c.line, name)
		}
	}
}

// constant is the value of one top-level NAME = literal of a .bzl file.
type constant struct {
	line  int
	value any      // string, int64, []string or map[string]string
	keys  []string // the keys of a dict, in order
}

// starlarkConstants returns the top-level assignments of public names
// (not starting with "_") in a .bzl file, whose values must be literals:
// a string, an integer, a list of strings or a dict of strings.
func starlarkConstants(path string, data []byte) (map[string]constant, error) {
	f, err := build.ParseBzl(path, data)
	if err != nil {
		return nil, err
	}
	out := map[string]constant{}
	for _, stmt := range f.Stmt {
		as, ok := stmt.(*build.AssignExpr)
		if !ok {
			continue
		}
		id, ok := as.LHS.(*build.Ident)
		if !ok || id.Name[0] == '_' {
			continue
		}
		line, _ := as.Span()
		c := constant{line: line.Line}
		switch rhs := as.RHS.(type) {
		case *build.StringExpr:
			c.value = rhs.Value
		case *build.LiteralExpr:
			n, err := strconv.ParseInt(rhs.Token, 10, 64)
			if err != nil {
				return nil, fmt.Errorf("%s:%d: %s = %s: expected a decimal integer", path, c.line, id.Name, rhs.Token)
			}
			c.value = n
		case *build.ListExpr:
			list := []string{}
			for _, e := range rhs.List {
				s, ok := e.(*build.StringExpr)
				if !ok {
					return nil, fmt.Errorf("%s:%d: %s: expected a list of strings", path, c.line, id.Name)
				}
				list = append(list, s.Value)
			}
			c.value = list
		case *build.DictExpr:
			m := map[string]string{}
			for _, kv := range rhs.List {
				k, ok1 := kv.Key.(*build.StringExpr)
				v, ok2 := kv.Value.(*build.StringExpr)
				if !ok1 || !ok2 {
					return nil, fmt.Errorf("%s:%d: %s: expected a dict of strings to strings", path, c.line, id.Name)
				}
				m[k.Value] = v.Value
				c.keys = append(c.keys, k.Value)
			}
			c.value = m
		default:
			return nil, fmt.Errorf("%s:%d: %s: expected a literal string, integer, list or dict, so that Go can read it", path, c.line, id.Name)
		}
		out[id.Name] = c
	}
	return out, nil
}
