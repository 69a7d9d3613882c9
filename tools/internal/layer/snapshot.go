package layer

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"
)

// Entry is what a Snapshot records of one path.
type Entry struct {
	// Mode holds the type and permission bits.
	Mode     fs.FileMode
	UID, GID uint32
	// Size is the length of a regular file or of a symbolic link's target.
	Size int64
	// Mtime and Ctime are in nanoseconds since the Unix epoch. Ctime changes
	// with any change of content, metadata or link count, and cannot be
	// set back by the build.
	Mtime, Ctime int64
	// Link is a symbolic link's target.
	Link string
	// Dev and Ino identify the inode (hard links share them); Nlink counts
	// its names.
	Dev, Ino, Nlink uint64
}

// Manifest records every path of a tree, relative to its root with slashes.
// The root itself is not recorded.
type Manifest struct {
	Entries map[string]Entry
}

// ChangeKind tells what happened to a path.
type ChangeKind int

// The kinds of change Diff reports.
const (
	Added ChangeKind = iota + 1
	Modified
	Deleted
)

func (k ChangeKind) String() string {
	switch k {
	case Added:
		return "added"
	case Modified:
		return "modified"
	case Deleted:
		return "deleted"
	}
	return fmt.Sprintf("ChangeKind(%d)", int(k))
}

// Change is one changed path, relative to the root with slashes.
type Change struct {
	Path string
	Kind ChangeKind
}

// Snapshot records every path under root without following symbolic links.
func Snapshot(root string) (*Manifest, error) {
	return SnapshotOwners(root, nil)
}

// SnapshotOwners is Snapshot with the owner of each path that owners
// holds taken from there, as Write takes it (WriteOptions.Owners): the
// ownership a runner that cannot chown records instead of giving it.
func SnapshotOwners(root string, owners map[string]Owner) (*Manifest, error) {
	m := &Manifest{Entries: map[string]Entry{}}
	err := walk(root, func(rel string, e Entry) error {
		m.Entries[rel] = withOwner(e, rel, owners)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return m, nil
}

// Diff walks root again and reports the paths added or modified since
// before was taken, and the deleted ones. Of a deleted directory only the
// directory is reported, not its contents; nor is anything reported under a
// directory that became a file or link, since replacing it removes them.
// The result is sorted by path. A nil before stands for an empty tree.
func Diff(root string, before *Manifest) ([]Change, error) {
	changes, _, err := DiffSnapshot(root, before)
	return changes, err
}

// DiffSnapshot is Diff that also returns the Snapshot of root it took on
// the way, for the next Diff.
func DiffSnapshot(root string, before *Manifest) ([]Change, *Manifest, error) {
	return DiffSnapshotOwners(root, before, nil)
}

// DiffSnapshotOwners is DiffSnapshot for a tree whose owners, where
// owners holds them, are those recorded there (see SnapshotOwners): a
// path whose recorded owner changed is modified, as one chowned on disk.
// before must have been taken the same way.
func DiffSnapshotOwners(root string, before *Manifest, owners map[string]Owner) ([]Change, *Manifest, error) {
	if before == nil {
		before = &Manifest{}
	}
	now := map[string]Entry{}
	var changes []Change
	err := walk(root, func(rel string, e Entry) error {
		e = withOwner(e, rel, owners)
		now[rel] = e
		old, ok := before.Entries[rel]
		switch {
		case !ok:
			changes = append(changes, Change{rel, Added})
		case changed(old, e):
			changes = append(changes, Change{rel, Modified})
		}
		return nil
	})
	if err != nil {
		return nil, nil, err
	}
	for p := range before.Entries {
		if _, ok := now[p]; ok {
			continue
		}
		dir := path.Dir(p)
		if dir != "." {
			if d, ok := now[dir]; !ok || !d.Mode.IsDir() {
				continue
			}
		}
		changes = append(changes, Change{p, Deleted})
	}
	slices.SortFunc(changes, func(a, b Change) int { return comparePaths(a.Path, b.Path) })
	return changes, &Manifest{Entries: now}, nil
}

// withOwner is e with the owner owners records for rel, if any.
func withOwner(e Entry, rel string, owners map[string]Owner) Entry {
	if o, ok := owners[rel]; ok {
		e.UID, e.GID = uint32(o.UID), uint32(o.GID)
	}
	return e
}

// changed reports whether a path that was old and is now e counts as
// modified, as BuildKit's overlay differ sees it: a directory only when its
// type, mode or owner changed (one that merely holds changes is written as
// their parent), anything else also when its size, modification time or
// link target changed. Link counts do not matter, nor which inode holds
// the path. BuildKit compares contents when both times are whole seconds
// (as unpacked from a layer) and equal; the old contents are gone here, so
// such a path counts as modified when its change time moved, unless its
// link count did too (a hard link was added or removed).
func changed(old, e Entry) bool {
	if old.Mode != e.Mode || old.UID != e.UID || old.GID != e.GID {
		return true
	}
	if e.Mode.IsDir() {
		return false
	}
	if old.Size != e.Size || old.Mtime != e.Mtime || old.Link != e.Link {
		return true
	}
	return old.Mtime%int64(time.Second) == 0 && old.Ctime != e.Ctime && old.Nlink == e.Nlink
}

// comparePaths orders slash paths component by component, so that a
// directory comes right before its contents ("a", "a/b", "a.b").
func comparePaths(a, b string) int {
	n := min(len(a), len(b))
	for i := 0; i < n; i++ {
		ca, cb := a[i], b[i]
		if ca == cb {
			continue
		}
		if ca == '/' {
			return -1
		}
		if cb == '/' {
			return 1
		}
		if ca < cb {
			return -1
		}
		return 1
	}
	return len(a) - len(b)
}

// walk calls fn for every path under root, parents before children.
func walk(root string, fn func(rel string, e Entry) error) error {
	return filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if p == root {
			return nil
		}
		rel, err := filepath.Rel(root, p)
		if err != nil {
			return err
		}
		rel = filepath.ToSlash(rel)
		e, err := lstatEntry(p)
		if err != nil {
			return err
		}
		return fn(rel, e)
	})
}

func lstatEntry(p string) (Entry, error) {
	fi, err := os.Lstat(p)
	if err != nil {
		return Entry{}, err
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return Entry{}, fmt.Errorf("%s: no stat data", p)
	}
	e := Entry{
		Mode:  fi.Mode(),
		UID:   st.Uid,
		GID:   st.Gid,
		Size:  st.Size,
		Mtime: st.Mtim.Nano(),
		Ctime: st.Ctim.Nano(),
		Dev:   uint64(st.Dev),
		Ino:   st.Ino,
		Nlink: uint64(st.Nlink),
	}
	if fi.Mode()&fs.ModeSymlink != 0 {
		if e.Link, err = os.Readlink(p); err != nil {
			return Entry{}, err
		}
	}
	if fi.IsDir() {
		// A directory's size and link count follow its contents, which
		// are compared on their own.
		e.Size, e.Nlink = 0, 0
	}
	return e, nil
}

// errNotInRoot guards against paths that leave the root.
var errNotInRoot = errors.New("path leaves the root")

// checkRel rejects paths that are absolute or contain "..".
func checkRel(p string) error {
	if p == "" || strings.HasPrefix(p, "/") {
		return errNotInRoot
	}
	for _, c := range strings.Split(p, "/") {
		if c == ".." || c == "." || c == "" {
			return errNotInRoot
		}
	}
	return nil
}
