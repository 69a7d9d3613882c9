package stagebuild

import (
	"errors"
	"os"
	"path"
	"path/filepath"
	"strings"
)

// resolveInRoot returns the host path of the slash path p inside root,
// following symbolic links as if root were "/": absolute link targets start
// again at root and ".." never climbs above it. A missing component ends
// the resolution; the rest of p is appended as it is.
func resolveInRoot(root, p string) (string, error) {
	var done []string
	rest := strings.Split(strings.TrimPrefix(path.Clean("/"+p), "/"), "/")
	links := 0
	for len(rest) > 0 {
		c := rest[0]
		rest = rest[1:]
		switch c {
		case "", ".":
			continue
		case "..":
			if len(done) > 0 {
				done = done[:len(done)-1]
			}
			continue
		}
		host := filepath.Join(root, filepath.FromSlash(strings.Join(append(done, c), "/")))
		info, err := os.Lstat(host)
		if err != nil {
			if errors.Is(err, os.ErrNotExist) {
				return filepath.Join(root, filepath.FromSlash(strings.Join(append(append(done, c), rest...), "/"))), nil
			}
			return "", err
		}
		if info.Mode()&os.ModeSymlink == 0 {
			done = append(done, c)
			continue
		}
		links++
		if links > 40 {
			return "", errors.New(p + ": too many levels of symbolic links")
		}
		target, err := os.Readlink(host)
		if err != nil {
			return "", err
		}
		if strings.HasPrefix(target, "/") {
			done = nil
		}
		rest = append(strings.Split(target, "/"), rest...)
	}
	return filepath.Join(root, filepath.FromSlash(strings.Join(done, "/"))), nil
}
