package layer

import (
	"archive/tar"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"runtime"
	"slices"
	"time"

	"github.com/klauspost/pgzip"
	"golang.org/x/sys/unix"
)

// Compression settings of the layers Write produces. The compressed bytes
// depend on these and on the version of klauspost/compress (pinned in
// go.mod), never on GOMAXPROCS, the number of blocks in flight or timing:
// pgzip cuts the input into blocks of gzipBlockSize bytes whatever the
// Write calls, and compresses each one with the previous block's tail as
// dictionary.
const (
	DefaultLevel  = pgzip.BestSpeed
	gzipBlockSize = 1 << 20
)

// gzipBlocks is how many blocks pgzip compresses at once: one per thread
// Go may run, and at least 4.
func gzipBlocks() int { return max(4, runtime.GOMAXPROCS(0)) }

// WriteOptions controls Write and WriteFull.
type WriteOptions struct {
	// SourceDateEpoch clamps modification times: an entry's time is the
	// earlier of its own and this one, in whole seconds. The zero Time
	// means Unix time 1, as StageX sets SOURCE_DATE_EPOCH=1.
	SourceDateEpoch time.Time
	// KeepOwner writes each file's uid and gid (from Owners when listed
	// there, else from the file). Without it every entry is owned by 0:0.
	KeepOwner bool
	// Owners overrides the ownership of listed paths when KeepOwner is
	// set, e.g. the ownership Apply could not give.
	Owners map[string]Owner
	// SkipSpecial leaves out device nodes and sockets, which are
	// otherwise an error.
	SkipSpecial bool
	// Level is the gzip level, 1 to 9; 0 means DefaultLevel. Layers
	// written at different levels differ.
	Level int

	// blocks, for tests, replaces gzipBlocks() when not 0.
	blocks int
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
// layer to w and returns its digests, computed in the same pass. Added and
// modified paths are written as they are now in root, together with the
// directories that hold them; deleted ones become whiteouts (.wh.<name>).
// The output depends only on the paths, contents, modes, link targets and
// (with KeepOwner) ownership of the entries: entries are sorted with each
// directory right before its contents, times are clamped, user and group
// names left out, hard links within the layer point to the first of their
// names.
func Write(w io.Writer, root string, changes []Change, opts WriteOptions) (Result, error) {
	items := map[string]bool{} // path -> is a whiteout
	for _, c := range changes {
		if err := checkRel(c.Path); err != nil {
			return Result{}, fmt.Errorf("change %q: %w", c.Path, err)
		}
		p := c.Path
		if c.Kind == Deleted {
			p = path.Join(path.Dir(p), whiteoutPrefix+path.Base(p))
			items[p] = true
		} else {
			items[p] = false
		}
		for d := path.Dir(p); d != "."; d = path.Dir(d) {
			if _, ok := items[d]; ok {
				break
			}
			items[d] = false
		}
	}
	paths := make([]string, 0, len(items))
	for p := range items {
		paths = append(paths, p)
	}
	slices.SortFunc(paths, comparePaths)
	lw, err := newLayerWriter(w, root, opts)
	if err != nil {
		return Result{}, err
	}
	for _, p := range paths {
		var err error
		// Parents come first: each must have been written as a directory,
		// so that no path leads through a symbolic link out of root.
		if d := path.Dir(p); d != "." && !lw.dirs[d] {
			err = fmt.Errorf("%s: parent %s is not a directory", p, d)
		} else if items[p] {
			err = lw.whiteout(p)
		} else {
			err = lw.entry(p)
		}
		if err != nil {
			lw.abort()
			return Result{}, err
		}
	}
	return lw.close()
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

type layerWriter struct {
	root   string
	opts   WriteOptions
	epoch  time.Time
	out    *hashCounter // compressed bytes
	diffID hash.Hash    // uncompressed bytes
	gz     *pgzip.Writer
	tw     *tar.Writer
	links  map[inode]string
	dirs   map[string]bool // paths written as directories
	buf    []byte
}

func newLayerWriter(w io.Writer, root string, opts WriteOptions) (*layerWriter, error) {
	epoch := opts.SourceDateEpoch
	if epoch.IsZero() {
		epoch = time.Unix(1, 0)
	}
	level := opts.Level
	if level == 0 {
		level = DefaultLevel
	}
	if level < 1 || level > 9 {
		return nil, fmt.Errorf("gzip level %d: expected 1 to 9", level)
	}
	out := &hashCounter{w: w, h: sha256.New()}
	gz, err := pgzip.NewWriterLevel(out, level)
	if err != nil {
		return nil, err
	}
	lw := &layerWriter{
		root:   root,
		opts:   opts,
		epoch:  epoch.Truncate(time.Second),
		out:    out,
		diffID: sha256.New(),
		gz:     gz,
		links:  map[inode]string{},
		dirs:   map[string]bool{},
		buf:    make([]byte, 1<<20),
	}
	// Fixed header: no name or comment, mtime 0, OS "unknown" (255).
	gz.Name, gz.Comment, gz.Extra = "", "", nil
	gz.ModTime = time.Unix(0, 0)
	gz.OS = 255
	blocks := opts.blocks
	if blocks == 0 {
		blocks = gzipBlocks()
	}
	if err := gz.SetConcurrency(gzipBlockSize, blocks); err != nil {
		return nil, err
	}
	lw.tw = tar.NewWriter(io.MultiWriter(lw.diffID, gz))
	return lw, nil
}

func (lw *layerWriter) header(p string, st *unix.Stat_t) *tar.Header {
	mtime := time.Unix(st.Mtim.Unix())
	if mtime.After(lw.epoch) {
		mtime = lw.epoch
	}
	hdr := &tar.Header{
		Name:    p,
		Mode:    int64(st.Mode & 0o7777),
		ModTime: mtime.Truncate(time.Second),
		Format:  tar.FormatPAX,
	}
	if lw.opts.KeepOwner {
		hdr.Uid, hdr.Gid = int(st.Uid), int(st.Gid)
		if o, ok := lw.opts.Owners[p]; ok {
			hdr.Uid, hdr.Gid = o.UID, o.GID
		}
	}
	return hdr
}

func (lw *layerWriter) entry(p string) error {
	full := filepath.Join(lw.root, filepath.FromSlash(p))
	var st unix.Stat_t
	if err := unix.Lstat(full, &st); err != nil {
		return &fs.PathError{Op: "lstat", Path: full, Err: err}
	}
	hdr := lw.header(p, &st)
	var body *os.File
	switch st.Mode & unix.S_IFMT {
	case unix.S_IFDIR:
		hdr.Typeflag = tar.TypeDir
		hdr.Name += "/"
		lw.dirs[p] = true
	case unix.S_IFLNK:
		hdr.Typeflag = tar.TypeSymlink
		target, err := os.Readlink(full)
		if err != nil {
			return err
		}
		hdr.Linkname = target
	case unix.S_IFIFO:
		hdr.Typeflag = tar.TypeFifo
	case unix.S_IFREG:
		if st.Nlink > 1 {
			key := inode{uint64(st.Dev), st.Ino}
			if first, ok := lw.links[key]; ok {
				hdr.Typeflag = tar.TypeLink
				hdr.Linkname = first
				break
			}
			lw.links[key] = p
		}
		hdr.Typeflag = tar.TypeReg
		hdr.Size = st.Size
		fd, err := unix.Open(full, unix.O_RDONLY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
		if err != nil {
			return &fs.PathError{Op: "open", Path: full, Err: err}
		}
		body = os.NewFile(uintptr(fd), full)
		defer body.Close()
	default:
		if lw.opts.SkipSpecial {
			return nil
		}
		return fmt.Errorf("%s: device node or socket (mode %#o) cannot go in a layer; expected a file, directory, symbolic link or fifo", full, st.Mode)
	}
	if err := lw.tw.WriteHeader(hdr); err != nil {
		return fmt.Errorf("%s: %w", full, err)
	}
	if body != nil {
		// Plain Writer and Reader, so that CopyBuffer uses buf.
		n, err := io.CopyBuffer(struct{ io.Writer }{lw.tw}, struct{ io.Reader }{io.LimitReader(body, hdr.Size)}, lw.buf)
		if err != nil {
			return fmt.Errorf("%s: %w", full, err)
		}
		if n != hdr.Size {
			return fmt.Errorf("%s: shrank from %d to %d bytes while being written", full, hdr.Size, n)
		}
	}
	return nil
}

func (lw *layerWriter) whiteout(p string) error {
	return lw.tw.WriteHeader(&tar.Header{
		Name:     p,
		Typeflag: tar.TypeReg,
		ModTime:  lw.epoch,
		Format:   tar.FormatPAX,
	})
}

// abort stops the compressor's goroutines after a failure.
func (lw *layerWriter) abort() {
	lw.gz.Close()
}

func (lw *layerWriter) close() (Result, error) {
	if err := lw.tw.Close(); err != nil {
		lw.gz.Close()
		return Result{}, err
	}
	if err := lw.gz.Close(); err != nil {
		return Result{}, err
	}
	return Result{
		Digest: "sha256:" + hex.EncodeToString(lw.out.h.Sum(nil)),
		DiffID: "sha256:" + hex.EncodeToString(lw.diffID.Sum(nil)),
		Size:   lw.out.n,
	}, nil
}
