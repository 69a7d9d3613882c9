package stagebuild

import (
	"archive/tar"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
)

// An entry to copy: a file on disk and the path it gets in the stage's
// root filesystem.
type copyEntry struct {
	src  string // file on disk ("" for a heredoc)
	dest string // absolute slash path in the stage root
	data []byte // heredoc content, when src is ""
	info fs.FileInfo
}

// copyOptions are COPY's and ADD's --chmod and --chown.
type copyOptions struct {
	mode     fs.FileMode // permission bits from --chmod, or 0 to keep
	hasMode  bool
	uid, gid int
}

// writeTar streams entries as a tar whose names are their destinations,
// for layer.Apply to unpack inside the stage root (which keeps every write
// inside it). Parent directories that are not copied themselves are not
// emitted: Apply creates missing ones.
func writeTar(w io.Writer, entries []copyEntry, opts copyOptions) error {
	tw := tar.NewWriter(w)
	for _, e := range entries {
		name := strings.TrimPrefix(e.dest, "/")
		if name == "" {
			continue // the root itself
		}
		hdr := &tar.Header{
			Name:    name,
			ModTime: e.info.ModTime(),
			Uid:     opts.uid,
			Gid:     opts.gid,
			Format:  tar.FormatPAX,
		}
		perm := int64(unixPerm(e.info.Mode()))
		if opts.hasMode {
			perm = int64(opts.mode)
		}
		hdr.Mode = perm
		switch {
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

// treeEntries lists src (a file, link or directory on disk) for copying to
// dest. A directory's contents land in dest, not the directory itself, as
// COPY does; the directory's own mode goes to dest.
func treeEntries(src, dest string) ([]copyEntry, error) {
	info, err := os.Lstat(src)
	if err != nil {
		return nil, err
	}
	if !info.IsDir() {
		return []copyEntry{{src: src, dest: dest, info: info}}, nil
	}
	var out []copyEntry
	err = filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		out = append(out, copyEntry{src: p, dest: path.Join(dest, filepath.ToSlash(rel)), info: info})
		return nil
	})
	sort.SliceStable(out, func(i, j int) bool { return out[i].dest < out[j].dest })
	return out, err
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
