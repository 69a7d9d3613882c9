package cli

import (
	"fmt"
	"os"
	"sort"
	"strings"
)

// Strings is a repeatable flag: each use appends its value, in order.
type Strings []string

func (s *Strings) String() string {
	if s == nil {
		return ""
	}
	return strings.Join(*s, ",")
}

// Set appends v.
func (s *Strings) Set(v string) error { *s = append(*s, v); return nil }

// Map is a repeatable KEY=VALUE flag. The value may be empty and may hold
// '='; the key may not be empty, and a key given twice is an error.
type Map struct {
	// M receives the pairs; NewMap makes it.
	M map[string]string
	// Form names the pair in errors, e.g. "KEY=VALUE" or "NAME=DIR".
	Form string
	// NonEmpty refuses an empty value.
	NonEmpty bool
}

// NewMap returns a Map filling m, whose pairs errors describe as form.
func NewMap(m map[string]string, form string) *Map { return &Map{M: m, Form: form} }

func (f *Map) String() string {
	if f == nil || len(f.M) == 0 {
		return ""
	}
	keys := make([]string, 0, len(f.M))
	for k := range f.M {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	pairs := make([]string, len(keys))
	for i, k := range keys {
		pairs[i] = k + "=" + f.M[k]
	}
	return strings.Join(pairs, ",")
}

// Set adds one KEY=VALUE pair. Its errors name neither the flag nor the
// value: the flag package puts both before them
// (invalid value "x" for flag -image: expected NAME=DIR).
func (f *Map) Set(v string) error {
	form := f.Form
	if form == "" {
		form = "KEY=VALUE"
	}
	k, val, ok := strings.Cut(v, "=")
	if !ok || k == "" || (f.NonEmpty && val == "") {
		return fmt.Errorf("expected %s", form)
	}
	if _, dup := f.M[k]; dup {
		return fmt.Errorf("%s given twice", k)
	}
	f.M[k] = val
	return nil
}

// ExpandParams replaces each "@FILE" argument by the lines of FILE, one
// argument a line: the "multiline" parameter file format Bazel writes for
// an action's Args (a line may hold spaces; there is no quoting). A final
// line break is optional, and an empty file adds no arguments.
func ExpandParams(args []string) ([]string, error) {
	var out []string
	for _, a := range args {
		if !strings.HasPrefix(a, "@") {
			out = append(out, a)
			continue
		}
		data, err := os.ReadFile(a[1:])
		if err != nil {
			return nil, fmt.Errorf("reading parameter file: %w", err)
		}
		text := strings.TrimSuffix(string(data), "\n")
		if text != "" {
			out = append(out, strings.Split(text, "\n")...)
		}
	}
	return out, nil
}
