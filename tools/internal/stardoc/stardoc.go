// Package stardoc renders the API documents of the StageX rules with
// Stardoc's own renderer: the Java program in Stardoc's renderer_prebuilt.jar
// turns the binary proto that Bazel's native starlark_doc_extract writes
// into Markdown, through Stardoc's Velocity templates.
//
// The renderer and java are programs of the machine, not of the build (no
// Bazel module brings them here): Find locates them and says what is
// missing. Debian's bazel-stardoc package installs the jar and its
// templates under DefaultJar's directory.
package stardoc

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// DefaultJar is where Debian's bazel-stardoc package installs Stardoc's
// prebuilt renderer.
const DefaultJar = "/usr/share/bazel/tools/stardoc/stardoc/renderer_prebuilt.jar"

// Environment variables Find reads.
const (
	// EnvJar names the renderer jar (default DefaultJar).
	EnvJar = "STAGEX_STARDOC_JAR"
	// EnvTemplates names the directory of Stardoc's Markdown templates
	// (default: templates/markdown_tables next to the jar, as Stardoc
	// ships them).
	EnvTemplates = "STAGEX_STARDOC_TEMPLATES"
	// EnvJavaHome is the usual JAVA_HOME: its bin/java runs the jar;
	// without it, java is looked up on PATH.
	EnvJavaHome = "JAVA_HOME"
)

// templates names Stardoc's Markdown templates by the renderer flag that
// takes each. The header is not among them: every document brings its own
// (see Doc).
var templates = []struct{ flag, file string }{
	{"aspect_template", "aspect.vm"},
	{"func_template", "func.vm"},
	{"macro_template", "macro.vm"},
	{"provider_template", "provider.vm"},
	{"rule_template", "rule.vm"},
	{"repository_rule_template", "repository_rule.vm"},
	{"module_extension_template", "module_extension.vm"},
}

// Renderer runs Stardoc's renderer.
type Renderer struct {
	Java      string // the java program
	Jar       string // Stardoc's renderer jar
	Templates string // the directory of Stardoc's Markdown templates
}

// Find locates the renderer from the environment (getenv) and java on PATH
// (lookPath) when JAVA_HOME is not set. The error says what is missing and
// how to provide it.
func Find(getenv func(string) string, lookPath func(string) (string, error)) (Renderer, error) {
	r := Renderer{Jar: getenv(EnvJar), Templates: getenv(EnvTemplates)}
	if r.Jar == "" {
		r.Jar = DefaultJar
	}
	if err := isFile(r.Jar); err != nil {
		return r, fmt.Errorf("Stardoc's renderer %s: %v (install Debian's bazel-stardoc, or name the jar in $%s)", r.Jar, err, EnvJar)
	}
	if r.Templates == "" {
		r.Templates = filepath.Join(filepath.Dir(r.Jar), "templates", "markdown_tables")
	}
	for _, t := range templates {
		if err := isFile(filepath.Join(r.Templates, t.file)); err != nil {
			return r, fmt.Errorf("Stardoc's Markdown templates %s: %v (name their directory in $%s)", r.Templates, err, EnvTemplates)
		}
	}
	if home := getenv(EnvJavaHome); home != "" {
		r.Java = filepath.Join(home, "bin", "java")
		if err := isFile(r.Java); err != nil {
			return r, fmt.Errorf("java from $%s, %s: %v", EnvJavaHome, r.Java, err)
		}
		return r, nil
	}
	java, err := lookPath("java")
	if err != nil {
		return r, fmt.Errorf("no java to run Stardoc's renderer (install a JRE, e.g. Debian's default-jre-headless, or set $%s): %v", EnvJavaHome, err)
	}
	r.Java = java
	return r, nil
}

// isFile returns an error unless path is a regular file (or a link to one).
func isFile(path string) error {
	fi, err := os.Stat(path)
	if err != nil {
		if os.IsNotExist(err) {
			return fmt.Errorf("not found")
		}
		return err
	}
	if !fi.Mode().IsRegular() {
		return fmt.Errorf("not a regular file")
	}
	return nil
}

// Args returns the renderer's command line (after `java -jar JAR`) that
// renders proto, starlark_doc_extract's binary proto, into out, with the
// header template header and Stardoc's other templates: the arguments
// Stardoc's own stardoc rule passes, without a table of contents or a
// footer, which it leaves out by default too.
func (r Renderer) Args(proto, header, out string) []string {
	args := []string{
		"--input=" + proto,
		"--output=" + out,
		"--header_template=" + header,
	}
	for _, t := range templates {
		args = append(args, "--"+t.flag+"="+filepath.Join(r.Templates, t.file))
	}
	return args
}

// Render renders proto into out (see Args). A failure shows what the
// renderer printed.
func (r Renderer) Render(proto, header, out string) error {
	cmd := exec.Command(r.Java, append([]string{"-jar", r.Jar}, r.Args(proto, header, out)...)...)
	var printed bytes.Buffer
	cmd.Stdout = &printed
	cmd.Stderr = &printed
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("Stardoc's renderer (%s -jar %s) failed to render %s: %v\n%s", r.Java, r.Jar, proto, err, strings.TrimSpace(printed.String()))
	}
	if err := isFile(out); err != nil {
		return fmt.Errorf("Stardoc's renderer wrote no %s: %v", out, err)
	}
	return nil
}
