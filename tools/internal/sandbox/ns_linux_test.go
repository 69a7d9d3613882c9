package sandbox

import "testing"

func TestIDMapCoverage(t *testing.T) {
	tests := []struct {
		name      string
		text      string
		n         uint64
		covers    bool
		in, notIn []uint64
	}{
		{"host", "         0          0 4294967295\n", 65536, true, []uint64{0, 65535, 1 << 31}, nil},
		{"single root", "0 1000 1\n", 65536, false, []uint64{0}, []uint64{1, 1000}},
		{"single root covers 1", "0 1000 1\n", 1, true, []uint64{0}, []uint64{1}},
		{"split ranges", "0 1000 1\n1 100000 65535\n", 65536, true, []uint64{0, 1, 65535}, []uint64{65536}},
		{"gap", "0 0 100\n200 200 65536\n", 65536, false, []uint64{99, 200}, []uint64{100, 199}},
		{"unordered", "1 100000 65535\n0 1000 1\n", 65536, true, []uint64{0, 65535}, nil},
		{"empty", "", 1, false, nil, []uint64{0}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := parseIDMap(tt.text)
			if err != nil {
				t.Fatal(err)
			}
			if got := covers(r, tt.n); got != tt.covers {
				t.Errorf("covers(%d) = %v, want %v", tt.n, got, tt.covers)
			}
			for _, id := range tt.in {
				if !mapped(r, id) {
					t.Errorf("id %d not mapped, want mapped", id)
				}
			}
			for _, id := range tt.notIn {
				if mapped(r, id) {
					t.Errorf("id %d mapped, want not mapped", id)
				}
			}
		})
	}
	for _, bad := range []string{"0 0\n", "a b c\n", "0 0 1 2\n"} {
		if _, err := parseIDMap(bad); err == nil {
			t.Errorf("parseIDMap(%q): want an error", bad)
		}
	}
}
