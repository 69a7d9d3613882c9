package layer

import (
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"

	"golang.org/x/sys/unix"
)

// maxSymlinks bounds the symbolic links followed while resolving one path,
// like the kernel's own limit (40).
const maxSymlinks = 40

// MaxPathLen bounds the length of the path, inside the root, of any
// directory Apply makes or enters (symbolic links resolved), so that the
// host path of every file below stays under Linux's PATH_MAX (4096) with
// room for the root's own path and a last component: a deeper tree could be
// unpacked but not walked by name afterwards.
const MaxPathLen = 3072

// errTooDeep is returned for directories deeper than MaxPathLen.
var errTooDeep = fmt.Errorf("directory lies deeper than %d bytes inside the root (MaxPathLen)", MaxPathLen)

// shorten keeps the two ends of a long path for an error message.
func shorten(p string) string {
	if len(p) <= 120 {
		return p
	}
	return p[:60] + "..." + p[len(p)-57:]
}

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
	// enter, if set, is called for each directory a walk is about to
	// enter, with its parent's descriptor, its name there, its path
	// inside the root and its lstat (Apply opens directories closed to
	// it so).
	enter func(parent int, name, rel string, st *unix.Stat_t)
}

func openRoot(dir string) (*root, error) {
	fd, err := unix.Open(dir, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, &os.PathError{Op: "open", Path: dir, Err: err}
	}
	return &root{path: dir, fd: fd}, nil
}

func (r *root) close() { unix.Close(r.fd) }

// dirChain is the chain of directories a path has been resolved through.
type dirChain struct {
	// stack[i] is an O_PATH descriptor of the directory at depth i;
	// stack[0] is the root's own and is not closed here.
	stack []int
	// names[i] is the name of stack[i+1] in stack[i].
	names []string
	// size is the length of the path names spell, plus one.
	size int
}

// release closes the descriptors the walk opened.
func (w *dirChain) release() {
	for _, fd := range w.stack[1:] {
		unix.Close(fd)
	}
	w.stack = w.stack[:1]
	w.names = nil
	w.size = 0
}

// pop leaves the directory on top, never the root.
func (w *dirChain) pop() {
	if len(w.names) > 0 {
		unix.Close(w.stack[len(w.stack)-1])
		w.stack = w.stack[:len(w.stack)-1]
		w.size -= len(w.names[len(w.names)-1]) + 1
		w.names = w.names[:len(w.names)-1]
	}
}

// walk resolves the slash path rel (relative to the root) as a chain of
// directories, following symbolic links as if the root were "/": an
// absolute target starts again at the root and ".." never climbs above it.
// With create, missing directories are made with mode 0755 and reported to
// made, which receives their paths relative to the root.
//
// It stops at the first component it cannot enter: err says why (ENOENT:
// missing, ENOTDIR: not a directory or a link, or another failure) and
// rest holds the components left, that one first. The walk so far is
// returned in every case; the caller releases it.
func (r *root) walk(rel string, create bool, made func(string)) (w *dirChain, rest []string, err error) {
	w = &dirChain{stack: []int{r.fd}}
	todo := splitPath(rel)
	links := 0
	for len(todo) > 0 {
		c := todo[0]
		switch c {
		case "", ".":
			todo = todo[1:]
			continue
		case "..":
			w.pop()
			todo = todo[1:]
			continue
		}
		if w.size+len(c) > MaxPathLen {
			return w, todo, &os.PathError{Op: "resolve", Path: shorten(joinPath(w.names, c)), Err: errTooDeep}
		}
		cur := w.stack[len(w.stack)-1]
		var st unix.Stat_t
		err := unix.Fstatat(cur, c, &st, unix.AT_SYMLINK_NOFOLLOW)
		if errors.Is(err, unix.ENOENT) && create {
			err = mkdirMode(cur, c, 0o755)
			if err == nil {
				if made != nil {
					made(joinPath(w.names, c))
				}
				err = unix.Fstatat(cur, c, &st, unix.AT_SYMLINK_NOFOLLOW)
			}
		}
		if err != nil {
			return w, todo, &os.PathError{Op: "lstat", Path: joinPath(w.names, c), Err: err}
		}
		switch st.Mode & unix.S_IFMT {
		case unix.S_IFDIR:
			if r.enter != nil {
				r.enter(cur, c, joinPath(w.names, c), &st)
			}
			fd, err := unix.Openat(cur, c, unix.O_PATH|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
			if err != nil {
				return w, todo, &os.PathError{Op: "open", Path: joinPath(w.names, c), Err: err}
			}
			w.stack = append(w.stack, fd)
			w.names = append(w.names, c)
			w.size += len(c) + 1
			todo = todo[1:]
		case unix.S_IFLNK:
			links++
			if links > maxSymlinks {
				return w, todo, &os.PathError{Op: "resolve", Path: rel, Err: unix.ELOOP}
			}
			target, err := readlinkAt(cur, c)
			if err != nil {
				return w, todo, &os.PathError{Op: "readlink", Path: joinPath(w.names, c), Err: err}
			}
			if strings.HasPrefix(target, "/") {
				w.release()
			}
			todo = append(splitPath(target), todo[1:]...)
		default:
			return w, todo, &os.PathError{Op: "resolve", Path: joinPath(w.names, c), Err: unix.ENOTDIR}
		}
	}
	return w, nil, nil
}

// openDir opens the directory named by the slash path rel (relative to the
// root, possibly through symbolic links) and returns an O_PATH descriptor
// for it. With create, missing directories are made as walk makes them.
func (r *root) openDir(rel string, create bool, made func(string)) (int, error) {
	w, _, err := r.walk(rel, create, made)
	if err != nil {
		w.release()
		return -1, err
	}
	if len(w.names) == 0 {
		return unix.Dup(r.fd)
	}
	top := w.stack[len(w.stack)-1]
	w.stack = w.stack[:len(w.stack)-1]
	w.release()
	return top, nil
}

// ResolvePath returns the host path of the slash path p inside the
// directory root, following symbolic links in every component, the last
// one too, as if root were "/": an absolute target starts again at root and
// ".." never climbs above it, so the result always lies inside root. p is
// first cleaned lexically, as a path written in a Containerfile is.
//
// A missing component ends the resolution; the rest of p is appended as it
// is, as the path a later mkdir -p would make (a ".." left in it, which
// only a symbolic link's target can bring, is an error: it cannot be
// resolved). A component that is not a directory may only come last. The
// links are read through O_PATH descriptors, but the path returned is only
// as good as the tree: whoever uses it must not let untrusted code change
// root meanwhile.
func ResolvePath(root, p string) (string, error) {
	r, err := openRoot(root)
	if err != nil {
		return "", err
	}
	defer r.close()
	w, rest, err := r.walk(strings.TrimPrefix(path.Clean("/"+p), "/"), false, nil)
	defer w.release()
	names := slices.Clone(w.names)
	switch {
	case err == nil:
	case errors.Is(err, unix.ENOENT):
		for _, c := range rest {
			switch c {
			case "", ".":
				continue
			case "..":
				return "", &os.PathError{Op: "resolve", Path: p, Err: unix.ENOENT}
			}
			names = append(names, c)
		}
	case errors.Is(err, unix.ENOTDIR) && onlyDots(rest[1:]):
		names = append(names, rest[0])
	default:
		return "", err
	}
	return filepath.Join(root, filepath.FromSlash(strings.Join(names, "/"))), nil
}

// onlyDots reports whether every component of cs is "" or ".".
func onlyDots(cs []string) bool {
	for _, c := range cs {
		if c != "" && c != "." {
			return false
		}
	}
	return true
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
	// A directory closed to its owner (0555, 0000) must still be emptied
	// where nothing overrides permissions; its mode goes with it. Where
	// the change is refused, opening or emptying it says why.
	var st unix.Stat_t
	if unix.Fstatat(dirfd, name, &st, unix.AT_SYMLINK_NOFOLLOW) == nil &&
		st.Mode&unix.S_IFMT == unix.S_IFDIR && st.Mode&0o700 != 0o700 {
		_ = unix.Fchmodat(dirfd, name, st.Mode&0o7777|0o700, 0)
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
