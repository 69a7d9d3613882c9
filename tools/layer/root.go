package layer

import (
	"errors"
	"fmt"
	"os"
	"path"
	"strings"

	"golang.org/x/sys/unix"
)

// maxSymlinks bounds the symbolic links followed while resolving one path,
// like the kernel's own limit (40).
const maxSymlinks = 40

// errEscape is returned for names that try to leave the root.
var errEscape = errors.New("path has a \"..\" component")

// cleanName turns a tar entry name into a slash-separated path relative to
// the root: leading slashes and "." components are dropped, and a ".."
// component is an error. The root itself is "".
func cleanName(name string) (string, error) {
	var out []string
	for _, c := range strings.Split(name, "/") {
		switch c {
		case "", ".":
			continue
		case "..":
			return "", errEscape
		}
		out = append(out, c)
	}
	return strings.Join(out, "/"), nil
}

// root is an open directory inside which every path is resolved. Symbolic
// links met on the way are followed as if root were "/": an absolute target
// starts again at root and ".." never climbs above it. The last component of
// a path is never followed.
type root struct {
	path string
	fd   int // O_PATH descriptor of the directory
}

func openRoot(dir string) (*root, error) {
	fd, err := unix.Open(dir, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, &os.PathError{Op: "open", Path: dir, Err: err}
	}
	return &root{path: dir, fd: fd}, nil
}

func (r *root) close() { unix.Close(r.fd) }

// openDir opens the directory named by the slash path rel (relative to the
// root, possibly through symbolic links) and returns an O_PATH descriptor
// for it. With create, missing directories are made with mode 0755 and
// reported to made, which receives their paths relative to the root.
func (r *root) openDir(rel string, create bool, made func(string)) (int, error) {
	todo := splitPath(rel)
	// stack[i] is the descriptor of the directory at depth i; names[i-1]
	// is its name in its parent.
	stack := []int{r.fd}
	var names []string
	release := func() {
		for _, fd := range stack[1:] {
			unix.Close(fd)
		}
	}
	links := 0
	for len(todo) > 0 {
		c := todo[0]
		todo = todo[1:]
		switch c {
		case "", ".":
			continue
		case "..":
			if len(names) > 0 {
				unix.Close(stack[len(stack)-1])
				stack = stack[:len(stack)-1]
				names = names[:len(names)-1]
			}
			continue
		}
		cur := stack[len(stack)-1]
		var st unix.Stat_t
		err := unix.Fstatat(cur, c, &st, unix.AT_SYMLINK_NOFOLLOW)
		if errors.Is(err, unix.ENOENT) && create {
			err = mkdirMode(cur, c, 0o755)
			if err == nil {
				if made != nil {
					made(joinPath(names, c))
				}
				err = unix.Fstatat(cur, c, &st, unix.AT_SYMLINK_NOFOLLOW)
			}
		}
		if err != nil {
			release()
			return -1, &os.PathError{Op: "lstat", Path: joinPath(names, c), Err: err}
		}
		switch st.Mode & unix.S_IFMT {
		case unix.S_IFDIR:
			fd, err := unix.Openat(cur, c, unix.O_PATH|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
			if err != nil {
				release()
				return -1, &os.PathError{Op: "open", Path: joinPath(names, c), Err: err}
			}
			stack = append(stack, fd)
			names = append(names, c)
		case unix.S_IFLNK:
			links++
			if links > maxSymlinks {
				release()
				return -1, &os.PathError{Op: "resolve", Path: rel, Err: unix.ELOOP}
			}
			target, err := readlinkAt(cur, c)
			if err != nil {
				release()
				return -1, &os.PathError{Op: "readlink", Path: joinPath(names, c), Err: err}
			}
			if strings.HasPrefix(target, "/") {
				for _, fd := range stack[1:] {
					unix.Close(fd)
				}
				stack, names = stack[:1], nil
			}
			todo = append(splitPath(target), todo...)
		default:
			release()
			return -1, &os.PathError{Op: "resolve", Path: joinPath(names, c), Err: unix.ENOTDIR}
		}
	}
	top := stack[len(stack)-1]
	if top == r.fd {
		return unix.Dup(r.fd)
	}
	for _, fd := range stack[1 : len(stack)-1] {
		unix.Close(fd)
	}
	return top, nil
}

// parent resolves the directory holding rel and returns a descriptor for it
// and rel's last component, which is not resolved.
func (r *root) parent(rel string, create bool, made func(string)) (int, string, error) {
	dir, base := path.Split(rel)
	fd, err := r.openDir(dir, create, made)
	return fd, base, err
}

// joinPath is the slash path of name inside the directory whose components
// are dir.
func joinPath(dir []string, name string) string {
	if len(dir) == 0 {
		return name
	}
	return strings.Join(dir, "/") + "/" + name
}

func splitPath(p string) []string {
	if p == "" {
		return nil
	}
	return strings.Split(p, "/")
}

func readlinkAt(dirfd int, name string) (string, error) {
	for size := 256; ; size *= 2 {
		buf := make([]byte, size)
		n, err := unix.Readlinkat(dirfd, name, buf)
		if err != nil {
			return "", err
		}
		if n < size {
			return string(buf[:n]), nil
		}
	}
}

// mkdirMode makes directory name in dirfd with exactly mode perm, whatever
// the umask.
func mkdirMode(dirfd int, name string, perm uint32) error {
	if err := unix.Mkdirat(dirfd, name, perm); err != nil {
		return err
	}
	return unix.Fchmodat(dirfd, name, perm, 0)
}

// removeAll removes name in dirfd and, if it is a directory, everything in
// it. Symbolic links are removed, never followed. A missing name is not an
// error.
func removeAll(dirfd int, name string) error {
	err := unix.Unlinkat(dirfd, name, 0)
	if err == nil || errors.Is(err, unix.ENOENT) {
		return nil
	}
	if !errors.Is(err, unix.EISDIR) && !errors.Is(err, unix.EPERM) {
		return err
	}
	fd, err := unix.Openat(dirfd, name, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return err
	}
	if err := removeChildren(fd, nil); err != nil {
		return err
	}
	return unix.Unlinkat(dirfd, name, unix.AT_REMOVEDIR)
}

// removeChildren removes every entry of the directory open as fd (which it
// closes) for which keep is nil or returns false.
func removeChildren(fd int, keep func(name string) bool) error {
	f := os.NewFile(uintptr(fd), "dir")
	defer f.Close()
	names, err := f.Readdirnames(-1)
	if err != nil {
		return err
	}
	for _, n := range names {
		if keep != nil && keep(n) {
			continue
		}
		if err := removeAll(fd, n); err != nil {
			return fmt.Errorf("remove %s: %w", n, err)
		}
	}
	return nil
}
