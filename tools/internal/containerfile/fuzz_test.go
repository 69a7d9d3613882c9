package containerfile

import (
	"testing"

	"github.com/stagex/stagex-bazel/tools/internal/diag"
)

// FuzzParse checks that Parse never panics, that every error it returns
// names the file, and that a parsed file is consistent: stages refer only
// to earlier stages and steps carry positive lines.
func FuzzParse(f *testing.F) {
	seeds := []string{
		"FROM scratch\n",
		"ARG V=1\nFROM --platform=linux/386 stagex/core-gcc:${V} AS build\nARG V\nRUN --network=none <<-EOF\n\techo $V\nEOF\n",
		"FROM scratch AS a\nCOPY <<-'EOF' /x\n\t$y\nEOF\nFROM a\nCOPY --from=a --chmod=755 /x /y\nCOPY --from=0 / /\n",
		"FROM stagex/bootstrap-stage0\nSHELL [\"/bin/kaem\", \"--file\"]\nRUN [\"/x\", \"a\"]\nRUN a \\\n  b\n",
		"# escape=`\nFROM scratch\nENV A=1 B=\"x y\" C\nWORKDIR /a`$A\n",
		"FROM scratch\nONBUILD RUN <<EOF\nx\nEOF\nHEALTHCHECK --interval=1s CMD [\"x\"]\nEXPOSE 80\nLABEL a=b\n",
		"FROM scratch\nRUN cat <<A <<-B\na\nA\n\tb\n\tB\n",
		"FROM scratch\nWORKDIR ${X:-/a}${Y+b}\nUSER ${Z",
	}
	for _, s := range seeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		file, err := Parse("fuzz/Containerfile", data, Options{BuildArgs: map[string]string{"V": "1"}})
		if err != nil {
			name, line, ok := diag.At(err)
			if !ok || name != "fuzz/Containerfile" || line < 0 {
				t.Fatalf("error without position: %v", err)
			}
			return
		}
		if len(file.Stages) == 0 {
			t.Fatal("no stages and no error")
		}
		for i, st := range file.Stages {
			if st.Index != i || st.Line < 1 {
				t.Fatalf("stage %d: index %d line %d", i, st.Index, st.Line)
			}
			for _, r := range st.Deps() {
				if r.Kind == StageRef && r.Stage >= i {
					t.Fatalf("stage %d depends on stage %d", i, r.Stage)
				}
			}
			for _, s := range st.Steps {
				if s.Line < st.Line || s.Kind == "" {
					t.Fatalf("stage %d: step %q at line %d", i, s.Kind, s.Line)
				}
			}
		}
	})
}
