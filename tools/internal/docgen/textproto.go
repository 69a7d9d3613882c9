// Package docgen renders the API documentation of the StageX rules as
// Markdown from what Bazel's native starlark_doc_extract rule writes (the
// text form of its ModuleInfo message), so that docs/*.md is generated
// without Stardoc, which cannot be had on these machines. docs/BUILD.bazel
// runs it and checks that the committed documents are current.
package docgen

import (
	"fmt"
	"strconv"
	"strings"
)

// Message is a protocol buffer message in text form: its fields in order.
type Message struct {
	Fields []Field
}

// Field is one field: a scalar (Value, strings unquoted) or a message.
type Field struct {
	Name  string
	Value string
	Msg   *Message
}

// Get returns the value of the last scalar field called name, or "".
func (m *Message) Get(name string) string {
	v := ""
	for _, f := range m.Fields {
		if f.Name == name && f.Msg == nil {
			v = f.Value
		}
	}
	return v
}

// Bool reports whether the scalar field called name is true.
func (m *Message) Bool(name string) bool { return m.Get(name) == "true" }

// All returns the message fields called name, in order.
func (m *Message) All(name string) []*Message {
	var out []*Message
	for _, f := range m.Fields {
		if f.Name == name && f.Msg != nil {
			out = append(out, f.Msg)
		}
	}
	return out
}

// One returns the last message field called name, or an empty message.
func (m *Message) One(name string) *Message {
	all := m.All(name)
	if len(all) == 0 {
		return &Message{}
	}
	return all[len(all)-1]
}

// ParseText parses the text format of a protocol buffer message, as far
// as starlark_doc_extract writes it: fields `name: scalar` and
// `name { ... }`, strings with C escapes (adjacent strings join), enum
// identifiers, numbers and booleans, and # comments. file names the input
// in errors, which give the line.
func ParseText(file, text string) (*Message, error) {
	p := &parser{file: file, src: text, line: 1}
	m, err := p.message(false)
	if err != nil {
		return nil, err
	}
	return m, nil
}

type parser struct {
	file string
	src  string
	pos  int
	line int
}

func (p *parser) errorf(format string, args ...any) error {
	return fmt.Errorf("%s:%d: %s", p.file, p.line, fmt.Sprintf(format, args...))
}

// skip passes over white space and comments.
func (p *parser) skip() {
	for p.pos < len(p.src) {
		switch c := p.src[p.pos]; {
		case c == '\n':
			p.line++
			p.pos++
		case c == ' ' || c == '\t' || c == '\r':
			p.pos++
		case c == '#':
			for p.pos < len(p.src) && p.src[p.pos] != '\n' {
				p.pos++
			}
		default:
			return
		}
	}
}

func isIdent(c byte) bool {
	return c == '_' || c == '.' || c == '-' || c == '+' || '0' <= c && c <= '9' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z'
}

func (p *parser) ident() string {
	start := p.pos
	for p.pos < len(p.src) && isIdent(p.src[p.pos]) {
		p.pos++
	}
	return p.src[start:p.pos]
}

// message parses fields up to the end of input or, nested, a closing brace.
func (p *parser) message(nested bool) (*Message, error) {
	m := &Message{}
	for {
		p.skip()
		if p.pos >= len(p.src) {
			if nested {
				return nil, p.errorf("unexpected end of input; expected }")
			}
			return m, nil
		}
		if p.src[p.pos] == '}' {
			if !nested {
				return nil, p.errorf("unexpected }; expected a field name")
			}
			p.pos++
			return m, nil
		}
		name := p.ident()
		if name == "" {
			return nil, p.errorf("unexpected %q; expected a field name", p.src[p.pos])
		}
		p.skip()
		colon := p.pos < len(p.src) && p.src[p.pos] == ':'
		if colon {
			p.pos++
			p.skip()
		}
		if p.pos < len(p.src) && p.src[p.pos] == '{' {
			p.pos++
			sub, err := p.message(true)
			if err != nil {
				return nil, err
			}
			m.Fields = append(m.Fields, Field{Name: name, Msg: sub})
			continue
		}
		if !colon {
			return nil, p.errorf("field %s: expected : or {", name)
		}
		v, err := p.scalar()
		if err != nil {
			return nil, fmt.Errorf("%w (field %s)", err, name)
		}
		m.Fields = append(m.Fields, Field{Name: name, Value: v})
	}
}

func (p *parser) scalar() (string, error) {
	if p.pos >= len(p.src) {
		return "", p.errorf("unexpected end of input; expected a value")
	}
	if c := p.src[p.pos]; c != '"' && c != '\'' {
		v := p.ident()
		if v == "" {
			return "", p.errorf("unexpected %q; expected a value", c)
		}
		return v, nil
	}
	var b strings.Builder
	for p.pos < len(p.src) && (p.src[p.pos] == '"' || p.src[p.pos] == '\'') {
		s, err := p.quoted()
		if err != nil {
			return "", err
		}
		b.WriteString(s)
		p.skip()
	}
	return b.String(), nil
}

// quoted reads one quoted string and returns it unescaped.
func (p *parser) quoted() (string, error) {
	quote := p.src[p.pos]
	p.pos++
	var b []byte
	for {
		if p.pos >= len(p.src) || p.src[p.pos] == '\n' {
			return "", p.errorf("unterminated string")
		}
		c := p.src[p.pos]
		p.pos++
		if c == quote {
			return string(b), nil
		}
		if c != '\\' {
			b = append(b, c)
			continue
		}
		if p.pos >= len(p.src) {
			return "", p.errorf("unterminated string")
		}
		e := p.src[p.pos]
		p.pos++
		switch e {
		case 'n':
			b = append(b, '\n')
		case 't':
			b = append(b, '\t')
		case 'r':
			b = append(b, '\r')
		case '\\', '\'', '"', '?':
			b = append(b, e)
		case 'x':
			end := p.pos
			for end < len(p.src) && end < p.pos+2 && strings.IndexByte("0123456789abcdefABCDEF", p.src[end]) >= 0 {
				end++
			}
			n, err := strconv.ParseUint(p.src[p.pos:end], 16, 8)
			if err != nil {
				return "", p.errorf("bad escape \\x%s", p.src[p.pos:end])
			}
			b = append(b, byte(n))
			p.pos = end
		case '0', '1', '2', '3', '4', '5', '6', '7':
			end := p.pos
			for end < len(p.src) && end < p.pos+2 && '0' <= p.src[end] && p.src[end] <= '7' {
				end++
			}
			n, err := strconv.ParseUint(string(e)+p.src[p.pos:end], 8, 8)
			if err != nil {
				return "", p.errorf("bad escape \\%c%s", e, p.src[p.pos:end])
			}
			b = append(b, byte(n))
			p.pos = end
		default:
			return "", p.errorf("unknown escape \\%c", e)
		}
	}
}
