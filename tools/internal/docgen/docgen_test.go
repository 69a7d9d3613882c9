package docgen

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

const sample = `# written by starlark_doc_extract
rule_info {
  rule_name: "r"
  doc_string: "Does r.\n\nTwo \'paragraphs\' \"here\"."
  attribute {
    name: "name"
    doc_string: "A unique name for this target."
    type: NAME
    mandatory: true
  }
  attribute {
    name: "deps"
    doc_string: "What r reads,\none per line."
    type: LABEL_LIST
    default_value: "[]"
  }
}
provider_info {
  provider_name: "RInfo"
  doc_string: "What r gives."
  field_info {
    name: "out"
    doc_string: "File: " "the output."
  }
}
func_info {
  function_name: "m"
  parameter {
    name: "name"
    doc_string: "the name."
    mandatory: true
  }
  parameter {
    name: "size"
    default_value: "1"
  }
  parameter {
    name: "kwargs"
    role: PARAMETER_ROLE_KWARGS
  }
  return {
    doc_string: "nothing."
  }
}
module_extension_info {
  extension_name: "ext"
  doc_string: "Makes repositories."
  tag_class {
    tag_name: "one"
    attribute {
      name: "url"
      type: STRING
      mandatory: true
    }
  }
}
module_docstring: "The module.\n"
file: "//x:defs.bzl"
`

func TestParseText(t *testing.T) {
	m, err := ParseText("sample", sample)
	if err != nil {
		t.Fatal(err)
	}
	r := m.One("rule_info")
	if got, want := r.Get("doc_string"), "Does r.\n\nTwo 'paragraphs' \"here\"."; got != want {
		t.Errorf("doc_string = %q, want %q", got, want)
	}
	var attrs []string
	for _, a := range r.All("attribute") {
		attrs = append(attrs, a.Get("name")+":"+a.Get("type"))
	}
	if want := []string{"name:NAME", "deps:LABEL_LIST"}; !reflect.DeepEqual(attrs, want) {
		t.Errorf("attributes = %q, want %q", attrs, want)
	}
	if got := m.One("provider_info").One("field_info").Get("doc_string"); got != "File: the output." {
		t.Errorf("adjacent strings = %q, want them joined", got)
	}
	if !r.All("attribute")[0].Bool("mandatory") || r.All("attribute")[1].Bool("mandatory") {
		t.Errorf("mandatory read wrongly")
	}
	if got := m.Get("file"); got != "//x:defs.bzl" {
		t.Errorf("file = %q", got)
	}
}

func TestParseTextEscapes(t *testing.T) {
	m, err := ParseText("e", `s: "caf\303\251 \x41\\\t"`)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := m.Get("s"), "café A\\\t"; got != want {
		t.Errorf("s = %q, want %q", got, want)
	}
}

func TestParseTextErrors(t *testing.T) {
	tests := []struct{ text, want string }{
		{"a {\n  b: 1\n", "e:3: unexpected end of input; expected }"},
		{"a: \"open\n", "e:1: unterminated string"},
		{"}\n", "e:1: unexpected }"},
		{"a\n\nb: 1", "e:3: field a: expected : or {"},
		{`a: "\q"`, `e:1: unknown escape \q`},
		{"a: ,", `e:1: unexpected ','; expected a value`},
	}
	for _, tc := range tests {
		_, err := ParseText("e", tc.text)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("ParseText(%q): error %v, want %q", tc.text, err, tc.want)
		}
	}
}

func TestRender(t *testing.T) {
	m, err := ParseText("sample", sample)
	if err != nil {
		t.Fatal(err)
	}
	got := Render("Title", "//x:defs.bzl", m)
	for _, want := range []string{
		"<!-- Generated from //x:defs.bzl by tools/internal/docgen",
		"# Title\n\nThe module.\n\n## Rules\n\n### `r`\n\n```\nr(name, deps)\n```\n\nDoes r.\n\nTwo 'paragraphs' \"here\".\n\n",
		"- `name`: name, mandatory. A unique name for this target.\n",
		"- `deps`: list of labels, default `[]`. What r reads, one per line.\n",
		"## Macros and functions\n\n### `m`\n\n```\nm(name, size = 1, **kwargs)\n```\n",
		"- `name` (mandatory): the name.\n- `size`\n- `kwargs`\n",
		"**Returns** nothing.\n",
		"## Providers\n\n### `RInfo`\n\nWhat r gives.\n\n**Fields**\n\n- `out`: File: the output.\n",
		"## Module extensions\n\n### `ext`\n\nMakes repositories.\n\n#### `ext.one`\n\n```\next.one(url)\n```\n\n**Attributes**\n\n- `url`: string, mandatory\n",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("Render lacks %q; got:\n%s", want, got)
		}
	}
	if strings.Contains(got, "## Repository rules") {
		t.Errorf("Render has an empty section:\n%s", got)
	}
}

func TestMainCommand(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "x.textproto")
	if err := os.WriteFile(in, []byte(sample), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := Main([]string{"--doc", in + "=docs/x.md=X"}, dir); err == nil || !strings.Contains(err.Error(), "no such file or directory") {
		t.Errorf("writing into a missing directory: error %v", err)
	}
	os.MkdirAll(filepath.Join(dir, "docs"), 0o755)
	if err := Main([]string{"--doc", in + "=docs/x.md=X"}, dir); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(filepath.Join(dir, "docs", "x.md"))
	if err != nil || !strings.HasPrefix(string(got), "<!-- Generated from //x:defs.bzl") {
		t.Errorf("docs/x.md = %q, %v", got, err)
	}
	bad := filepath.Join(dir, "bad.textproto")
	os.WriteFile(bad, []byte("a {"), 0o644)
	out := filepath.Join(dir, "first.md")
	err = Main([]string{"--doc", in + "=" + out + "=X", "--doc", bad + "=" + filepath.Join(dir, "second.md") + "=Y"}, "")
	if err == nil || !strings.Contains(err.Error(), bad+":1:") {
		t.Errorf("bad input: error %v, want one naming %s:1", err, bad)
	}
	if _, statErr := os.Stat(out); statErr == nil {
		t.Errorf("%s was written although a later input failed", out)
	}
	for _, args := range [][]string{{}, {"--doc", "a=b"}, {"x"}} {
		if err := Main(args, ""); err == nil {
			t.Errorf("Main(%q) succeeded", args)
		}
	}
}
