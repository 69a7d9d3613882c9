package buildfile

import "os"

// WriteFile replaces name with data through a temporary file beside it, so
// that no reader ever sees a half-written BUILD file: the Gazelle extension
// and the tree translator both write this way.
func WriteFile(name string, data []byte) error {
	tmp := name + ".tmp"
	if err := os.WriteFile(tmp, data, 0o644); err != nil {
		return err
	}
	if err := os.Rename(tmp, name); err != nil {
		os.Remove(tmp)
		return err
	}
	return nil
}
