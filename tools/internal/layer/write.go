package layer

import (
	"archive/tar"
	"bufio"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/stagex/stagex-bazel/tools/internal/stagex"
)

// The bytes of a layer are the ones BuildKit writes for the same change
// with StageX's exporter options (rewrite-timestamp=true,
// force-compression=true, SOURCE_DATE_EPOCH=1):
//
//   - BuildKit's differ hands each changed path, in the order a walk of the
//     tree visits them, to containerd's tar change writer. That writer
//     gives each entry the header Go's tar.FileInfoHeader makes of the
//     file (permission and set-id bits, uid and gid, no user or group
//     names, no access or change time, mtime cut to the second, PAX
//     format), writes each parent directory not yet written right before
//     the first entry under it, writes a deleted path as an empty regular
//     file .wh.<name> dated 1970-01-01 (with atime and ctime records),
//     writes the second and later names of a hard-linked file as links to
//     the first, keeps only the security.capability extended attribute
//     and leaves sockets out.
//   - The exporter then reads that stream back through Go's tar reader,
//     clamps every time to SOURCE_DATE_EPOCH, writes it again through Go's
//     tar writer, and compresses it with Go's compress/gzip at the default
//     level.
//
// Write does the same two passes with the same Go packages, so the stream
// is what BuildKit's is; gzip's bytes depend on the Go release (see
// CheckDeflate).

// WriteOptions controls Write and WriteFull.
type WriteOptions struct {
	// SourceDateEpoch clamps times: an entry's time is the earlier of its
	// own and this one. The zero Time means Unix time 1, as StageX sets
	// SOURCE_DATE_EPOCH=1.
	SourceDateEpoch time.Time
	// KeepOwner writes each file's uid and gid (from Owners when listed
	// there, else from the file). Without it every entry is owned by 0:0.
	KeepOwner bool
	// Owners overrides the ownership of listed paths when KeepOwner is
	// set, e.g. the ownership Apply could not give.
	Owners map[string]Owner
}

// Result identifies a written layer.
type Result struct {
	// Digest is the sha256 of the compressed bytes, DiffID that of the
	// uncompressed tar, both as "sha256:<hex>".
	Digest, DiffID string
	// Size is the number of compressed bytes.
	Size int64
}

// Write writes the changes of the tree at root as a gzip-compressed tar
// layer to w, as BuildKit writes it, and returns its digests, computed in
// the same pass. changes must be in walk order (Diff's order); added and
// modified paths are written as they are now in root, deleted ones as
// whiteouts. The two passes (WriteTar, Compress) run concurrently.
func Write(w io.Writer, root string, changes []Change, opts WriteOptions) (Result, error) {
	if err := checkChanges(changes); err != nil {
		return Result{}, err
	}
	// First pass (containerd's change writer) into a pipe, second pass
	// (the exporter's timestamp rewrite and compression) out of it.
	pr, pw := io.Pipe()
	type compressed struct {
		res Result
		err error
	}
	done := make(chan compressed, 1)
	go func() {
		res, err := Compress(w, pr, opts)
		pr.CloseWithError(err)
		done <- compressed{res, err}
	}()
	err := writeTar(pw, root, changes, opts)
	pw.CloseWithError(err)
	c := <-done
	if err == nil {
		err = c.err
	}
	if err != nil {
		return Result{}, err
	}
	return c.res, nil
}

// WriteTar is Write's first pass alone: the changes of the tree at root as
// containerd's change writer writes them, an uncompressed tar whose times
// are not yet clamped. It reads root; Compress turns its output into the
// layer without looking at root again, so a caller may change root (run
// the next step) while Compress works.
func WriteTar(w io.Writer, root string, changes []Change, opts WriteOptions) error {
	if err := checkChanges(changes); err != nil {
		return err
	}
	return writeTar(w, root, changes, opts)
}

// Compress is Write's second pass: it reads a tar written by WriteTar,
// clamps its times to opts.SourceDateEpoch through Go's tar reader and
// writer as BuildKit's exporter does, compresses it with Go's compress/gzip
// at the default level into w, and returns the layer's digests and size.
func Compress(w io.Writer, r io.Reader, opts WriteOptions) (Result, error) {
	if err := CheckDeflate(); err != nil {
		return Result{}, err
	}
	epoch := opts.SourceDateEpoch
	if epoch.IsZero() {
		epoch = stagex.Epoch
	}
	out := &hashCounter{w: w, h: sha256.New()}
	bw := bufio.NewWriterSize(out, 128<<10)
	gz := gzip.NewWriter(bw)
	diffID := sha256.New()
	err := rewriteTimes(io.MultiWriter(diffID, gz), r, epoch)
	if err == nil {
		err = gz.Close()
	}
	if err == nil {
		err = bw.Flush()
	}
	if err != nil {
		return Result{}, err
	}
	return Result{
		Digest: "sha256:" + hex.EncodeToString(out.h.Sum(nil)),
		DiffID: "sha256:" + hex.EncodeToString(diffID.Sum(nil)),
		Size:   out.n,
	}, nil
}

// checkChanges refuses changes that cannot be written: paths outside the
// tree, and files named like OCI whiteouts.
func checkChanges(changes []Change) error {
	for _, c := range changes {
		if err := checkRel(c.Path); err != nil {
			return fmt.Errorf("change %q: %w", c.Path, err)
		}
		if strings.HasPrefix(path.Base(c.Path), whiteoutPrefix) {
			// Written as it is, it would delete files or empty a
			// directory when the image is unpacked; written as a
			// deletion it would be taken for AUFS metadata and lost.
			return fmt.Errorf("%s (%s): the name of an OCI whiteout (%s*) cannot be a file in a layer", c.Path, c.Kind, whiteoutPrefix)
		}
	}
	return nil
}

// writeTar is the first pass: containerd's change writer into w.
func writeTar(w io.Writer, root string, changes []Change, opts WriteOptions) error {
	cw := &changeWriter{
		root:  root,
		tw:    tar.NewWriter(w),
		opts:  opts,
		links: map[inode]string{},
		dirs:  map[string]bool{},
		buf:   make([]byte, 1<<20),
	}
	for _, c := range changes {
		if err := cw.change(c); err != nil {
			return err
		}
	}
	return cw.tw.Close()
}

// WriteFull writes every path of the tree at root as a layer, like Write.
func WriteFull(w io.Writer, root string, opts WriteOptions) (Result, error) {
	var changes []Change
	err := walk(root, func(rel string, _ Entry) error {
		changes = append(changes, Change{rel, Added})
		return nil
	})
	if err != nil {
		return Result{}, err
	}
	return Write(w, root, changes, opts)
}

// rewriteTimes copies the tar stream r to w entry by entry through Go's tar
// reader and writer, clamping each time to epoch.
func rewriteTimes(w io.Writer, r io.Reader, epoch time.Time) error {
	tr := tar.NewReader(r)
	tw := tar.NewWriter(w)
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			if err := tw.Close(); err != nil {
				return err
			}
			_, err = io.Copy(io.Discard, r)
			return err
		}
		if err != nil {
			return err
		}
		for _, t := range []*time.Time{&hdr.ModTime, &hdr.AccessTime, &hdr.ChangeTime} {
			if t.After(epoch) {
				*t = epoch
			}
		}
		if err := tw.WriteHeader(hdr); err != nil {
			return err
		}
		if _, err := io.Copy(tw, tr); err != nil {
			return err
		}
	}
}

// hashCounter hashes and counts what passes through it to w.
type hashCounter struct {
	w io.Writer
	h hash.Hash
	n int64
}

func (c *hashCounter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.h.Write(p[:n])
	c.n += int64(n)
	return n, err
}

type inode struct{ dev, ino uint64 }

// changeWriter is the first pass: containerd's tar change writer.
type changeWriter struct {
	root  string
	tw    *tar.Writer
	opts  WriteOptions
	links map[inode]string // first name written of each hard-linked inode
	dirs  map[string]bool  // directories written
	buf   []byte
}

func (cw *changeWriter) change(c Change) error {
	if c.Kind == Deleted {
		name := path.Join(path.Dir(c.Path), whiteoutPrefix+path.Base(c.Path))
		if err := cw.parents(name); err != nil {
			return err
		}
		if d := path.Dir(name); d != "." && !cw.dirs[d] {
			return fmt.Errorf("%s: parent %s is not a directory", c.Path, d)
		}
		zero := time.Unix(0, 0).UTC()
		return cw.tw.WriteHeader(&tar.Header{
			Typeflag:   tar.TypeReg,
			Name:       name,
			ModTime:    zero,
			AccessTime: zero,
			ChangeTime: zero,
		})
	}
	return cw.entry(c.Path)
}

// parents writes the directories above name that are not written yet,
// outermost first.
func (cw *changeWriter) parents(name string) error {
	dir := path.Dir(name)
	if dir == "." || cw.dirs[dir] {
		return nil
	}
	return cw.entry(dir)
}

func (cw *changeWriter) entry(p string) error {
	// Parents come first: each must have been written as a directory, so
	// that no path leads through a symbolic link out of root.
	if err := cw.parents(p); err != nil {
		return err
	}
	if d := path.Dir(p); d != "." && !cw.dirs[d] {
		return fmt.Errorf("%s: parent %s is not a directory", p, d)
	}
	full := filepath.Join(cw.root, filepath.FromSlash(p))
	var st unix.Stat_t
	if err := unix.Lstat(full, &st); err != nil {
		return &fs.PathError{Op: "lstat", Path: full, Err: err}
	}
	mode := st.Mode & unix.S_IFMT
	if mode == unix.S_IFSOCK {
		return nil // BuildKit leaves sockets out
	}
	hdr := &tar.Header{
		Name:    p,
		Mode:    int64(st.Mode & 0o7777),
		ModTime: time.Unix(st.Mtim.Unix()).Truncate(time.Second),
		Format:  tar.FormatPAX,
	}
	if cw.opts.KeepOwner {
		hdr.Uid, hdr.Gid = int(st.Uid), int(st.Gid)
		if o, ok := cw.opts.Owners[p]; ok {
			hdr.Uid, hdr.Gid = o.UID, o.GID
		}
	}
	var body *os.File
	switch mode {
	case unix.S_IFDIR:
		hdr.Typeflag = tar.TypeDir
		hdr.Name += "/"
	case unix.S_IFLNK:
		hdr.Typeflag = tar.TypeSymlink
		target, err := os.Readlink(full)
		if err != nil {
			return err
		}
		hdr.Linkname = target
	case unix.S_IFIFO:
		hdr.Typeflag = tar.TypeFifo
	case unix.S_IFCHR, unix.S_IFBLK:
		hdr.Typeflag = tar.TypeChar
		if mode == unix.S_IFBLK {
			hdr.Typeflag = tar.TypeBlock
		}
		hdr.Devmajor = int64(unix.Major(st.Rdev))
		hdr.Devminor = int64(unix.Minor(st.Rdev))
	case unix.S_IFREG:
		hdr.Typeflag = tar.TypeReg
		hdr.Size = st.Size
	default:
		return fmt.Errorf("%s: unknown file type (mode %#o)", full, st.Mode)
	}
	// A name of an inode with several names that is not the first written
	// is a hard link to the first (directories have no such names).
	if mode != unix.S_IFDIR && st.Nlink > 1 {
		key := inode{uint64(st.Dev), st.Ino}
		if first, ok := cw.links[key]; ok {
			hdr.Typeflag = tar.TypeLink
			hdr.Linkname = first
			hdr.Size = 0
		} else {
			cw.links[key] = hdr.Name
		}
	}
	if hdr.Typeflag == tar.TypeReg && hdr.Size > 0 {
		fd, err := unix.Open(full, unix.O_RDONLY|unix.O_NOFOLLOW|unix.O_CLOEXEC|unix.O_NONBLOCK, 0)
		if err != nil {
			return &fs.PathError{Op: "open", Path: full, Err: err}
		}
		body = os.NewFile(uintptr(fd), full)
		defer body.Close()
	}
	if cap, err := lgetxattr(full, "security.capability"); err != nil {
		return err
	} else if len(cap) > 0 {
		hdr.PAXRecords = map[string]string{"SCHILY.xattr.security.capability": string(cap)}
	}
	if hdr.Typeflag == tar.TypeDir {
		cw.dirs[p] = true
	}
	if err := cw.tw.WriteHeader(hdr); err != nil {
		return fmt.Errorf("%s: %w", full, err)
	}
	if body != nil {
		// Plain Writer and Reader, so that CopyBuffer uses buf.
		n, err := io.CopyBuffer(struct{ io.Writer }{cw.tw}, struct{ io.Reader }{io.LimitReader(body, hdr.Size)}, cw.buf)
		if err != nil {
			return fmt.Errorf("%s: %w", full, err)
		}
		if n != hdr.Size {
			return fmt.Errorf("%s: shrank from %d to %d bytes while being written", full, hdr.Size, n)
		}
	}
	return nil
}

// lgetxattr returns the value of an extended attribute of p (not following
// a symbolic link), or nil when p has none of that name or the file system
// keeps none.
func lgetxattr(p, name string) ([]byte, error) {
	buf := make([]byte, 256)
	for {
		n, err := unix.Lgetxattr(p, name, buf)
		switch {
		case err == nil:
			return buf[:n], nil
		case errors.Is(err, unix.ERANGE):
			buf = make([]byte, len(buf)*4)
		case errors.Is(err, unix.ENODATA), errors.Is(err, unix.ENOTSUP), errors.Is(err, unix.EOPNOTSUPP):
			return nil, nil
		default:
			return nil, &fs.PathError{Op: "lgetxattr", Path: p, Err: err}
		}
	}
}
