package hex0

import (
	"bytes"
	"strings"
	"testing"
)

func TestCompile(t *testing.T) {
	tests := []struct {
		name, src string
		want      []byte
		err       string
	}{
		{name: "bytes", src: "7F 45 4c 46", want: []byte{0x7f, 0x45, 0x4c, 0x46}},
		{name: "comments", src: "01 # one\n02 ; two\n# only a comment\n03", want: []byte{1, 2, 3}},
		{name: "split pair", src: "0\n1", want: []byte{0x01}},
		{name: "comment at end without newline", src: "ff # end", want: []byte{0xff}},
		{name: "empty", src: "", want: []byte{}},
		{name: "odd digits", src: "01\n0", err: "x.hex0:2: odd number"},
		{name: "stray character", src: "01\n0g", err: `x.hex0:2: unexpected 'g'`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var out bytes.Buffer
			err := Compile("x.hex0", strings.NewReader(tc.src), &out)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("Compile(%q) error = %v, want one containing %q", tc.src, err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(out.Bytes(), tc.want) {
				t.Errorf("Compile(%q) = % x, want % x", tc.src, out.Bytes(), tc.want)
			}
		})
	}
}

func FuzzCompile(f *testing.F) {
	f.Add("7F 45 # x\n4c")
	f.Add("0")
	f.Fuzz(func(t *testing.T, src string) {
		var out bytes.Buffer
		if err := Compile("f", strings.NewReader(src), &out); err == nil && out.Len()*2 > len(src) {
			t.Fatalf("%d bytes from %d characters of source", out.Len(), len(src))
		}
	})
}
