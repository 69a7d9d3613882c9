package translate

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	"github.com/stagex/stagex-bazel/tools/internal/diag"
)

// FindCycle reports a cycle in the package graph (pkgs is keyed by package
// directory) as an error at the Containerfile line that closes it, or nil
// when the graph is acyclic. Edges to packages missing from pkgs are
// ignored.
func FindCycle(pkgs map[string]*Package) error {
	_, err := Cycle(pkgs)
	return err
}

// Cycle is FindCycle that also returns the packages of the cycle found.
func Cycle(pkgs map[string]*Package) ([]string, error) {
	var members []string
	const (
		unvisited = iota
		active
		done
	)
	state := map[string]int{}
	var stack []string
	var visit func(key string) error
	visit = func(key string) error {
		state[key] = active
		stack = append(stack, key)
		for _, d := range pkgs[key].Deps {
			if _, ok := pkgs[d.Key]; !ok {
				continue
			}
			switch state[d.Key] {
			case active:
				i := len(stack) - 1
				for stack[i] != d.Key {
					i--
				}
				cycle := append(append([]string{}, stack[i:]...), d.Key)
				members = stack[i:]
				return diag.Errorf(d.File, d.Line, "packages depend on each other in a cycle: %s", strings.Join(cycle, " -> "))
			case unvisited:
				if err := visit(d.Key); err != nil {
					return err
				}
			}
		}
		stack = stack[:len(stack)-1]
		state[key] = done
		return nil
	}
	keys := make([]string, 0, len(pkgs))
	for k := range pkgs {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if state[k] == unvisited {
			if err := visit(k); err != nil {
				return append([]string(nil), members...), err
			}
		}
	}
	return nil, nil
}

// Index is the sources index: package directory (relative to the
// repository root) -> its source files.
type Index map[string][]Source

// ParseIndex reads an index written by Format; empty data is an empty index.
func ParseIndex(name string, data []byte) (Index, error) {
	idx := Index{}
	if len(strings.TrimSpace(string(data))) == 0 {
		return idx, nil
	}
	if err := json.Unmarshal(data, &idx); err != nil {
		return nil, diag.Errorf(name, 0, "not a sources index: %v", err)
	}
	return idx, nil
}

// Update sets the entries of the given packages, and drops entries of
// package directories for which exists says false.
func (idx Index) Update(pkgs []*Package, exists func(key string) bool) {
	for key := range idx {
		if !exists(key) {
			delete(idx, key)
		}
	}
	for _, p := range pkgs {
		if len(p.Sources) == 0 {
			delete(idx, p.Rel)
			continue
		}
		srcs := append([]Source(nil), p.Sources...)
		for i := range srcs {
			if srcs[i].URLs == nil {
				srcs[i].URLs = []string{}
			}
		}
		sort.Slice(srcs, func(i, j int) bool { return srcs[i].File < srcs[j].File })
		idx[p.Rel] = srcs
	}
}

// Format renders the index deterministically (sorted keys, two-space
// indent, trailing newline).
func (idx Index) Format() []byte {
	data, err := json.MarshalIndent(idx, "", "  ")
	if err != nil {
		panic(fmt.Sprintf("encoding a sources index cannot fail: %v", err))
	}
	return append(data, '\n')
}
