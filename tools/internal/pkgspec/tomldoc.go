package pkgspec

import (
	"bytes"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/BurntSushi/toml"
)

// node is one key of a decoded TOML document with the line it is on.
// Tables have children; every other value is in val as the TOML library
// decodes it into an empty interface (string, int64, []any, ...).
type node struct {
	key      string
	line     int
	table    bool
	children []*node // tables only, in file order
	val      any
}

// child returns the child called key, or nil.
func (n *node) child(key string) *node {
	for _, c := range n.children {
		if c.key == key {
			return c
		}
	}
	return nil
}

// errProbe is what probe answers every value with; see lineOf.
var errProbe = errors.New("position probe")

// probe is decoded into only to make the TOML library report the position
// of a key: an Unmarshaler's error comes back as a toml.ParseError carrying
// the position the parser recorded for the key being decoded. MetaData
// keeps key positions but has no other way to hand them out.
type probe struct{}

func (probe) UnmarshalTOML(any) error { return errProbe }

// decoder walks a document keeping the metadata that knows where keys are.
type decoder struct {
	md   *toml.MetaData
	data []byte
}

// parseDoc decodes data into a tree of nodes. A syntax error comes back as
// the library's toml.ParseError.
func parseDoc(data []byte) (*node, error) {
	var top map[string]toml.Primitive
	md, err := toml.Decode(string(data), &top)
	if err != nil {
		return nil, err
	}
	d := &decoder{md: &md, data: data}
	root := &node{table: true}
	for key, prim := range top {
		n, err := d.walk(key, []string{key}, prim)
		if err != nil {
			return nil, err
		}
		root.children = append(root.children, n)
	}
	sortNodes(root.children)
	return root, nil
}

// walk decodes the value at path.
func (d *decoder) walk(key string, path []string, prim toml.Primitive) (*node, error) {
	n := &node{key: key, line: d.lineOf(prim)}
	if err := d.md.PrimitiveDecode(prim, &n.val); err != nil {
		return nil, err
	}
	// Tables are told by their value: MetaData.Type knows nothing of the
	// tables that [a.b] and a.b = 1 create implicitly.
	if _, ok := n.val.(map[string]any); !ok {
		return n, nil
	}
	n.table, n.val = true, nil
	var m map[string]toml.Primitive
	if err := d.md.PrimitiveDecode(prim, &m); err != nil {
		return nil, err
	}
	for k, p := range m {
		c, err := d.walk(k, append(path[:len(path):len(path)], k), p)
		if err != nil {
			return nil, err
		}
		n.children = append(n.children, c)
	}
	sortNodes(n.children)
	// A table made implicitly by a dotted key ("a.b = 1") has no position
	// of its own; its first key stands for it.
	if n.line == 0 && len(n.children) > 0 {
		n.line = n.children[0].line
	}
	return n, nil
}

// lineOf returns the 1-based line of the key prim was decoded from, or 0
// when the parser recorded none.
func (d *decoder) lineOf(prim toml.Primitive) int {
	var pe toml.ParseError
	if err := d.md.PrimitiveDecode(prim, &probe{}); !errors.As(err, &pe) {
		return 0
	}
	if pe.Position.Line == 0 || pe.Position.Start < 0 || pe.Position.Start > len(d.data) {
		return 0
	}
	// Count lines up to where the value starts: the parser's own line is
	// where the value ends, which for a multi-line string is too late.
	return 1 + bytes.Count(d.data[:pe.Position.Start], []byte("\n"))
}

// sortNodes orders nodes as they appear in the file; nodes without a
// line, and ties, go by key so the order never depends on map iteration.
func sortNodes(ns []*node) {
	sort.Slice(ns, func(i, j int) bool {
		if ns[i].line != ns[j].line {
			return ns[i].line < ns[j].line
		}
		return ns[i].key < ns[j].key
	})
}

// tomlType names the TOML type of a decoded value for error messages.
func tomlType(v any) string {
	switch v.(type) {
	case string:
		return "string"
	case int64:
		return "integer"
	case float64:
		return "float"
	case bool:
		return "boolean"
	case []any, []map[string]any:
		return "array"
	case map[string]any:
		return "table"
	case time.Time:
		return "datetime"
	case nil:
		return "nothing"
	default:
		return fmt.Sprintf("%T", v)
	}
}
