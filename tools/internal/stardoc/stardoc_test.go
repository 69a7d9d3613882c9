package stardoc

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// write creates path (and its directory) holding text.
func write(t *testing.T, path, text string, mode os.FileMode) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(text), mode); err != nil {
		t.Fatal(err)
	}
}

// stardocDir lays out a jar and its templates as Stardoc ships them, and
// returns the jar's path.
func stardocDir(t *testing.T, dir string) string {
	jar := filepath.Join(dir, "stardoc", "renderer_prebuilt.jar")
	write(t, jar, "jar", 0o644)
	for _, tmpl := range templates {
		write(t, filepath.Join(dir, "stardoc", "templates", "markdown_tables", tmpl.file), "", 0o644)
	}
	return jar
}

func TestFind(t *testing.T) {
	dir := t.TempDir()
	jar := stardocDir(t, dir)
	shipped := filepath.Join(dir, "stardoc", "templates", "markdown_tables")
	lone := filepath.Join(dir, "lone", "renderer.jar") // a jar without templates beside it
	write(t, lone, "jar", 0o644)
	javaHome := filepath.Join(dir, "jdk")
	write(t, filepath.Join(javaHome, "bin", "java"), "", 0o755)
	onPath := func(string) (string, error) { return "/usr/bin/java", nil }
	noJava := func(string) (string, error) {
		return "", errors.New(`exec: "java": executable file not found in $PATH`)
	}

	tests := []struct {
		name     string
		env      map[string]string
		lookPath func(string) (string, error)
		want     Renderer
		wantErr  string
	}{
		{
			name:     "jar from the environment, templates beside it, java on PATH",
			env:      map[string]string{EnvJar: jar},
			lookPath: onPath,
			want:     Renderer{Java: "/usr/bin/java", Jar: jar, Templates: shipped},
		},
		{
			name:     "java from JAVA_HOME",
			env:      map[string]string{EnvJar: jar, EnvJavaHome: javaHome},
			lookPath: noJava,
			want:     Renderer{Java: filepath.Join(javaHome, "bin", "java"), Jar: jar, Templates: shipped},
		},
		{
			name:     "templates from the environment",
			env:      map[string]string{EnvJar: lone, EnvTemplates: shipped},
			lookPath: onPath,
			want:     Renderer{Java: "/usr/bin/java", Jar: lone, Templates: shipped},
		},
		{
			name:     "missing jar",
			env:      map[string]string{EnvJar: filepath.Join(dir, "none.jar")},
			lookPath: onPath,
			wantErr:  "none.jar: not found (install Debian's bazel-stardoc, or name the jar in $STAGEX_STARDOC_JAR)",
		},
		{
			name:     "jar is a directory",
			env:      map[string]string{EnvJar: dir},
			lookPath: onPath,
			wantErr:  "not a regular file",
		},
		{
			name:     "no templates beside the jar",
			env:      map[string]string{EnvJar: lone},
			lookPath: onPath,
			wantErr:  "Markdown templates " + filepath.Join(dir, "lone", "templates", "markdown_tables") + ": not found (name their directory in $STAGEX_STARDOC_TEMPLATES)",
		},
		{
			name:     "JAVA_HOME without java",
			env:      map[string]string{EnvJar: jar, EnvJavaHome: dir},
			lookPath: onPath,
			wantErr:  "java from $JAVA_HOME, " + filepath.Join(dir, "bin", "java") + ": not found",
		},
		{
			name:     "no java",
			env:      map[string]string{EnvJar: jar},
			lookPath: noJava,
			wantErr:  "no java to run Stardoc's renderer",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Find(func(k string) string { return tc.env[k] }, tc.lookPath)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("Find = %+v, %v; want an error containing %q", got, err, tc.wantErr)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("Find = %+v, %v; want %+v", got, err, tc.want)
			}
		})
	}
}

func TestFindDefaultJar(t *testing.T) {
	_, err := Find(func(string) string { return "" }, func(string) (string, error) { return "/usr/bin/java", nil })
	if _, statErr := os.Stat(DefaultJar); statErr != nil {
		if err == nil || !strings.Contains(err.Error(), DefaultJar) {
			t.Fatalf("Find without %s, %s absent: %v; want an error naming it", EnvJar, DefaultJar, err)
		}
	} else if err != nil && !strings.Contains(err.Error(), "templates") {
		t.Fatalf("Find without %s, %s present: %v", EnvJar, DefaultJar, err)
	}
}

func TestArgs(t *testing.T) {
	r := Renderer{Java: "java", Jar: "r.jar", Templates: "/t"}
	got := r.Args("in.binaryproto", "head.vm", "out.md")
	want := []string{
		"--input=in.binaryproto",
		"--output=out.md",
		"--header_template=head.vm",
		"--aspect_template=/t/aspect.vm",
		"--func_template=/t/func.vm",
		"--macro_template=/t/macro.vm",
		"--provider_template=/t/provider.vm",
		"--rule_template=/t/rule.vm",
		"--repository_rule_template=/t/repository_rule.vm",
		"--module_extension_template=/t/module_extension.vm",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Args =\n%q\nwant\n%q", got, want)
	}
}

// fakeJava is a java that checks it is asked to run the jar, then writes
// what it was given instead of rendering; an input whose name holds "bad"
// fails as the renderer does on a proto it cannot read, and one holding
// "silent" writes nothing.
const fakeJava = `#!/bin/sh
[ "$1" = -jar ] || { echo "expected -jar, got $1" >&2; exit 2; }
jar=$2; shift 2
for a; do
  case $a in
    --input=*) in=${a#--input=} ;;
    --output=*) out=${a#--output=} ;;
    --header_template=*) header=${a#--header_template=} ;;
  esac
done
case $in in
  *bad*) echo "Input file is not a valid ModuleInfo proto." >&2; exit 1 ;;
  *silent*) exit 0 ;;
esac
printf '%s rendered %s with %s\n' "$jar" "$in" "$header" >"$out"
`

// fakeRenderer returns a Renderer that runs fakeJava.
func fakeRenderer(t *testing.T) Renderer {
	dir := t.TempDir()
	java := filepath.Join(dir, "java")
	write(t, java, fakeJava, 0o755)
	return Renderer{Java: java, Jar: "r.jar", Templates: dir}
}

func TestUpdate(t *testing.T) {
	r := fakeRenderer(t)
	tests := []struct {
		name    string
		docs    []Doc
		want    map[string]string // document -> its text afterwards
		wantErr string
	}{
		{
			name: "both written",
			docs: []Doc{{"a.pb", "a.vm", "docs/a.md"}, {"b.pb", "b.vm", "docs/b.md"}},
			want: map[string]string{
				"docs/a.md": "r.jar rendered a.pb with a.vm\n",
				"docs/b.md": "r.jar rendered b.pb with b.vm\n",
			},
		},
		{
			name:    "one fails: none written",
			docs:    []Doc{{"a.pb", "a.vm", "docs/a.md"}, {"bad.pb", "b.vm", "docs/b.md"}},
			want:    map[string]string{"docs/a.md": "old\n", "docs/b.md": "old\n"},
			wantErr: "failed to render bad.pb: exit status 1\nInput file is not a valid ModuleInfo proto.",
		},
		{
			name:    "renderer writes nothing",
			docs:    []Doc{{"silent.pb", "a.vm", "docs/a.md"}},
			want:    map[string]string{"docs/a.md": "old\n"},
			wantErr: "wrote no",
		},
		{
			name:    "written twice",
			docs:    []Doc{{"a.pb", "a.vm", "docs/a.md"}, {"b.pb", "b.vm", "docs/a.md"}},
			want:    map[string]string{"docs/a.md": "old\n"},
			wantErr: "docs/a.md is written twice",
		},
		{name: "nothing to do", wantErr: "no documents"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ws := t.TempDir()
			for out := range tc.want {
				write(t, filepath.Join(ws, out), "old\n", 0o644)
			}
			err := r.Update(tc.docs, ws)
			if tc.wantErr == "" && err != nil || tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)) {
				t.Fatalf("Update = %v; want error %q", err, tc.wantErr)
			}
			for out, want := range tc.want {
				got, err := os.ReadFile(filepath.Join(ws, out))
				if err != nil || string(got) != want {
					t.Errorf("%s = %q, %v; want %q", out, got, err, want)
				}
			}
		})
	}
}

func TestCheck(t *testing.T) {
	r := fakeRenderer(t)
	dir := t.TempDir()
	current := filepath.Join(dir, "current.md")
	write(t, current, "r.jar rendered a.pb with a.vm\n", 0o644)
	stale := filepath.Join(dir, "stale.md")
	write(t, stale, "r.jar rendered a.pb with old.vm\n", 0o644)

	tests := []struct {
		name, out, proto string
		want, wantErr    string
	}{
		{name: "current", out: current, proto: "a.pb"},
		{name: "stale", out: stale, proto: "a.pb", want: "line 1 differs:\n  committed: \"r.jar rendered a.pb with old.vm\\n\"\n  rendered:  \"r.jar rendered a.pb with a.vm\\n\""},
		{name: "no committed document", out: filepath.Join(dir, "none.md"), proto: "a.pb", wantErr: "none.md"},
		{name: "renderer fails", out: current, proto: "bad.pb", wantErr: "not a valid ModuleInfo proto"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := r.Check(Doc{Proto: tc.proto, Header: "a.vm", Out: tc.out})
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("Check = %q, %v; want an error containing %q", got, err, tc.wantErr)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("Check = %q, %v; want %q", got, err, tc.want)
			}
		})
	}
}

func TestDiff(t *testing.T) {
	tests := []struct {
		name, committed, rendered, want string
	}{
		{"equal", "a\nb\n", "a\nb\n", ""},
		{"second line", "a\nb\n", "a\nc\n", "line 2 differs:\n  committed: \"b\\n\"\n  rendered:  \"c\\n\""},
		{"rendered longer", "a\n", "a\nb\n", "line 2 differs:\n  committed: (end of file)\n  rendered:  \"b\\n\""},
		{"committed longer", "a\nb\n", "a\n", "line 2 differs:\n  committed: \"b\\n\"\n  rendered:  (end of file)"},
		{"final newline", "a", "a\n", "line 1 differs:\n  committed: \"a\"\n  rendered:  \"a\\n\""},
	}
	for _, tc := range tests {
		if got := Diff([]byte(tc.committed), []byte(tc.rendered)); got != tc.want {
			t.Errorf("%s: Diff(%q, %q) = %q; want %q", tc.name, tc.committed, tc.rendered, got, tc.want)
		}
	}
}
