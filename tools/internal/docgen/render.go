package docgen

import (
	"fmt"
	"strings"
)

// Render returns the Markdown document of one .bzl file's ModuleInfo
// (what starlark_doc_extract writes), titled title: the file's
// docstring, then its rules, macros and functions, providers, module
// extensions and repository rules, each in the order the file gives.
// source names the .bzl file in the document's header.
func Render(title, source string, m *Message) string {
	var b strings.Builder
	fmt.Fprintf(&b, "<!-- Generated from %s by tools/internal/docgen (bazel run //docs:update); do not edit. -->\n\n", source)
	fmt.Fprintf(&b, "# %s\n\n", title)
	if doc := strings.TrimSpace(m.Get("module_docstring")); doc != "" {
		b.WriteString(doc + "\n\n")
	}
	section(&b, "Rules", m.All("rule_info"), renderRule)
	section(&b, "Macros and functions", m.All("func_info"), renderFunc)
	section(&b, "Providers", m.All("provider_info"), renderProvider)
	section(&b, "Module extensions", m.All("module_extension_info"), renderExtension)
	section(&b, "Repository rules", m.All("repository_rule_info"), renderRule)
	return strings.TrimRight(b.String(), "\n") + "\n"
}

func section(b *strings.Builder, title string, items []*Message, render func(*strings.Builder, *Message)) {
	if len(items) == 0 {
		return
	}
	fmt.Fprintf(b, "## %s\n\n", title)
	for _, it := range items {
		render(b, it)
	}
}

// typeNames are the attribute types of stardoc_output.proto's
// AttributeType, as the documents name them.
var typeNames = map[string]string{
	"NAME":              "name",
	"INT":               "integer",
	"LABEL":             "label",
	"STRING":            "string",
	"STRING_LIST":       "list of strings",
	"INT_LIST":          "list of integers",
	"LABEL_LIST":        "list of labels",
	"BOOLEAN":           "boolean",
	"LABEL_STRING_DICT": "dictionary: label to string",
	"STRING_DICT":       "dictionary: string to string",
	"STRING_LIST_DICT":  "dictionary: string to list of strings",
	"OUTPUT":            "output",
	"OUTPUT_LIST":       "list of outputs",
	"LABEL_DICT_UNARY":  "dictionary: string to label",
	"LABEL_LIST_DICT":   "dictionary: label to list of strings",
}

func typeName(t string) string {
	if n, ok := typeNames[t]; ok {
		return n
	}
	return strings.ToLower(strings.ReplaceAll(t, "_", " "))
}

// paragraphs makes a docstring one Markdown list item's text: lines of a
// paragraph joined, paragraphs separated by a blank line and indented.
func paragraphs(doc, indent string) string {
	var paras []string
	for _, p := range strings.Split(strings.TrimSpace(doc), "\n\n") {
		var lines []string
		for _, l := range strings.Split(p, "\n") {
			if l = strings.TrimSpace(l); l != "" {
				lines = append(lines, l)
			}
		}
		if len(lines) > 0 {
			paras = append(paras, strings.Join(lines, " "))
		}
	}
	return strings.Join(paras, "\n\n"+indent)
}

func signature(b *strings.Builder, name string, params []string) {
	fmt.Fprintf(b, "```\n%s(%s)\n```\n\n", name, strings.Join(params, ", "))
}

func docBlock(b *strings.Builder, doc string) {
	if doc = strings.TrimSpace(doc); doc != "" {
		b.WriteString(doc + "\n\n")
	}
}

func attributes(b *strings.Builder, heading string, attrs []*Message) {
	if len(attrs) == 0 {
		return
	}
	fmt.Fprintf(b, "**%s**\n\n", heading)
	for _, a := range attrs {
		fmt.Fprintf(b, "- `%s`: %s", a.Get("name"), typeName(a.Get("type")))
		if a.Bool("mandatory") {
			b.WriteString(", mandatory")
		} else if d := a.Get("default_value"); d != "" {
			fmt.Fprintf(b, ", default `%s`", d)
		}
		if doc := paragraphs(a.Get("doc_string"), "  "); doc != "" {
			b.WriteString(". " + doc)
		}
		b.WriteString("\n")
	}
	b.WriteString("\n")
}

func renderRule(b *strings.Builder, r *Message) {
	name := r.Get("rule_name")
	fmt.Fprintf(b, "### `%s`\n\n", name)
	var params []string
	for _, a := range r.All("attribute") {
		params = append(params, a.Get("name"))
	}
	signature(b, name, params)
	docBlock(b, r.Get("doc_string"))
	attributes(b, "Attributes", r.All("attribute"))
}

func renderFunc(b *strings.Builder, f *Message) {
	name := f.Get("function_name")
	fmt.Fprintf(b, "### `%s`\n\n", name)
	var params []string
	for _, p := range f.All("parameter") {
		s := p.Get("name")
		switch role := p.Get("role"); {
		case strings.HasSuffix(role, "KWARGS"):
			s = "**" + s
		case strings.HasSuffix(role, "VARARGS"):
			s = "*" + s
		case p.Get("default_value") != "":
			s += " = " + p.Get("default_value")
		}
		params = append(params, s)
	}
	signature(b, name, params)
	docBlock(b, f.Get("doc_string"))
	if ps := f.All("parameter"); len(ps) > 0 {
		b.WriteString("**Parameters**\n\n")
		for _, p := range ps {
			fmt.Fprintf(b, "- `%s`", p.Get("name"))
			if p.Bool("mandatory") {
				b.WriteString(" (mandatory)")
			}
			if doc := paragraphs(p.Get("doc_string"), "  "); doc != "" {
				b.WriteString(": " + doc)
			}
			b.WriteString("\n")
		}
		b.WriteString("\n")
	}
	if doc := paragraphs(f.One("return").Get("doc_string"), ""); doc != "" {
		fmt.Fprintf(b, "**Returns** %s\n\n", doc)
	}
}

func renderProvider(b *strings.Builder, p *Message) {
	fmt.Fprintf(b, "### `%s`\n\n", p.Get("provider_name"))
	docBlock(b, p.Get("doc_string"))
	if fs := p.All("field_info"); len(fs) > 0 {
		b.WriteString("**Fields**\n\n")
		for _, f := range fs {
			fmt.Fprintf(b, "- `%s`", f.Get("name"))
			if doc := paragraphs(f.Get("doc_string"), "  "); doc != "" {
				b.WriteString(": " + doc)
			}
			b.WriteString("\n")
		}
		b.WriteString("\n")
	}
}

func renderExtension(b *strings.Builder, e *Message) {
	name := e.Get("extension_name")
	fmt.Fprintf(b, "### `%s`\n\n", name)
	docBlock(b, e.Get("doc_string"))
	for _, tc := range e.All("tag_class") {
		tag := tc.Get("tag_name")
		fmt.Fprintf(b, "#### `%s.%s`\n\n", name, tag)
		var params []string
		for _, a := range tc.All("attribute") {
			params = append(params, a.Get("name"))
		}
		signature(b, name+"."+tag, params)
		docBlock(b, tc.Get("doc_string"))
		attributes(b, "Attributes", tc.All("attribute"))
	}
}
