package box

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestMain lets the test binary stand in for an external program: with
// BOX_TEST_HELPER=1 it prints its arguments, directory and $FOO, copies
// stdin, and exits with $BOX_TEST_EXIT.
func TestMain(m *testing.M) {
	if os.Getenv("BOX_TEST_HELPER") == "1" {
		wd, _ := os.Getwd()
		fmt.Printf("helper args=%q dir=%s foo=%s\n", os.Args[1:], filepath.Base(wd), os.Getenv("FOO"))
		var in bytes.Buffer
		in.ReadFrom(os.Stdin)
		if in.Len() > 0 {
			fmt.Printf("stdin=%q\n", in.String())
		}
		code := 0
		fmt.Sscan(os.Getenv("BOX_TEST_EXIT"), &code)
		os.Exit(code)
	}
	os.Exit(m.Run())
}

// result is what one run printed and returned.
type result struct {
	out, err string
	code     int
}

// newTestProc makes a Proc in dir whose PATH is an empty directory, so
// every utility runs in-process and no host program is found.
func newTestProc(t *testing.T, dir, stdin string) (*Proc, *bytes.Buffer, *bytes.Buffer) {
	t.Helper()
	var out, errb bytes.Buffer
	return &Proc{
		Stdin:  strings.NewReader(stdin),
		Stdout: &out,
		Stderr: &errb,
		Dir:    dir,
		Env:    []string{"PATH=" + filepath.Join(dir, ".bin"), "HOME=" + dir, "LC_ALL=C"},
	}, &out, &errb
}

// runArgs runs argv through Main in dir.
func runArgs(t *testing.T, dir, stdin string, argv ...string) result {
	t.Helper()
	p, out, errb := newTestProc(t, dir, stdin)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	code := Main(ctx, p, argv)
	return result{out.String(), errb.String(), code}
}

// sh runs a script with sh -c in dir.
func sh(t *testing.T, dir, stdin, script string) result {
	t.Helper()
	return runArgs(t, dir, stdin, "sh", "-c", script)
}

// scriptCase is a script, its input, and what it must print and return.
type scriptCase struct {
	name    string
	script  string
	stdin   string
	out     string
	code    int
	errHas  string // a substring stderr must contain
	outHas  string // checked instead of out when set
	noCheck bool   // the exit code alone is checked with out
}

func runCases(t *testing.T, cases []scriptCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			r := sh(t, dir, tc.stdin, tc.script)
			if r.code != tc.code {
				t.Errorf("exit status %d, want %d; stderr:\n%s", r.code, tc.code, r.err)
			}
			if tc.outHas != "" {
				if !strings.Contains(r.out, tc.outHas) {
					t.Errorf("stdout %q does not contain %q", r.out, tc.outHas)
				}
			} else if r.out != tc.out {
				t.Errorf("stdout:\n%q\nwant:\n%q\nstderr:\n%s", r.out, tc.out, r.err)
			}
			if tc.errHas != "" && !strings.Contains(r.err, tc.errHas) {
				t.Errorf("stderr %q does not contain %q", r.err, tc.errHas)
			}
		})
	}
}
