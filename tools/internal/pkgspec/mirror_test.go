package pkgspec

import (
	"strings"
	"testing"
)

// TestMirrorURLs: a mirror is an http or https URL without user
// information; anything else fails at the mirrors line.
func TestMirrorURLs(t *testing.T) {
	for _, tc := range []struct {
		mirror string
		words  []string // nil: accepted
	}{
		{"https://a.example/s.tar", nil},
		{"http://a.example:8080/s.tar", nil},
		{"HTTPS://a.example/s.tar", nil},
		{"file://localhost/etc/passwd", []string{"mirrors[0]", `"file"`, "http or https"}},
		{"gopher://a.example/s.tar", []string{"mirrors[0]", `"gopher"`, "http or https"}},
		{"ftp://a.example/s.tar", []string{"mirrors[0]", "http or https"}},
		{"https://user:pass@a.example/s.tar", []string{"mirrors[0]", "user name"}},
		{"https://user@a.example/s.tar", []string{"mirrors[0]", "user name"}},
	} {
		t.Run(tc.mirror, func(t *testing.T) {
			text := sub("[package]\nname = \"demo\"\n[sources.s]\nhash = \"@A\"\nmirrors = [\n  \"" + tc.mirror + "\",\n]\n")
			p, err := Parse("pkgs/core/demo/package.toml", "core", "demo", []byte(text))
			if tc.words == nil {
				if err != nil {
					t.Fatalf("Parse: %v", err)
				}
				if m := p.Sources[0].Mirrors; len(m) != 1 || m[0] != tc.mirror {
					t.Errorf("mirrors %q, expected [%q]", m, tc.mirror)
				}
				return
			}
			if err == nil {
				t.Fatalf("Parse accepted mirror %q", tc.mirror)
			}
			checkDiag(t, err, "pkgs/core/demo/package.toml", 5, tc.words...)
			if strings.Contains(err.Error(), "pass@") {
				t.Errorf("error %q shows the password", err)
			}
		})
	}
}
