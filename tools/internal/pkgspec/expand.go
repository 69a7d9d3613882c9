package pkgspec

import (
	"fmt"
	"slices"
	"strings"
)

// VersionForms returns the forms of version v that placeholders and build
// arguments use, keyed by placeholder name: version, version_major,
// version_major_minor, version_dash, version_under, version_strip_suffix.
//
// They are StageX's (src/common.py) to the letter, odd cases included:
// version_strip_suffix cuts at the first "-" (1.2-3-4 -> 1.2), and
// version_major_minor of a version without "." is the text "None", which
// is what Python's str.format and StageX's --build-arg make of the None
// that common.py returns there.
func VersionForms(v string) map[string]string {
	majorMinor := "None"
	if parts := strings.SplitN(v, ".", 3); len(parts) >= 2 {
		majorMinor = parts[0] + "." + parts[1]
	}
	stripped, _, _ := strings.Cut(v, "-")
	major, _, _ := strings.Cut(v, ".")
	return map[string]string{
		"version":              v,
		"version_major":        major,
		"version_major_minor":  majorMinor,
		"version_dash":         strings.ReplaceAll(v, ".", "-"),
		"version_under":        strings.ReplaceAll(v, ".", "_"),
		"version_strip_suffix": stripped,
	}
}

// placeholders lists every placeholder name, in the order error messages
// name them.
var placeholders = []string{
	"version", "version_major", "version_major_minor", "version_dash",
	"version_under", "version_strip_suffix", "format", "file",
}

// segment is a piece of a parsed template: literal text, or a placeholder
// when name is set.
type segment struct {
	text string
	name string
}

// template is a parsed file or mirror string.
type template []segment

// parseTemplate splits s into literal text and placeholders. It rejects
// unknown placeholders, unbalanced braces and, unless allowFile,
// {file}.
func parseTemplate(s string, allowFile bool) (template, error) {
	var t template
	var lit strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '{' && i+1 < len(s) && s[i+1] == '{':
			lit.WriteByte('{')
			i++
		case c == '}' && i+1 < len(s) && s[i+1] == '}':
			lit.WriteByte('}')
			i++
		case c == '}':
			return nil, fmt.Errorf("unmatched %q at offset %d of %q (write }} for a literal brace)", "}", i, s)
		case c == '{':
			end := strings.IndexByte(s[i+1:], '}')
			if end < 0 {
				return nil, fmt.Errorf("unclosed %q at offset %d of %q (write {{ for a literal brace)", "{", i, s)
			}
			name := s[i+1 : i+1+end]
			if !slices.Contains(placeholders, name) {
				return nil, fmt.Errorf("unknown placeholder {%s} in %q; known: {%s}", name, s, strings.Join(placeholders, "}, {"))
			}
			if name == "file" && !allowFile {
				return nil, fmt.Errorf("{file} in %q: {file} may only be used in mirrors", s)
			}
			if lit.Len() > 0 {
				t = append(t, segment{text: lit.String()})
				lit.Reset()
			}
			t = append(t, segment{name: name})
			i += 1 + end
		default:
			lit.WriteByte(c)
		}
	}
	if lit.Len() > 0 {
		t = append(t, segment{text: lit.String()})
	}
	return t, nil
}

// usesVersion reports whether t has a placeholder computed from the version.
func (t template) usesVersion() bool {
	for _, s := range t {
		if strings.HasPrefix(s.name, "version") {
			return true
		}
	}
	return false
}

// uses reports whether t has the placeholder name.
func (t template) uses(name string) bool {
	return slices.ContainsFunc(t, func(s segment) bool { return s.name == name })
}

// expand fills t's placeholders from vars; every placeholder t uses must
// be in vars.
func (t template) expand(vars map[string]string) string {
	var b strings.Builder
	for _, s := range t {
		if s.name == "" {
			b.WriteString(s.text)
		} else {
			b.WriteString(vars[s.name])
		}
	}
	return b.String()
}
