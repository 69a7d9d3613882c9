package layer

import (
	"archive/tar"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"os"
	"path"
	"slices"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/stagex/stagex-bazel/tools/internal/diag"
)

// OCI whiteout names.
const (
	whiteoutPrefix = ".wh."
	whiteoutMeta   = ".wh..wh."
	whiteoutOpaque = ".wh..wh..opq"
)

// Owner is a numeric user and group.
type Owner struct {
	UID, GID int
}

// ApplyOptions controls Apply.
type ApplyOptions struct {
	// Name identifies the layer in error messages (a file name or digest).
	Name string
	// Chown gives each entry the uid and gid recorded in the tar. When the
	// system refuses (EPERM, or EINVAL for an id unmapped in a user
	// namespace) Apply goes on and records the ownership in Owners.
	Chown bool
	// Owners, when not nil, receives the ownership the tar asked for of
	// every path (relative to the root) whose ownership was not applied,
	// because Chown is false or the system refused it. A path whose
	// ownership was applied loses the record it may have had, which an
	// earlier layer or step left and the entry replaced.
	Owners map[string]Owner
	// SkipDevices skips character and block device entries. Without it
	// they are an error.
	SkipDevices bool
	// AnyCompression accepts bzip2, xz and zstd streams too. Gzip and plain
	// tar are always accepted.
	AnyCompression bool
	// Whiteouts honours OCI whiteout entries (.wh.<name> deletes what
	// lower layers put at <name>, .wh..wh..opq empties its directory), as
	// unpacking an image layer must. Without it such entries are ordinary
	// files, as BuildKit extracts them from an archive that ADD unpacks.
	// Either way an entry .wh., .wh.. or .wh... is an error: it names no
	// file that a whiteout could delete.
	Whiteouts bool
	// DiffID, when set ("sha256:<hex>"), is the digest the uncompressed
	// tar must have, as an image config's rootfs.diff_ids gives it. Apply
	// fails when the stream's digest differs, naming both.
	DiffID string
	// MaxBytes bounds the file contents one Apply may write, counting the
	// size each regular entry declares (a sparse entry's full size), so
	// that a small crafted input (a gzip bomb, a sparse entry) cannot fill
	// the disk. Zero means DefaultMaxBytes.
	MaxBytes int64
}

// DefaultMaxBytes is the default ApplyOptions.MaxBytes: 64 GiB, more than
// any layer or archive a StageX package unpacks (the largest are a few GiB).
const DefaultMaxBytes = 64 << 30

// Apply unpacks the layer r (a tar stream, plain or gzip-compressed) onto
// the directory root, honouring OCI whiteouts when opts.Whiteouts is set.
// Every path is resolved inside root: names with ".." are rejected,
// absolute names are taken relative to root, and symbolic links in the tree
// are followed as if root were "/", so no entry can create or change
// anything outside root. The entry's own last component is never followed:
// an existing file, link or directory of another kind is replaced.
// Directories get their modes at the end, so that one closed to writing
// still receives its entries; none may lie deeper than MaxPathLen.
func Apply(root string, r io.Reader, opts ApplyOptions) error {
	name := opts.Name
	if name == "" {
		name = "layer"
	}
	br, c, err := peek(r)
	if err != nil {
		return diag.Errorf(name, 0, "read: %v", err)
	}
	if c != Uncompressed && c != Gzip && !opts.AnyCompression {
		return diag.Errorf(name, 0, "%s-compressed layer; expected a plain or gzip-compressed tar", c)
	}
	tr, err := decompress(br, c)
	if err != nil {
		return diag.Errorf(name, 0, "%v", err)
	}
	var diffID hash.Hash
	if opts.DiffID != "" {
		if !strings.HasPrefix(opts.DiffID, "sha256:") {
			return diag.Errorf(name, 0, "diff_id %q: expected sha256:<hex>", opts.DiffID)
		}
		diffID = sha256.New()
		tr = io.TeeReader(tr, diffID)
	}
	if opts.MaxBytes <= 0 {
		opts.MaxBytes = DefaultMaxBytes
	}
	rt, err := openRoot(root)
	if err != nil {
		return err
	}
	defer rt.close()
	a := &applier{
		root:      rt,
		opts:      opts,
		name:      name,
		touched:   map[string]bool{},
		layerDirs: map[fileKey]bool{},
		buf:       make([]byte, 1<<20),
	}
	rt.enter = a.open
	var st unix.Stat_t
	if err := unix.Fstat(rt.fd, &st); err != nil {
		return diag.Errorf(name, 0, "root %s: %v", root, err)
	}
	a.open(unix.AT_FDCWD, root, "", &st)
	if err := a.run(tar.NewReader(tr)); err != nil {
		return err
	}
	// Drain what follows the tar's end-of-archive blocks so that a
	// compressed stream's checksum is verified, within the same cap.
	n, err := io.Copy(io.Discard, io.LimitReader(tr, opts.MaxBytes+1))
	if err != nil {
		return diag.Errorf(name, 0, "after the end of the tar: %v", err)
	}
	if n > opts.MaxBytes {
		return diag.Errorf(name, 0, "more than %d bytes after the end of the tar, the cap on one layer or archive", opts.MaxBytes)
	}
	if diffID != nil {
		if got := "sha256:" + hex.EncodeToString(diffID.Sum(nil)); got != opts.DiffID {
			return diag.Errorf(name, 0, "uncompressed digest %s, but the image config's diff_id is %s", got, opts.DiffID)
		}
	}
	return nil
}

type dirTime struct {
	path  string
	mtime time.Time
}

type applier struct {
	root *root
	opts ApplyOptions
	name string
	// touched holds every path this layer wrote and all their parents:
	// whiteouts only hide what lower layers put there.
	touched  map[string]bool
	dirTimes []dirTime
	// dirModes holds the modes of the layer's directories, set once
	// everything is in them: a directory that forbids writing must still
	// receive its entries when nothing overrides its permissions.
	dirModes []dirMode
	// layerDirs holds the directories the layer has entries for, whose
	// modes are the layer's; opened holds the modes of the others that
	// had to be opened to their owner (see open), to be put back.
	layerDirs map[fileKey]bool
	opened    []openedDir
	buf       []byte
	entry     int
	// written counts the file bytes the entries declared so far.
	written int64
}

type dirMode struct {
	path string
	mode uint32
}

// fileKey identifies a file.
type fileKey struct {
	dev, ino uint64
}

func keyOf(st *unix.Stat_t) fileKey { return fileKey{uint64(st.Dev), uint64(st.Ino)} }

// openedDir is a directory of an earlier layer that open made writable
// and searchable for the time of Apply.
type openedDir struct {
	dirMode
	key fileKey
}

// open gives the owner of a directory the apply is about to enter (or the
// root) read, write and search permission if its mode withholds any, and
// notes the mode to put back: where nothing overrides permissions (no
// user namespace), a directory an earlier layer left 0555 or 0000 would
// otherwise refuse this layer's entries. Where the change is refused (not
// the owner), the operation that needs it fails as it would have.
func (a *applier) open(parent int, name, rel string, st *unix.Stat_t) {
	perm := st.Mode & 0o7777
	if perm&0o700 == 0o700 {
		return
	}
	if err := unix.Fchmodat(parent, name, perm|0o700, 0); err != nil {
		return
	}
	a.opened = append(a.opened, openedDir{dirMode{rel, perm}, keyOf(st)})
}

func (a *applier) errorf(hdrName string, format string, args ...any) error {
	return diag.Errorf(a.name, 0, "tar entry %d %q: %s", a.entry, hdrName, fmt.Sprintf(format, args...))
}

func (a *applier) run(tr *tar.Reader) error {
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		a.entry++
		if err != nil {
			return diag.Errorf(a.name, 0, "tar entry %d: %v", a.entry, err)
		}
		if err := a.apply(hdr, tr); err != nil {
			return err
		}
	}
	// Adding entries changed the times of their directories: set the
	// recorded ones last.
	for i := len(a.dirTimes) - 1; i >= 0; i-- {
		d := a.dirTimes[i]
		fd, base, err := a.root.parent(d.path, false, nil)
		if err != nil {
			return err
		}
		if base == "" {
			base = "."
		}
		err = setTimes(fd, base, d.mtime)
		unix.Close(fd)
		if err != nil {
			return fmt.Errorf("set times of %s: %w", d.path, err)
		}
	}
	return a.setDirModes()
}

// setDirModes gives the layer's directories their modes, deepest first so
// that a directory closed to its owner is closed after its contents are
// done. Of a directory listed twice the last mode counts, and one that a
// later entry replaced by another kind of file is left alone.
func (a *applier) setDirModes() error {
	// The walks below go through directories in the order their modes
	// are set: none is to be opened again.
	a.root.enter = nil
	last := map[string]int{}
	for i, d := range a.dirModes {
		last[d.path] = i
	}
	var todo []openedDir
	for i, d := range a.dirModes {
		if last[d.path] == i {
			todo = append(todo, openedDir{dirMode: d})
		}
	}
	// Directories opened for the layer get their modes back, unless the
	// layer gave them modes of its own.
	for _, d := range a.opened {
		if !a.layerDirs[d.key] {
			todo = append(todo, d)
		}
	}
	depth := func(p string) int {
		if p == "" {
			return 0
		}
		return strings.Count(p, "/") + 1
	}
	slices.SortStableFunc(todo, func(x, y openedDir) int { return depth(y.path) - depth(x.path) })
	for _, d := range todo {
		pfd, base, err := a.root.parent(d.path, false, nil)
		if err != nil {
			return diag.Errorf(a.name, 0, "set mode of %s: %v", d.path, err)
		}
		if base == "" {
			base = "."
		}
		fd, err := unix.Openat(pfd, base, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
		unix.Close(pfd)
		if errors.Is(err, unix.ENOENT) || errors.Is(err, unix.ENOTDIR) || errors.Is(err, unix.ELOOP) {
			continue
		}
		if err == nil {
			var st unix.Stat_t
			// An opened directory that the layer replaced keeps the
			// mode it was made with.
			if d.key == (fileKey{}) || unix.Fstat(fd, &st) == nil && keyOf(&st) == d.key {
				err = unix.Fchmod(fd, d.mode)
			}
			unix.Close(fd)
		}
		if err != nil {
			return diag.Errorf(a.name, 0, "set mode of %s: %v", d.path, err)
		}
	}
	return nil
}

// touch records that the layer wrote p, and so its parents.
func (a *applier) touch(p string) {
	for p != "" && !a.touched[p] {
		a.touched[p] = true
		p = path.Dir(p)
		if p == "." {
			p = ""
		}
	}
}

func (a *applier) apply(hdr *tar.Header, body io.Reader) error {
	rel, err := cleanName(hdr.Name)
	if err != nil {
		return a.errorf(hdr.Name, "%v; expected a path inside the root", err)
	}
	if hdr.Typeflag == tar.TypeXGlobalHeader {
		return nil
	}
	base := path.Base(rel)
	if strings.HasPrefix(base, whiteoutPrefix) {
		switch base[len(whiteoutPrefix):] {
		case "", ".", "..":
			// As a whiteout it would hide the directory it is in or
			// the one above; as a file it is a trap for the next
			// unpacking.
			return a.errorf(hdr.Name, "whiteout names no file")
		}
	}
	if a.opts.Whiteouts {
		switch {
		case base == whiteoutOpaque:
			return a.opaque(hdr.Name, path.Dir(rel))
		case strings.HasPrefix(base, whiteoutMeta):
			// Other AUFS metadata (.wh..wh.plnk, .wh..wh.aufs): not content.
			return nil
		case strings.HasPrefix(base, whiteoutPrefix):
			return a.whiteout(hdr.Name, path.Join(path.Dir(rel), base[len(whiteoutPrefix):]))
		}
	}
	if rel == "" {
		if hdr.Typeflag != tar.TypeDir {
			return a.errorf(hdr.Name, "names the root, which can only be a directory")
		}
		return a.dirMeta(hdr, a.root.fd, ".", "")
	}
	switch hdr.Typeflag {
	case tar.TypeChar, tar.TypeBlock:
		if a.opts.SkipDevices {
			return nil
		}
		return a.errorf(hdr.Name, "device node (type %q) not allowed in a layer; set SkipDevices to skip it", hdr.Typeflag)
	case tar.TypeReg, tar.TypeRegA, tar.TypeDir, tar.TypeSymlink, tar.TypeLink, tar.TypeFifo:
	default:
		return a.errorf(hdr.Name, "unsupported entry type %q", hdr.Typeflag)
	}
	if hdr.Typeflag == tar.TypeReg || hdr.Typeflag == tar.TypeRegA {
		// A sparse entry declares its full size, holes included.
		if hdr.Size > a.opts.MaxBytes-a.written {
			return a.errorf(hdr.Name, "its %d bytes would make the files written more than %d bytes, the cap on one layer or archive", hdr.Size, a.opts.MaxBytes)
		}
		a.written += hdr.Size
	}

	dirfd, base, err := a.root.parent(rel, true, a.touch)
	if err != nil {
		return a.errorf(hdr.Name, "%v", err)
	}
	defer unix.Close(dirfd)

	// Make room, unless a directory lands on a directory: then the two
	// merge.
	var st unix.Stat_t
	switch err := unix.Fstatat(dirfd, base, &st, unix.AT_SYMLINK_NOFOLLOW); {
	case err == nil:
		if hdr.Typeflag == tar.TypeDir && st.Mode&unix.S_IFMT == unix.S_IFDIR {
			break
		}
		if err := removeAll(dirfd, base); err != nil {
			return a.errorf(hdr.Name, "replace existing: %v", err)
		}
	case errors.Is(err, unix.ENOENT):
	default:
		return a.errorf(hdr.Name, "%v", err)
	}
	a.touch(rel)

	switch hdr.Typeflag {
	case tar.TypeReg, tar.TypeRegA:
		err = a.file(hdr, body, dirfd, base, rel)
	case tar.TypeDir:
		if err = unix.Mkdirat(dirfd, base, 0o700); err != nil && !errors.Is(err, unix.EEXIST) {
			break
		}
		err = a.dirMeta(hdr, dirfd, base, rel)
	case tar.TypeSymlink:
		if err = unix.Symlinkat(hdr.Linkname, dirfd, base); err == nil {
			err = a.meta(hdr, dirfd, base, rel, false)
		}
	case tar.TypeLink:
		err = a.link(hdr, dirfd, base)
		// A new name of a file has the file's owner, also where it could
		// only be recorded.
		if o, ok := a.opts.Owners[path.Clean(strings.TrimPrefix(hdr.Linkname, "/"))]; err == nil && ok {
			a.opts.Owners[rel] = o
		}
	case tar.TypeFifo:
		if err = unix.Mknodat(dirfd, base, unix.S_IFIFO|0o600, 0); err == nil {
			err = a.meta(hdr, dirfd, base, rel, true)
		}
	}
	if err != nil {
		return a.errorf(hdr.Name, "%v", err)
	}
	return nil
}

func (a *applier) file(hdr *tar.Header, body io.Reader, dirfd int, base, rel string) error {
	fd, err := unix.Openat(dirfd, base, unix.O_WRONLY|unix.O_CREAT|unix.O_EXCL|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o600)
	if err != nil {
		return err
	}
	f := os.NewFile(uintptr(fd), rel)
	defer f.Close()
	// Plain Writer and Reader, so that CopyBuffer uses buf.
	if _, err := io.CopyBuffer(struct{ io.Writer }{f}, struct{ io.Reader }{body}, a.buf); err != nil {
		return err
	}
	if err := a.chown(hdr, rel, func(uid, gid int) error { return unix.Fchown(fd, uid, gid) }); err != nil {
		return err
	}
	if err := unix.Fchmod(fd, uint32(hdr.Mode&0o7777)); err != nil {
		return err
	}
	return setTimes(dirfd, base, hdr.ModTime)
}

// dirMeta sets a directory's owner now and its mode and times at the end.
func (a *applier) dirMeta(hdr *tar.Header, dirfd int, base, rel string) error {
	// O_PATH: a directory of an earlier layer may be closed even to its
	// owner.
	fd, err := unix.Openat(dirfd, base, unix.O_PATH|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return err
	}
	a.layerDirs[keyOf(&st)] = true
	if err := a.chown(hdr, rel, func(uid, gid int) error {
		return unix.Fchownat(fd, "", uid, gid, unix.AT_EMPTY_PATH)
	}); err != nil {
		return err
	}
	a.dirModes = append(a.dirModes, dirMode{rel, uint32(hdr.Mode & 0o7777)})
	a.dirTimes = append(a.dirTimes, dirTime{rel, hdr.ModTime})
	return nil
}

// meta sets owner, mode (unless a symlink) and times of a just-made entry.
func (a *applier) meta(hdr *tar.Header, dirfd int, base, rel string, chmod bool) error {
	err := a.chown(hdr, rel, func(uid, gid int) error {
		return unix.Fchownat(dirfd, base, uid, gid, unix.AT_SYMLINK_NOFOLLOW)
	})
	if err != nil {
		return err
	}
	if chmod {
		// base was just made by us and is not a symbolic link.
		if err := unix.Fchmodat(dirfd, base, uint32(hdr.Mode&0o7777), 0); err != nil {
			return err
		}
	}
	return setTimes(dirfd, base, hdr.ModTime)
}

func (a *applier) chown(hdr *tar.Header, rel string, chown func(uid, gid int) error) error {
	if a.opts.Chown {
		err := chown(hdr.Uid, hdr.Gid)
		if err == nil {
			delete(a.opts.Owners, rel)
			return nil
		}
		if !errors.Is(err, unix.EPERM) && !errors.Is(err, unix.EINVAL) {
			return err
		}
	}
	if a.opts.Owners != nil {
		a.opts.Owners[rel] = Owner{hdr.Uid, hdr.Gid}
	}
	return nil
}

func (a *applier) link(hdr *tar.Header, dirfd int, base string) error {
	target, err := cleanName(hdr.Linkname)
	if err != nil {
		return fmt.Errorf("link target %q: %w", hdr.Linkname, err)
	}
	if target == "" {
		return fmt.Errorf("link target %q is the root", hdr.Linkname)
	}
	tfd, tbase, err := a.root.parent(target, false, nil)
	if err != nil {
		return fmt.Errorf("link target %q: %w", hdr.Linkname, err)
	}
	defer unix.Close(tfd)
	// Flags 0: a symbolic link target is linked itself, not followed.
	return unix.Linkat(tfd, tbase, dirfd, base, 0)
}

// whiteout removes what lower layers put at rel.
func (a *applier) whiteout(hdrName, rel string) error {
	b := path.Base(rel)
	if rel == "" || b == "." || b == ".." || b == "" {
		return a.errorf(hdrName, "whiteout names no file")
	}
	if a.touched[rel] {
		return nil
	}
	dirfd, base, err := a.root.parent(rel, false, nil)
	if errors.Is(err, unix.ENOENT) || errors.Is(err, unix.ENOTDIR) {
		return nil // nothing there to hide
	}
	if err != nil {
		return a.errorf(hdrName, "%v", err)
	}
	defer unix.Close(dirfd)
	if err := removeAll(dirfd, base); err != nil {
		return a.errorf(hdrName, "%v", err)
	}
	return nil
}

// opaque removes from directory dir everything lower layers put there.
func (a *applier) opaque(hdrName, dir string) error {
	if dir == "." {
		dir = ""
	}
	fd, err := a.root.openDir(dir, true, a.touch)
	if err != nil {
		return a.errorf(hdrName, "%v", err)
	}
	defer unix.Close(fd)
	a.touch(dir)
	if err := a.prune(fd, dir); err != nil {
		return a.errorf(hdrName, "opaque directory: %v", err)
	}
	return nil
}

// prune removes the entries of the directory open as dirfd (at rel) that
// this layer did not write, going down into those it did.
func (a *applier) prune(dirfd int, rel string) error {
	fd, err := unix.Openat(dirfd, ".", unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return err
	}
	var keep []string
	err = removeChildren(fd, func(name string) bool {
		if a.touched[path.Join(rel, name)] {
			keep = append(keep, name)
			return true
		}
		return false
	})
	if err != nil {
		return err
	}
	for _, name := range keep {
		sub, err := unix.Openat(dirfd, name, unix.O_PATH|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
		if errors.Is(err, unix.ENOTDIR) || errors.Is(err, unix.ELOOP) {
			continue
		}
		if err != nil {
			return err
		}
		err = a.prune(sub, path.Join(rel, name))
		unix.Close(sub)
		if err != nil {
			return err
		}
	}
	return nil
}

// setTimes sets name's access and modification times to t without
// following a symbolic link.
func setTimes(dirfd int, name string, t time.Time) error {
	ts := unix.NsecToTimespec(t.UnixNano())
	return unix.UtimesNanoAt(dirfd, name, []unix.Timespec{ts, ts}, unix.AT_SYMLINK_NOFOLLOW)
}
