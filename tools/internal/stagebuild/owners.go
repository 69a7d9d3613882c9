package stagebuild

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/stagex/stagex-bazel/tools/internal/containerfile"
	"github.com/stagex/stagex-bazel/tools/internal/layer"
	"github.com/stagex/stagex-bazel/tools/internal/sandbox"
)

// Ownership of what a RUN step as a non-root USER creates in single-id mode.
//
// There the sandbox emulates the USER (see package sandbox): the step's
// files are on disk owned by the runner, like everything else, and would be
// recorded as 0:0. So the builder lists the root's paths before such a step
// and, after it, records every path that was not there before as owned by
// the USER's uid and gid in b.owners, which layer.Write prefers to the
// files' own ownership; so is a path that is now another file (another
// inode), as when the step replaced it (sed -i writes a new file and renames
// it over the old one). A path in a set-group-ID directory takes the
// directory's group instead, as the kernel gives it. Paths that are still
// the same file keep the owner they had. Not seen: a path deleted and
// created again that happens to get the freed inode back. Only non-root
// steps in single-id mode pay for the two walks.
//
// A root step in single-id mode may chown: the sandbox emulates the calls
// and reports them (sandbox.Chown), and recordChowns records the new
// owners in b.owners too. Snapshots count recorded owners as the files'
// own, so a chowned path is a changed one, as on disk in the range mode.
// A record belongs to a file, not a path: a RUN step that deletes a
// recorded path or puts another file there (rm and make again, sed -i)
// drops the record (dropReplaced), so the new file has the owner it was
// made with. Not seen: a new file that happens to get the freed inode
// back.

// singleID reports whether RUN steps run in the sandbox's single-id mode.
func (b *builder) singleID() bool {
	if b.single == nil {
		v := b.o.singleID || sandbox.SingleIDMode()
		b.single = &v
	}
	return *b.single
}

// emulatedOwner returns the ids of the USER of a RUN step when the sandbox
// will emulate it, that is in single-id mode for a non-root uid; ok is
// false otherwise. The USER is resolved with the root's /etc/passwd and
// /etc/group, as the sandbox resolves it.
func (b *builder) emulatedOwner(s *containerfile.Step) (o layer.Owner, ok bool, err error) {
	if s.User == "" || !b.singleID() {
		return layer.Owner{}, false, nil
	}
	passwd, err := layer.ResolvePath(b.root, "/etc/passwd")
	if err != nil {
		return layer.Owner{}, false, b.fail(s, "%v", err)
	}
	group, err := layer.ResolvePath(b.root, "/etc/group")
	if err != nil {
		return layer.Owner{}, false, b.fail(s, "%v", err)
	}
	id, err := sandbox.LookupUser(s.User, passwd, group)
	if err != nil {
		return layer.Owner{}, false, b.fail(s, "%v", err)
	}
	// uid 0 runs as the sandbox's own id 0 (or, with another gid, is
	// refused by the sandbox).
	if id.UID == 0 {
		return layer.Owner{}, false, nil
	}
	return layer.Owner{UID: int(id.UID), GID: int(id.GID)}, true, nil
}

// pathSet maps every path under root, relative to it with slashes, to the
// file it is (its inode).
func pathSet(root string) (map[string]uint64, error) {
	set := map[string]uint64{}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if p != root {
			rel, err := filepath.Rel(root, p)
			if err != nil {
				return err
			}
			ino, err := inode(d)
			if err != nil {
				return err
			}
			set[filepath.ToSlash(rel)] = ino
		}
		return nil
	})
	return set, err
}

// inode returns the inode number of a walked entry (without following a
// symbolic link).
func inode(d fs.DirEntry) (uint64, error) {
	fi, err := d.Info()
	if err != nil {
		return 0, err
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return 0, fmt.Errorf("%s: no inode number", fi.Name())
	}
	return st.Ino, nil
}

// ownNewPaths records o as the owner of every path under the root that is
// not in before, or is another file than before (a path in a set-group-ID
// directory gets that directory's group).
func (b *builder) ownNewPaths(before map[string]uint64, o layer.Owner) error {
	sgid := map[string]*int{} // directory -> its group if set-group-ID, else nil
	return filepath.WalkDir(b.root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || p == b.root {
			return err
		}
		rel, err := filepath.Rel(b.root, p)
		if err != nil {
			return err
		}
		rel = filepath.ToSlash(rel)
		if was, ok := before[rel]; ok {
			ino, err := inode(d)
			if err != nil {
				return err
			}
			if ino == was {
				return nil
			}
		}
		owner := o
		dir := path.Dir(rel)
		g, seen := sgid[dir]
		if !seen {
			if g, err = b.setgidGroup(dir); err != nil {
				return err
			}
			sgid[dir] = g
		}
		if g != nil {
			owner.GID = *g
		}
		b.owners[rel] = owner
		return nil
	})
}

// setgidGroup returns the group the layer records for the directory rel
// ("." is the root) if it is set-group-ID, and nil otherwise. The group is
// the recorded one (b.owners), else the directory's own as root, else 0,
// as ownersForWrite decides.
func (b *builder) setgidGroup(rel string) (*int, error) {
	fi, err := os.Lstat(filepath.Join(b.root, filepath.FromSlash(rel)))
	if err != nil {
		return nil, err
	}
	if fi.Mode()&fs.ModeSetgid == 0 {
		return nil, nil
	}
	var gid int
	if o, ok := b.owners[rel]; ok {
		gid = o.GID
	} else if st, ok := fi.Sys().(*syscall.Stat_t); ok && os.Geteuid() == 0 {
		gid = int(st.Gid)
	}
	return &gid, nil
}

// recordChowns records, in order, the ownership changes a root RUN step
// asked for in single-id mode, where the sandbox emulates chown (see
// sandbox.Chown): the ids a change leaves (-1) are the path's recorded
// owner, else its own (see diskOwners). A path gone by the end of the
// step loses its record.
func (b *builder) recordChowns(chowns []sandbox.Chown) error {
	owners := diskOwners(b.owners)
	for _, c := range chowns {
		rel := strings.TrimPrefix(path.Clean(c.Path), "/")
		if rel == "" {
			continue // the root, which no layer holds
		}
		fi, err := os.Lstat(filepath.Join(b.root, filepath.FromSlash(rel)))
		if errors.Is(err, fs.ErrNotExist) {
			delete(b.owners, rel)
			continue
		}
		if err != nil {
			return err
		}
		o := owners(rel, fi)
		if c.UID >= 0 {
			o.UID = c.UID
		}
		if c.GID >= 0 {
			o.GID = c.GID
		}
		b.owners[rel] = o
	}
	return nil
}

// recordedFiles maps each path b.owners records to the file (inode) it is
// now, in single-id mode; it is nil otherwise (no records are made there).
func (b *builder) recordedFiles() (map[string]uint64, error) {
	if !b.singleID() || len(b.owners) == 0 {
		return nil, nil
	}
	files := make(map[string]uint64, len(b.owners))
	for rel := range b.owners {
		var st syscall.Stat_t
		err := syscall.Lstat(filepath.Join(b.root, filepath.FromSlash(rel)), &st)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, err
		}
		files[rel] = st.Ino
	}
	return files, nil
}

// dropReplaced drops the records of the paths of files (see
// recordedFiles) that are gone or are another file now.
func (b *builder) dropReplaced(files map[string]uint64) error {
	for rel, ino := range files {
		var st syscall.Stat_t
		err := syscall.Lstat(filepath.Join(b.root, filepath.FromSlash(rel)), &st)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			delete(b.owners, rel)
		case err != nil:
			return err
		case st.Ino != ino:
			delete(b.owners, rel)
		}
	}
	return nil
}
