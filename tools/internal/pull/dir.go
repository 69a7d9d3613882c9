package pull

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
)

// checkTarget fails when dir exists and is not an empty directory.
func checkTarget(dir string) error {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("output %s: %w", dir, err)
	}
	if len(entries) > 0 {
		return fmt.Errorf("output %s exists and is not empty; expected a new or empty directory", dir)
	}
	return nil
}
