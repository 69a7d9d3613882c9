package box

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestShellBasics(t *testing.T) {
	runCases(t, []scriptCase{
		{name: "variables", script: `a=1; b="$a two"; echo "$b" ${c:-dflt}`, out: "1 two dflt\n"},
		{name: "if", script: `if [ 2 -gt 1 ]; then echo yes; else echo no; fi`, out: "yes\n"},
		{name: "for", script: `for i in a b c; do printf %s "$i"; done; echo`, out: "abc\n"},
		{name: "while", script: `i=0; while [ $i -lt 3 ]; do i=$((i+1)); done; echo $i`, out: "3\n"},
		{name: "case", script: `case foo.tar.gz in *.gz) echo gz;; *) echo other;; esac`, out: "gz\n"},
		{name: "function", script: `f() { echo "f:$1:$#"; return 3; }; f x y; echo $?`, out: "f:x:2\n3\n"},
		{name: "pipe", script: `printf 'b\na\nc\n' | sort | head -n 2`, out: "a\nb\n"},
		{name: "pipe status is the last", script: `false | true; echo $?`, out: "0\n"},
		{name: "pipefail", script: `set -o pipefail; false | true; echo $?`, out: "1\n"},
		{name: "redirections", script: `echo one > f; echo two >> f; cat < f; cat nope 2>/dev/null || echo missing`, out: "one\ntwo\nmissing\n"},
		{name: "stderr to stdout", script: `cat nope 2>&1 | grep -c nope`, out: "1\n"},
		{name: "heredoc", script: "x=world\ncat <<EOF\nhello $x\nEOF\ncat <<'EOF'\nraw $x\nEOF", out: "hello world\nraw $x\n"},
		{name: "command substitution", script: `n=$(printf 'a\nb\n' | wc -l); echo "[$n]"`, out: "[2]\n"},
		{name: "subshell keeps cwd", script: `mkdir d; (cd d; pwd | sed 's,.*/,,'); basename "$(pwd)" | grep -vc '^d$'`, out: "d\n1\n"},
		{name: "cd changes utility cwd", script: `mkdir -p d/e; cd d; touch x; ls; cd e; ls ..`, out: "e\nx\ne\nx\n"},
		{name: "exit status", script: `exit 7`, code: 7},
		{name: "exit of last command", script: `true; false`, code: 1},
		{name: "set -e stops", script: "set -e\necho before\nfalse\necho after", out: "before\n", code: 1},
		{name: "set -e utility failure", script: "set -e\ncat missing\necho after", code: 1, errHas: "missing"},
		{name: "set -e not in condition", script: "set -e\nif false; then :; fi\nfalse || echo ok", out: "ok\n"},
		{name: "set -u", script: "set -u\necho $nope", code: 1, errHas: "nope"},
		{name: "unknown command", script: `no-such-cmd`, code: 127, errHas: "not found"},
		{name: "export reaches env", script: `export FOO=bar; env | grep '^FOO='`, out: "FOO=bar\n"},
		{name: "unexported not in env", script: `BAR=1; env | grep -c '^BAR=' || true`, out: "0\n"},
		{name: "prefix assignment", script: `FOO=x printenv FOO; printenv FOO || echo unset`, out: "x\nunset\n"},
		{name: "nested sh", script: `sh -c 'echo "$0 $1 $#"; exit 4' me arg; echo $?`, out: "me arg 1\n4\n"},
		{name: "builtins as utilities", script: `env echo via env; env printf '%s-%s\n' a b; env test 1 -eq 2 || echo no`, out: "via env\na-b\nno\n"},
		{name: "syntax error", script: `if then`, code: 2},
		{name: "glob", script: `touch b.c a.c d.h; echo *.c`, out: "a.c b.c\n"},
		{name: "arithmetic", script: `echo $(( (3 + 4) * 2 % 5 ))`, out: "4\n"},
		{name: "read", script: `printf 'x y\n' | { read a b; echo "$b$a"; }`, out: "yx\n"},
		{name: "trap EXIT", script: `trap 'echo bye' EXIT; echo hi`, out: "hi\nbye\n"},
		{name: "exec", script: `exec basename /x/y; echo not reached`, out: "y\n"},
		{name: "exec status", script: `exec cat nope`, code: 1},
		{name: "stdin to utility", script: `tr a-z A-Z`, stdin: "abc\n", out: "ABC\n"},
	})
}

func TestShellCommandLine(t *testing.T) {
	dir := t.TempDir()
	script := filepath.Join(dir, "s.sh")
	if err := os.WriteFile(script, []byte("echo \"$0|$1|$2\"\nfalse\necho after\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name  string
		argv  []string
		stdin string
		out   string
		code  int
		err   string
	}{
		{"c with name and args", []string{"sh", "-c", `echo "$0:$*"`, "nm", "a", "b"}, "", "nm:a b\n", 0, ""},
		{"c without name", []string{"sh", "-c", `echo "$0"`}, "", "sh\n", 0, ""},
		{"file with args", []string{"sh", "s.sh", "x", "y"}, "", "s.sh|x|y\nafter\n", 0, ""},
		{"file with -e", []string{"sh", "-e", "s.sh", "x"}, "", "s.sh|x|\n", 1, ""},
		{"combined -eux", []string{"sh", "-eux", "s.sh", "1", "2"}, "", "s.sh|1|2\n", 1, "+ false"},
		{"separate -e -x", []string{"sh", "-e", "-x", "-c", "echo a; false; echo b"}, "", "a\n", 1, "+ echo a"},
		{"-o pipefail", []string{"sh", "-o", "pipefail", "-c", "false | true"}, "", "", 1, ""},
		{"+e turns off", []string{"sh", "-e", "+e", "-c", "false; echo on"}, "", "on\n", 0, ""},
		{"script from stdin", []string{"sh"}, "echo from stdin\nexit 3\n", "from stdin\n", 3, ""},
		{"-s with args", []string{"sh", "-s", "p1"}, "echo $1\n", "p1\n", 0, ""},
		{"ash name", []string{"/bin/ash", "-c", "echo ash"}, "", "ash\n", 0, ""},
		{"login dash", []string{"-sh", "-c", "echo login"}, "", "login\n", 0, ""},
		{"missing file", []string{"sh", "nope.sh"}, "", "", 127, "nope.sh"},
		{"bad option", []string{"sh", "-Q", "-c", "true"}, "", "", 2, "invalid option"},
		{"-c without script", []string{"sh", "-c"}, "", "", 2, "-c requires"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := runArgs(t, dir, tc.stdin, tc.argv...)
			if r.out != tc.out || r.code != tc.code {
				t.Errorf("got %q status %d, want %q status %d; stderr:\n%s", r.out, r.code, tc.out, tc.code, r.err)
			}
			if !strings.Contains(r.err, tc.err) {
				t.Errorf("stderr %q lacks %q", r.err, tc.err)
			}
		})
	}
}

// helperDir makes a PATH directory holding the test binary under name, so
// that it runs as an external program (see TestMain).
func helperDir(t *testing.T, names ...string) string {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Skip("cannot find the test binary:", err)
	}
	bin := t.TempDir()
	for _, n := range names {
		if err := os.Symlink(exe, filepath.Join(bin, n)); err != nil {
			t.Fatal(err)
		}
	}
	return bin
}

func TestExternalPrograms(t *testing.T) {
	bin := helperDir(t, "helper")
	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	// A script with no #! line: the kernel refuses it, the shell runs it.
	plain := filepath.Join(bin, "plain-script")
	if err := os.WriteFile(plain, []byte("echo \"plain $1\"\nbasename /a/b\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name   string
		script string
		out    string
		code   int
	}{
		{"args cwd env stdin", `cd sub; export FOO=bar BOX_TEST_HELPER=1; echo in | helper a 'b c'`,
			"helper args=[\"a\" \"b c\"] dir=sub foo=bar\nstdin=\"in\\n\"\n", 0},
		{"exit status", `export BOX_TEST_HELPER=1 BOX_TEST_EXIT=5; helper; echo "st=$?"`,
			"helper args=[] dir=" + filepath.Base(dir) + " foo=\nst=5\n", 0},
		{"set -e on external failure", `set -e; export BOX_TEST_HELPER=1 BOX_TEST_EXIT=3; helper >/dev/null; echo after`, "", 3},
		{"output into a pipe", `BOX_TEST_HELPER=1 FOO=p helper | sed 's/helper/H/'`,
			"H args=[] dir=" + filepath.Base(dir) + " foo=p\n", 0},
		{"xargs runs external", `export BOX_TEST_HELPER=1; echo x y | xargs helper`,
			"helper args=[\"x\" \"y\"] dir=" + filepath.Base(dir) + " foo=\n", 0},
		{"script without #!", `plain-script arg`, "plain arg\nb\n", 0},
		{"path with slash", `cp "$(which helper)" ./h; BOX_TEST_HELPER=1 ./h z`,
			"helper args=[\"z\"] dir=" + filepath.Base(dir) + " foo=\n", 0},
		{"not executable", `echo x > f; ./f`, "", 126},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p, out, errb := newTestProc(t, dir, "")
			p.Env = []string{"PATH=" + bin}
			code := Main(t.Context(), p, []string{"sh", "-c", tc.script})
			if out.String() != tc.out || code != tc.code {
				t.Errorf("got %q status %d, want %q status %d; stderr:\n%s", out.String(), code, tc.out, tc.code, errb.String())
			}
		})
	}
}

func TestInProcessOrExternal(t *testing.T) {
	exe, err := os.Executable()
	if err != nil {
		t.Skip(err)
	}
	// PATH has "cat" as a link to this binary (Self): it runs in-process.
	// "basename" is a different program: it is executed.
	bin := helperDir(t, "cat")
	if err := os.WriteFile(filepath.Join(bin, "basename"), []byte("echo external-basename\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	p, out, errb := newTestProc(t, dir, "")
	p.Env = []string{"PATH=" + bin, "BOX_TEST_HELPER=1"}
	p.Self = exe
	code := Main(t.Context(), p, []string{"sh", "-c", "echo in-process | cat; basename /x/y"})
	if want := "in-process\nexternal-basename\n"; out.String() != want || code != 0 {
		t.Errorf("got %q status %d, want %q; stderr:\n%s", out.String(), code, want, errb.String())
	}
	// Without Self every utility stays in-process.
	p, out, _ = newTestProc(t, dir, "")
	p.Env = []string{"PATH=" + bin}
	Main(t.Context(), p, []string{"sh", "-c", "basename /x/y"})
	if out.String() != "y\n" {
		t.Errorf("without Self: got %q, want %q", out.String(), "y\n")
	}
}

func TestMultiCall(t *testing.T) {
	dir := t.TempDir()
	cases := []struct {
		name string
		argv []string
		out  string
		code int
	}{
		{"by argv0", []string{"/usr/bin/basename", "/a/b.c", ".c"}, "b\n", 0},
		{"by argument", []string{"stagex-box", "dirname", "/a/b/"}, "/a\n", 0},
		{"unknown utility", []string{"stagex-box", "frobnicate"}, "", 127},
		{"no arguments", []string{"stagex-box"}, "", 1},
		{"help", []string{"stagex-box", "--help"}, "", 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := runArgs(t, dir, "", tc.argv...)
			if tc.name != "help" && r.out != tc.out || r.code != tc.code {
				t.Errorf("got %q status %d, want %q status %d", r.out, r.code, tc.out, tc.code)
			}
		})
	}
	r := runArgs(t, dir, "", "stagex-box", "--list")
	if got := strings.Fields(r.out); strings.Join(got, " ") != strings.Join(Names(), " ") || len(got) < 50 {
		t.Errorf("--list printed %d names, want the %d of Names()", len(got), len(Names()))
	}
	for _, want := range []string{"sh", "cat", "sha256sum", "tar", "[", "xargs"} {
		if !IsUtility(want) {
			t.Errorf("%s is not a utility", want)
		}
	}
}

func TestInstall(t *testing.T) {
	dir := t.TempDir()
	// An old link is replaced; a regular file is left alone and reported.
	if err := os.Symlink("old", filepath.Join(dir, "cat")); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "ls"), []byte("real ls"), 0o755); err != nil {
		t.Fatal(err)
	}
	r := runArgs(t, dir, "", "stagex-box", "--install", "--target", "stagex-box", ".")
	if r.code != 1 || !strings.Contains(r.err, "ls: exists and is not a symbolic link") {
		t.Errorf("status %d stderr %q; want 1 and a complaint about ls", r.code, r.err)
	}
	for _, n := range Names() {
		target, err := os.Readlink(filepath.Join(dir, n))
		switch {
		case n == "ls":
			if err == nil {
				t.Errorf("ls was replaced by a link")
			}
		case err != nil || target != "stagex-box":
			t.Errorf("%s -> %q (%v), want stagex-box", n, target, err)
		}
	}
	if r := runArgs(t, dir, "", "stagex-box", "--install", "nope"); r.code != 1 {
		t.Errorf("install into a missing dir: status %d, want 1", r.code)
	}
	p, _, errb := newTestProc(t, dir, "")
	if code := Main(t.Context(), p, []string{"stagex-box", "--install", t.TempDir()}); code != 1 || !strings.Contains(errb.String(), "--target") {
		t.Errorf("install without Self or --target: status %d stderr %q", code, errb.String())
	}
	abs := t.TempDir()
	p.Self = "/bin/stagex-box"
	if code := Main(t.Context(), p, []string{"stagex-box", "--install", abs}); code != 0 {
		t.Fatalf("install with Self: status %d: %s", code, errb.String())
	}
	if target, _ := os.Readlink(filepath.Join(abs, "sh")); target != "/bin/stagex-box" {
		t.Errorf("sh -> %q, want /bin/stagex-box", target)
	}
	root := t.TempDir()
	os.MkdirAll(filepath.Join(root, "usr/bin"), 0o755)
	p.Self = filepath.Join(root, "bin/stagex-box")
	if code := Main(t.Context(), p, []string{"stagex-box", "--install", "--relative", filepath.Join(root, "usr/bin")}); code != 0 {
		t.Fatalf("install --relative: status %d: %s", code, errb.String())
	}
	if target, _ := os.Readlink(filepath.Join(root, "usr/bin/cat")); target != "../../bin/stagex-box" {
		t.Errorf("relative cat -> %q, want ../../bin/stagex-box", target)
	}
}
