package box

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// Install creates, in dir, a symbolic link named after every utility, each
// pointing at target. A relative target is stored as it is, so it resolves
// against dir. Existing symbolic links of those names are replaced; any
// other existing file is an error.
func Install(dir, target string) error {
	fi, err := os.Stat(dir)
	if err != nil {
		return err
	}
	if !fi.IsDir() {
		return fmt.Errorf("%s: not a directory", dir)
	}
	var errs []error
	for _, n := range Names() {
		link := filepath.Join(dir, n)
		if lfi, err := os.Lstat(link); err == nil {
			if lfi.Mode()&fs.ModeSymlink == 0 {
				errs = append(errs, fmt.Errorf("%s: exists and is not a symbolic link", link))
				continue
			}
			if err := os.Remove(link); err != nil {
				errs = append(errs, err)
				continue
			}
		}
		if err := os.Symlink(target, link); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// installMain is --install [--target PATH | --relative] DIR.
func installMain(p *Proc, name string, args []string) int {
	f, ops, err := getopt(args, "t:r", "target=t", "relative=r")
	if err == nil && len(ops) != 1 {
		err = errors.New("--install needs exactly one directory")
	}
	if err != nil {
		p.errf(name, "%v", err)
		return 2
	}
	target, ok := f.get("t")
	if !ok {
		if p.Self == "" {
			p.errf(name, "cannot tell where this binary is; give --target")
			return 1
		}
		target = p.Self
		if f.has("r") {
			rel, err := filepath.Rel(p.Abs(ops[0]), p.Self)
			if err != nil {
				p.errf(name, "%v", err)
				return 1
			}
			target = rel
		}
	}
	if err := Install(p.Abs(ops[0]), target); err != nil {
		p.errf(name, "%v", err)
		return 1
	}
	return 0
}
