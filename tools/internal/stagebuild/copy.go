package stagebuild

import (
	"archive/tar"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/stagex/stagex-bazel/tools/internal/layer"
	"github.com/stagex/stagex-bazel/tools/internal/stagex"
)

// COPY and ADD follow BuildKit's file copy (its Dockerfile frontend asks
// for a copy that follows the source's symbolic links and copies a
// directory's contents, creating the destination path), one source at a
// time:
//   - the destination's directory (the destination itself when it ends in
//     "/", else its parent) is created where missing, and so is the
//     destination of a directory's contents; directories created so get
//     mode 0755, or the --chmod mode, and the --chown owner (else 0:0),
//     never the source directory's metadata;
//   - below a copied directory, every file, link and directory takes the
//     source's mode (or --chmod's), owner (or --chown's) and times, also
//     where it lands on an existing directory;
//   - names of one file (hard links) inside one copied source stay links
//     to each other.

// An entry to copy: a file on disk and the path it gets in the stage's
// root filesystem.
type copyEntry struct {
	src   string // file on disk ("" for a heredoc or a made-up directory)
	dest  string // absolute slash path in the stage root
	data  []byte // heredoc content, when src is ""
	info  fs.FileInfo
	owner layer.Owner // the source's owner, kept without --chown
	link  string      // dest of an earlier entry this is a hard link to
	// ownMode keeps info's mode under --chmod (a directory COPY creates).
	ownMode bool
}

// copyOptions are COPY's and ADD's --chmod and --chown.
type copyOptions struct {
	mode    fs.FileMode // permission bits from --chmod
	hasMode bool
	chown   *layer.Owner // the --chown owner, or nil to keep the source's
}

// owner is the owner an entry is written with.
func (o copyOptions) owner(e copyEntry) layer.Owner {
	if o.chown != nil {
		return *o.chown
	}
	return e.owner
}

// madeInfo describes a file or directory the copy makes up: a heredoc, a
// directory of the build context, a directory COPY creates.
type madeInfo struct {
	size  int64
	mode  fs.FileMode
	mtime time.Time
}

func (m madeInfo) Name() string       { return "" }
func (m madeInfo) Size() int64        { return m.size }
func (m madeInfo) Mode() fs.FileMode  { return m.mode }
func (m madeInfo) ModTime() time.Time { return m.mtime }
func (m madeInfo) IsDir() bool        { return m.mode.IsDir() }
func (m madeInfo) Sys() any           { return nil }

// madeTime is the time of what a copy makes up: the build's
// SOURCE_DATE_EPOCH, which the layer's times are clamped to anyway.
var madeTime = stagex.Epoch

// heredocInfo describes a COPY heredoc: a regular 0644 file.
func heredocInfo(size int64) fs.FileInfo { return madeInfo{size: size, mode: 0o644, mtime: madeTime} }

// writeTar streams entries as a tar whose names are their destinations,
// for layer.Apply to unpack inside the stage root (which keeps every write
// inside it).
func writeTar(w io.Writer, entries []copyEntry, opts copyOptions) error {
	tw := tar.NewWriter(w)
	for _, e := range entries {
		name := strings.TrimPrefix(e.dest, "/")
		if name == "" {
			continue // the root itself
		}
		owner := opts.owner(e)
		hdr := &tar.Header{
			Name:    name,
			ModTime: e.info.ModTime(),
			Uid:     owner.UID,
			Gid:     owner.GID,
			Format:  tar.FormatPAX,
		}
		perm := int64(unixPerm(e.info.Mode()))
		if opts.hasMode && !e.ownMode {
			perm = int64(opts.mode)
		}
		hdr.Mode = perm
		switch {
		case e.link != "":
			hdr.Typeflag = tar.TypeLink
			hdr.Linkname = strings.TrimPrefix(e.link, "/")
		case e.info.Mode().IsDir():
			hdr.Typeflag = tar.TypeDir
			hdr.Name += "/"
		case e.info.Mode()&fs.ModeSymlink != 0:
			target, err := os.Readlink(e.src)
			if err != nil {
				return err
			}
			hdr.Typeflag = tar.TypeSymlink
			hdr.Linkname = target
		case e.info.Mode().IsRegular():
			hdr.Typeflag = tar.TypeReg
			hdr.Size = e.info.Size()
			if e.src == "" {
				hdr.Size = int64(len(e.data))
			}
		default:
			return fmt.Errorf("%s: cannot copy %s (only files, directories and symbolic links)", e.src, e.info.Mode().Type())
		}
		if err := tw.WriteHeader(hdr); err != nil {
			return err
		}
		if hdr.Typeflag == tar.TypeReg {
			if e.src == "" {
				if _, err := tw.Write(e.data); err != nil {
					return err
				}
				continue
			}
			f, err := os.Open(e.src)
			if err != nil {
				return err
			}
			_, err = io.Copy(tw, f)
			f.Close()
			if err != nil {
				return err
			}
		}
	}
	return tw.Close()
}

// unixPerm keeps the permission, setuid, setgid and sticky bits of m, in
// the numeric form tar uses.
func unixPerm(m fs.FileMode) fs.FileMode {
	p := m.Perm()
	if m&fs.ModeSetuid != 0 {
		p |= 0o4000
	}
	if m&fs.ModeSetgid != 0 {
		p |= 0o2000
	}
	if m&fs.ModeSticky != 0 {
		p |= 0o1000
	}
	return p
}

// ownerOf tells the owner of a file of an unpacked image: the one its
// layer recorded where the runner could not give it, else the file's own.
type ownerOf func(rel string, info fs.FileInfo) layer.Owner

// diskOwners is the ownerOf of a tree unpacked with records: the
// recorded owner, else the file's as root; an unprivileged runner owns
// every file it made, which stands for 0:0.
func diskOwners(records map[string]layer.Owner) ownerOf {
	return func(rel string, info fs.FileInfo) layer.Owner {
		if o, ok := records[rel]; ok {
			return o
		}
		if st, ok := info.Sys().(*syscall.Stat_t); ok && os.Geteuid() == 0 {
			return layer.Owner{UID: int(st.Uid), GID: int(st.Gid)}
		}
		return layer.Owner{}
	}
}

// treeEntries lists src (a file, link or directory on disk, at rel in its
// tree) for copying to dest. Of a directory only the contents are listed,
// to land in dest: the directory itself is not copied. Hard links inside
// the listed tree become links to the first name of their file.
func treeEntries(src, rel, dest string, owners ownerOf) ([]copyEntry, error) {
	info, err := os.Lstat(src)
	if err != nil {
		return nil, err
	}
	if !info.IsDir() {
		return []copyEntry{{src: src, dest: dest, info: info, owner: owners(rel, info)}}, nil
	}
	type inode struct{ dev, ino uint64 }
	first := map[inode]string{}
	var out []copyEntry
	err = filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil || p == src {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		sub, _ := filepath.Rel(src, p)
		sub = filepath.ToSlash(sub)
		e := copyEntry{src: p, dest: path.Join(dest, sub), info: info, owner: owners(path.Join(rel, sub), info)}
		if st, ok := info.Sys().(*syscall.Stat_t); ok && info.Mode().IsRegular() && st.Nlink > 1 {
			key := inode{uint64(st.Dev), st.Ino}
			if to, ok := first[key]; ok {
				e.link = to
			} else {
				first[key] = e.dest
			}
		}
		out = append(out, e)
		return nil
	})
	return out, err
}

// contextDirs makes up the directories between the context directory dir
// ("" for the whole context) and its files listed in entries: a build
// context holds files only, and BuildKit copies its directories as a
// checkout has them, 0755. srcs are the entries' context paths.
func contextDirs(dir, dest string, srcs []string) []copyEntry {
	seen := map[string]bool{}
	var out []copyEntry
	for _, p := range srcs {
		rel := p
		if dir != "" {
			rel = strings.TrimPrefix(p, dir+"/")
		}
		parts := strings.Split(rel, "/")
		for i := 1; i < len(parts); i++ {
			d := strings.Join(parts[:i], "/")
			if seen[d] {
				continue
			}
			seen[d] = true
			out = append(out, copyEntry{dest: path.Join(dest, d), info: madeInfo{mode: fs.ModeDir | 0o755, mtime: madeTime}})
		}
	}
	return out
}

// missingDirs lists, parents first, the directories dir and its parents
// that do not exist in root, made up as COPY creates them: 0755 or the
// permission bits of the --chmod mode, and the --chown owner (applied by
// writeTar). dir is resolved in root first, symbolic links and all, so the
// directories are made where the links lead. A path that exists as
// something else than a directory is an error.
func missingDirs(root, dir string, opts copyOptions) ([]copyEntry, error) {
	host, err := layer.ResolvePath(root, dir)
	if err != nil {
		return nil, err
	}
	rel, err := filepath.Rel(root, host)
	if err != nil {
		return nil, err
	}
	mode := fs.FileMode(0o755)
	if opts.hasMode {
		mode = opts.mode & 0o777
	}
	var out []copyEntry
	for d := filepath.ToSlash(rel); d != "." && d != "/"; d = path.Dir(d) {
		info, err := os.Lstat(filepath.Join(root, d))
		if err == nil {
			if !info.IsDir() {
				return nil, fmt.Errorf("%s: not a directory", dir)
			}
			break
		}
		if !errors.Is(err, fs.ErrNotExist) {
			return nil, err
		}
		out = append([]copyEntry{{dest: "/" + d, info: madeInfo{mode: fs.ModeDir | mode, mtime: madeTime}, ownMode: true}}, out...)
	}
	return out, nil
}

// destFor applies COPY's rule for where one source lands: into dest when
// dest names a directory (trailing slash, several sources, or an existing
// directory), else at dest itself.
func destFor(dest, srcBase string, intoDir bool) string {
	if intoDir {
		return path.Join(dest, srcBase)
	}
	return dest
}

// isGlob reports whether a COPY source uses wildcards.
func isGlob(s string) bool { return strings.ContainsAny(s, "*?[") }

// contextInfo describes a build context file with its permissions
// normalised to 0755 when its owner may execute it and 0644 otherwise, the
// two modes Git records. The bits on disk depend on the umask of whoever
// checked the tree out or ran Bazel, which Bazel's cache keys do not see.
type contextInfo struct{ fs.FileInfo }

func (c contextInfo) Mode() fs.FileMode {
	m := c.FileInfo.Mode()
	if m&0o100 != 0 {
		return m.Type() | 0o755
	}
	return m.Type() | 0o644
}
