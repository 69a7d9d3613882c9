package diag

import (
	"fmt"
	"testing"
)

func TestError(t *testing.T) {
	tests := []struct {
		err  *Error
		want string
	}{
		{Errorf("a/Containerfile", 3, "unknown instruction %q", "FOO"), `a/Containerfile:3: unknown instruction "FOO"`},
		{Errorf("a/package.toml", 0, "missing [package]"), "a/package.toml: missing [package]"},
	}
	for _, tc := range tests {
		if got := tc.err.Error(); got != tc.want {
			t.Errorf("Error() = %q, want %q", got, tc.want)
		}
	}
}

func TestAt(t *testing.T) {
	wrapped := fmt.Errorf("translating: %w", Errorf("x/Containerfile", 7, "bad"))
	file, line, ok := At(wrapped)
	if !ok || file != "x/Containerfile" || line != 7 {
		t.Errorf("At(wrapped) = %q, %d, %v; want x/Containerfile, 7, true", file, line, ok)
	}
	if _, _, ok := At(fmt.Errorf("plain")); ok {
		t.Error("At(plain error) reported a position")
	}
}
