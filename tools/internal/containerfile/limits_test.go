package containerfile

import (
	"fmt"
	"runtime"
	"strings"
	"testing"

	"github.com/stagex/stagex-bazel/tools/internal/diag"
)

// continued writes s as one instruction over physical lines of at most
// 1000 bytes, joined by backslash-newline, so that BuildKit's line limit
// does not stop it first.
func continued(s string) string {
	var b strings.Builder
	for len(s) > 1000 {
		b.WriteString(s[:1000])
		b.WriteString("\\\n")
		s = s[1000:]
	}
	b.WriteString(s)
	return b.String()
}

// atFileLimit marks the line holding byte MaxFileSize.
const atFileLimit = "\x00at the file size limit"

// TestLimits: crafted Containerfiles that would exhaust the stack or the
// memory fail with an error at the offending line, or parse within a
// bounded amount of memory.
func TestLimits(t *testing.T) {
	bigValue := strings.Repeat("v", 64<<10)
	for _, tc := range []struct {
		name  string
		src   func() string
		at    string   // the error is at the first line holding this; "": parses
		words []string // in the error
	}{
		{"a million nested ${A:-...}", func() string {
			const n = 1000000
			return "FROM scratch\nARG A=x\nENV B=" + continued(strings.Repeat("${A:-", n)+"x"+strings.Repeat("}", n)) + "\n"
		}, atFileLimit, []string{"larger than", fmt.Sprint(MaxFileSize)}},
		{"an instruction past the size limit", func() string {
			return "FROM scratch\nENV B=" + continued(strings.Repeat("b", MaxInstructionSize)) + "\n"
		}, "ENV B=", []string{"ENV", "instruction of more than", fmt.Sprint(MaxInstructionSize)}},
		{"nesting past the limit within the size limit", func() string {
			const n = 100000
			return "FROM scratch\nARG A=x\nENV B=" + continued(strings.Repeat("${A:-", n)+"x"+strings.Repeat("}", n)) + "\n"
		}, "ENV B=", []string{"nested", fmt.Sprint(MaxNesting)}},
		{"nesting past the limit on a short line", func() string {
			const n = MaxNesting + 1
			return "FROM scratch\nARG A=x\nRUN echo ok\nWORKDIR /" + strings.Repeat("${A:-", n) + "x" + strings.Repeat("}", n) + "\n"
		}, "WORKDIR", []string{"nested", fmt.Sprint(MaxNesting)}},
		{"nesting at the limit", func() string {
			const n = MaxNesting
			return "FROM scratch\nARG A=x\nWORKDIR /" + strings.Repeat("${A:-", n) + "x" + strings.Repeat("}", n) + "\n"
		}, "", nil},
		{"exponentially growing ARG values in a stage", func() string {
			var b strings.Builder
			b.WriteString("FROM scratch\nARG A0=0123456789\n")
			for i := 1; i <= 40; i++ {
				fmt.Fprintf(&b, "ARG A%d=$A%d$A%d\n", i, i-1, i-1)
			}
			return b.String()
		}, "ARG A17=", []string{"ARG A17", "more than", fmt.Sprint(MaxWordSize)}},
		{"exponentially growing global ARG values", func() string {
			var b strings.Builder
			b.WriteString("ARG A0=0123456789\n")
			for i := 1; i <= 40; i++ {
				fmt.Fprintf(&b, "ARG A%d=$A%d$A%d\n", i, i-1, i-1)
			}
			return b.String() + "FROM scratch\n"
		}, "ARG A17=", []string{"ARG A17", "more than"}},
		{"one word referring to a large value many times", func() string {
			return "FROM scratch\nARG A=" + continued(strings.Repeat("x", 60000)) + "\nRUN echo hi\nENV B=" + continued(strings.Repeat("$A", 100)) + "\n"
		}, "ENV B=", []string{"ENV", "more than"}},
		{"pattern substitution multiplying a value", func() string {
			return "FROM scratch\nARG A=" + strings.Repeat("x", 2000) + "\nENV B=${A//?/$A}\n"
		}, "ENV B=", []string{"more than"}},
		{"an environment past the limit", func() string {
			var b strings.Builder
			b.WriteString("FROM scratch\nARG V=" + continued(strings.Repeat("x", 500<<10)) + "\n")
			for i := 0; i < 20; i++ {
				fmt.Fprintf(&b, "ENV E%d=$V\n", i)
			}
			return b.String()
		}, "ENV E7=", []string{"environment", "more than", fmt.Sprint(MaxEnvSize)}},
		{"a chain of 5,000 stages", func() string {
			var b strings.Builder
			b.WriteString("FROM scratch AS s0\nENV BIG=" + bigValue[:1000] + "\n")
			for i := 1; i < 5000; i++ {
				fmt.Fprintf(&b, "FROM s%d AS s%d\nRUN true\n", i-1, i)
			}
			return b.String()
		}, fmt.Sprintf("FROM s%d AS s%d\n", MaxStages-1, MaxStages), []string{"more than", fmt.Sprint(MaxStages), "stages"}},
		{"20,000 steps with a large ENV", func() string {
			var b strings.Builder
			b.WriteString("FROM scratch\nENV BIG=" + continued(bigValue) + "\n")
			for i := 0; i < 20000; i++ {
				b.WriteString("RUN true\n")
			}
			return b.String()
		}, "", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			src := tc.src()
			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			f, err := Parse("pkg/Containerfile", []byte(src), Options{})
			runtime.ReadMemStats(&after)
			if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 512<<20 {
				t.Errorf("parsing allocated %d MiB; expected at most 512", alloc>>20)
			}
			if tc.at == "" {
				if err != nil {
					t.Fatalf("Parse: %v", err)
				}
				if len(f.Stages) == 0 {
					t.Fatal("no stages")
				}
				return
			}
			if err == nil {
				t.Fatal("Parse succeeded")
			}
			want := 0
			if tc.at == atFileLimit {
				want = 1 + strings.Count(src[:MaxFileSize], "\n")
			} else if i := strings.Index(src, tc.at); i >= 0 {
				want = 1 + strings.Count(src[:i], "\n")
			}
			file, line, ok := diag.At(err)
			if !ok || file != "pkg/Containerfile" || line != want || want == 0 {
				t.Errorf("error at %s:%d, expected pkg/Containerfile:%d: %.300v", file, line, want, err)
			}
			for _, w := range tc.words {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
		})
	}
}

// TestParsedSizeLimit: every RUN records the ARGs in scope in its history,
// so a large ARG repeated by many RUNs would yield gigabytes; parsing stops
// at the RUN that crosses MaxParsedSize.
func TestParsedSizeLimit(t *testing.T) {
	var b strings.Builder
	b.WriteString("FROM scratch\nARG V=" + continued(strings.Repeat("v", 1<<20-100)) + "\n")
	first := 1 + strings.Count(b.String(), "\n")
	for i := 0; i < 20000; i++ {
		fmt.Fprintf(&b, "RUN true %d\n", i)
	}
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	_, err := Parse("pkg/Containerfile", []byte(b.String()), Options{})
	runtime.ReadMemStats(&after)
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 512<<20 {
		t.Errorf("parsing allocated %d MiB; expected at most 512", alloc>>20)
	}
	_, line, _ := diag.At(err)
	if err == nil || !strings.Contains(err.Error(), fmt.Sprint(MaxParsedSize)) {
		t.Fatalf("error %.300v; expected one about MaxParsedSize", err)
	}
	// Each RUN yields a little over 1 MiB (and the ARG a few): the limit
	// falls within the first 64, not much earlier.
	if n := line - first + 1; n < MaxParsedSize>>20*3/4 || n > MaxParsedSize>>20 {
		t.Errorf("error at RUN number %d (line %d); expected one of the first %d, past %d", n, line, MaxParsedSize>>20, MaxParsedSize>>20*3/4)
	}
}
