package layerbench

import (
	"testing"
)

func TestGenerateAndMeasure(t *testing.T) {
	const size = 3 << 20
	var reports []Report
	for i := 0; i < 2; i++ {
		dir := t.TempDir()
		tr, err := Generate(dir, size, 7)
		if err != nil {
			t.Fatal(err)
		}
		if tr.Bytes != size || tr.Files < 30 {
			t.Fatalf("tree of %d files, %d bytes; want %d bytes in more than 30 files", tr.Files, tr.Bytes, size)
		}
		r, err := Measure(dir, tr)
		if err != nil {
			t.Fatal(err)
		}
		if r.HashedBytes != tr.Bytes {
			t.Errorf("hashed %d bytes, want %d", r.HashedBytes, tr.Bytes)
		}
		if r.LayerTime <= 0 || r.HashTime <= 0 || r.Ratio() <= 0 {
			t.Errorf("times not measured: %+v", r)
		}
		// Part of the tree is incompressible, part compresses well.
		if r.Layer.Size < size/4 || r.Layer.Size > size {
			t.Errorf("layer of %d bytes from %d: want between a quarter and all", r.Layer.Size, size)
		}
		reports = append(reports, r)
	}
	if reports[0].Layer != reports[1].Layer {
		t.Errorf("same seed, different layers: %v vs %v", reports[0].Layer, reports[1].Layer)
	}
}

func TestParseSize(t *testing.T) {
	tests := []struct {
		in   string
		want int64
		bad  bool
	}{
		{in: "1048576", want: 1 << 20},
		{in: "1GiB", want: 1 << 30},
		{in: "64MiB", want: 64 << 20},
		{in: "8KiB", want: 8 << 10},
		{in: "500MB", want: 500e6},
		{in: "10B", want: 10},
		{in: "1.5GiB", bad: true},
		{in: "-3MB", bad: true},
		{in: "MiB", bad: true},
	}
	for _, tc := range tests {
		got, err := ParseSize(tc.in)
		if tc.bad {
			if err == nil {
				t.Errorf("ParseSize(%q) = %d, want an error", tc.in, got)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("ParseSize(%q) = %d, %v; want %d", tc.in, got, err, tc.want)
		}
	}
}
