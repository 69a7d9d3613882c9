package box

import (
	"archive/tar"
	"bufio"
	"bytes"
	"compress/bzip2"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

func init() {
	register(tarMain, "tar")
}

type tarOpts struct {
	p                   *Proc
	name                string
	verbose, toStdout   bool
	keepOld, noMtime    bool
	noRecursion, deref  bool
	absolute, sameOwner bool
	strip               int
	uid, gid            int // overrides, -1 if none
	mtime               *time.Time
	excludes            []string
	dir                 string
	members             []string
	info                io.Writer // where -v goes
	trouble             bool
	dirTimes            []dirTime
	archive             os.FileInfo // the archive being written, never added to itself
	seenInodes          map[[2]uint64]string
}

type dirTime struct {
	path string
	t    time.Time
}

// tarLetterArgs expands the old bundled form "tar xzf file" into options.
func tarLetterArgs(args []string) []string {
	if len(args) == 0 || strings.HasPrefix(args[0], "-") {
		return args
	}
	out := []string{}
	rest := args[1:]
	for _, c := range args[0] {
		out = append(out, "-"+string(c))
		if (c == 'f' || c == 'C') && len(rest) > 0 {
			out = append(out, rest[0])
			rest = rest[1:]
		}
	}
	return append(out, rest...)
}

// tarMain is tar -c|-x|-t [-vzjaOkmhP] [-f ARCHIVE] [-C DIR] [--strip-components=N]
// [--exclude=GLOB]... [--owner=N] [--group=N] [--mtime=DATE] [--no-recursion] [FILE...].
// Options may also follow operands, and the first argument may be bundled
// letters without a dash ("xzf"). Owners are numeric only.
func tarMain(_ context.Context, p *Proc, args []string) int {
	rest := tarLetterArgs(args[1:])
	all := &flags{}
	var ops []string
	for len(rest) > 0 {
		f, o, err := getopt(rest, "cxtvzjaOkmhPpf:C:", "create=c", "extract=x", "get=x", "list=t",
			"verbose=v", "gzip=z", "gunzip=z", "bzip2=j", "auto-compress=a", "to-stdout=O",
			"keep-old-files=k", "touch=m", "dereference=h", "absolute-names=P",
			"preserve-permissions=p", "same-permissions=p", "file=f", "directory=C",
			"strip-components:", "exclude:", "owner:", "group:", "mtime:", "sort:", "format:",
			"no-recursion", "recursion", "numeric-owner", "same-owner", "no-same-owner",
			"no-same-permissions", "overwrite", "warning:", "no-xattrs", "no-acls", "no-selinux")
		if err != nil {
			return usageErr(p, args[0], err)
		}
		all.list = append(all.list, f.list...)
		if len(o) == 0 {
			break
		}
		ops = append(ops, o[0])
		rest = o[1:]
	}
	f := all
	o := &tarOpts{
		p: p, name: args[0], verbose: f.has("v"), toStdout: f.has("O"), keepOld: f.has("k"),
		noMtime: f.has("m"), noRecursion: f.has("no-recursion"), deref: f.has("h"),
		absolute: f.has("P"), uid: -1, gid: -1, excludes: f.all("exclude"), dir: p.Dir,
		sameOwner: os.Geteuid() == 0 && !f.has("no-same-owner") || f.has("same-owner"),
		info:      p.Stdout, seenInodes: map[[2]uint64]string{},
	}
	if d, ok := f.get("C"); ok {
		o.dir = p.Abs(d)
	}
	var err error
	if s, ok := f.get("strip-components"); ok {
		if o.strip, err = strconv.Atoi(s); err != nil || o.strip < 0 {
			return usageErr(p, args[0], fmt.Errorf("invalid --strip-components %q", s))
		}
	}
	for key, dst := range map[string]*int{"owner": &o.uid, "group": &o.gid} {
		if s, ok := f.get(key); ok {
			if *dst, err = lookupID(strings.TrimPrefix(s, "+"), key == "owner"); err != nil {
				return usageErr(p, args[0], err)
			}
		}
	}
	if s, ok := f.get("mtime"); ok {
		t, err := parseDate(s, time.UTC)
		if err != nil {
			fi, serr := os.Stat(p.Abs(s))
			if serr != nil {
				return usageErr(p, args[0], err)
			}
			t = fi.ModTime()
		}
		o.mtime = &t
	}
	modes := 0
	for _, m := range []string{"c", "x", "t"} {
		if f.has(m) {
			modes++
		}
	}
	if modes != 1 {
		return usageErr(p, args[0], errors.New("you must give exactly one of -c, -x, -t"))
	}
	archive, _ := f.get("f")
	if archive == "" {
		archive = "-"
	}
	if f.has("c") {
		if len(ops) == 0 {
			return usageErr(p, args[0], errors.New("refusing to create an empty archive"))
		}
		if f.has("j") {
			return usageErr(p, args[0], errors.New("bzip2 compression is not supported for writing"))
		}
		gz := f.has("z") || f.has("a") && (strings.HasSuffix(archive, ".gz") || strings.HasSuffix(archive, ".tgz"))
		return o.create(archive, gz, ops)
	}
	o.members = ops
	return o.read(archive, f.has("x"))
}

func (o *tarOpts) fail(format string, args ...any) {
	o.p.errf(o.name, format, args...)
	o.trouble = true
}

func (o *tarOpts) excluded(name string) bool {
	for _, pat := range o.excludes {
		clean := strings.TrimSuffix(name, "/")
		if ok, _ := filepath.Match(pat, clean); ok {
			return true
		}
		if ok, _ := filepath.Match(pat, filepath.Base(clean)); ok {
			return true
		}
	}
	return false
}

func (o *tarOpts) create(archive string, gz bool, ops []string) int {
	var out io.Writer = o.p.Stdout
	if archive != "-" {
		file, err := os.Create(o.p.Abs(archive))
		if err != nil {
			o.p.errf(o.name, "%v", err)
			return 2
		}
		defer file.Close()
		out = file
		o.archive, _ = file.Stat()
	} else {
		o.info = o.p.Stderr
	}
	bw := bufio.NewWriterSize(out, 64<<10)
	var w io.Writer = bw
	var zw *gzip.Writer
	if gz {
		zw = gzip.NewWriter(bw)
		w = zw
	}
	tw := tar.NewWriter(w)
	for _, op := range ops {
		root := op
		if !filepath.IsAbs(root) {
			root = filepath.Join(o.dir, op)
		}
		o.addTree(tw, root, op)
	}
	err := tw.Close()
	if err == nil && zw != nil {
		err = zw.Close()
	}
	if err == nil {
		err = bw.Flush()
	}
	if err != nil {
		o.p.errf(o.name, "%v", err)
		return 2
	}
	if o.trouble {
		return 2
	}
	return 0
}

// memberName is how a path given on the command line is stored.
func (o *tarOpts) memberName(name string) string {
	name = filepath.ToSlash(filepath.Clean(name))
	if !o.absolute {
		name = strings.TrimLeft(name, "/")
		if name == "" {
			name = "."
		}
	}
	return name
}

func (o *tarOpts) addTree(tw *tar.Writer, root, name string) {
	stat := os.Lstat
	if o.deref {
		stat = os.Stat
	}
	fi, err := stat(root)
	if err != nil {
		o.fail("%s: %v", name, unwrapSys(err))
		return
	}
	o.addOne(tw, root, o.memberName(name), fi)
	if !fi.IsDir() || o.noRecursion {
		return
	}
	entries, err := os.ReadDir(root)
	if err != nil {
		o.fail("%s: %v", name, unwrapSys(err))
		return
	}
	for _, e := range entries {
		child := filepath.Join(name, e.Name())
		if o.excluded(o.memberName(child)) {
			continue
		}
		o.addTree(tw, filepath.Join(root, e.Name()), child)
	}
}

func (o *tarOpts) addOne(tw *tar.Writer, path, name string, fi os.FileInfo) {
	if o.excluded(name) {
		return
	}
	if o.archive != nil && os.SameFile(fi, o.archive) {
		o.p.errf(o.name, "%s: file is the archive; not dumped", name)
		return
	}
	hdr := &tar.Header{
		Name:    name,
		Mode:    int64(modeBits(fi.Mode())),
		ModTime: fi.ModTime().Truncate(time.Second),
	}
	st, _ := fi.Sys().(*syscall.Stat_t)
	if st != nil {
		hdr.Uid, hdr.Gid = int(st.Uid), int(st.Gid)
	}
	if o.uid >= 0 {
		hdr.Uid = o.uid
	}
	if o.gid >= 0 {
		hdr.Gid = o.gid
	}
	if o.mtime != nil {
		hdr.ModTime = o.mtime.Truncate(time.Second)
	}
	m := fi.Mode()
	switch {
	case m.IsDir():
		hdr.Typeflag = tar.TypeDir
		if name != "." && !strings.HasSuffix(name, "/") {
			hdr.Name += "/"
		}
	case m&fs.ModeSymlink != 0:
		hdr.Typeflag = tar.TypeSymlink
		target, err := os.Readlink(path)
		if err != nil {
			o.fail("%s: %v", name, unwrapSys(err))
			return
		}
		hdr.Linkname = target
	case m.IsRegular():
		hdr.Typeflag = tar.TypeReg
		hdr.Size = fi.Size()
		if st != nil && st.Nlink > 1 {
			key := [2]uint64{uint64(st.Dev), st.Ino}
			if first, ok := o.seenInodes[key]; ok {
				hdr.Typeflag, hdr.Linkname, hdr.Size = tar.TypeLink, first, 0
			} else {
				o.seenInodes[key] = name
			}
		}
	case m&fs.ModeNamedPipe != 0:
		hdr.Typeflag = tar.TypeFifo
	case m&fs.ModeDevice != 0 && st != nil:
		hdr.Typeflag = tar.TypeBlock
		if m&fs.ModeCharDevice != 0 {
			hdr.Typeflag = tar.TypeChar
		}
		hdr.Devmajor, hdr.Devminor = int64(unix.Major(st.Rdev)), int64(unix.Minor(st.Rdev))
	default:
		o.p.errf(o.name, "%s: socket ignored", name)
		return
	}
	if o.verbose {
		fmt.Fprintln(o.info, hdr.Name)
	}
	if err := tw.WriteHeader(hdr); err != nil {
		o.fail("%s: %v", name, err)
		return
	}
	if hdr.Typeflag != tar.TypeReg {
		return
	}
	file, err := os.Open(path)
	if err != nil {
		o.fail("%s: %v", name, unwrapSys(err))
		return
	}
	defer file.Close()
	if _, err := io.CopyN(tw, file, hdr.Size); err != nil {
		// The header promised Size bytes; the archive cannot go on.
		o.fail("%s: %v", name, err)
	}
}

// decompressed wraps r according to its magic bytes (gzip, bzip2).
func decompressed(r io.Reader) (io.Reader, error) {
	br := bufio.NewReaderSize(r, 64<<10)
	magic, _ := br.Peek(6)
	switch {
	case bytes.HasPrefix(magic, []byte{0x1f, 0x8b}):
		return gzip.NewReader(br)
	case bytes.HasPrefix(magic, []byte("BZh")):
		return bzip2.NewReader(br), nil
	case bytes.HasPrefix(magic, []byte{0xfd, '7', 'z', 'X', 'Z', 0}):
		return nil, errors.New("xz compression is not supported")
	case bytes.HasPrefix(magic, []byte{0x28, 0xb5, 0x2f, 0xfd}):
		return nil, errors.New("zstd compression is not supported")
	}
	return br, nil
}

// wanted reports whether a member was asked for (all when none were named).
func (o *tarOpts) wanted(name string) bool {
	if len(o.members) == 0 {
		return true
	}
	name = strings.TrimSuffix(name, "/")
	for _, m := range o.members {
		m = strings.TrimSuffix(strings.TrimPrefix(m, "./"), "/")
		if name == m || strings.HasPrefix(name, m+"/") {
			return true
		}
	}
	return false
}

func (o *tarOpts) read(archive string, extract bool) int {
	var in io.Reader = o.p.Stdin
	if archive != "-" {
		file, err := os.Open(o.p.Abs(archive))
		if err != nil {
			o.p.errf(o.name, "%v", err)
			return 2
		}
		defer file.Close()
		in = file
	}
	r, err := decompressed(in)
	if err != nil {
		o.p.errf(o.name, "%s: %v", archive, err)
		return 2
	}
	if o.toStdout {
		o.info = o.p.Stderr
	}
	tr := tar.NewReader(r)
	found := map[string]bool{}
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			o.p.errf(o.name, "%s: %v", archive, err)
			return 2
		}
		name := strings.TrimPrefix(hdr.Name, "./")
		if name == "" || name == "." || name == "./" {
			name = "."
		}
		if !o.wanted(name) || o.excluded(name) {
			continue
		}
		for _, m := range o.members {
			if o.wantedBy(name, m) {
				found[m] = true
			}
		}
		if !extract {
			o.list(hdr)
			continue
		}
		if o.verbose {
			fmt.Fprintln(o.info, hdr.Name)
		}
		o.extract(tr, hdr)
	}
	for _, m := range o.members {
		if !found[m] {
			o.fail("%s: not found in archive", m)
		}
	}
	for i := len(o.dirTimes) - 1; i >= 0; i-- {
		d := o.dirTimes[i]
		os.Chtimes(d.path, d.t, d.t)
	}
	if o.trouble {
		return 2
	}
	return 0
}

func (o *tarOpts) wantedBy(name, m string) bool {
	m = strings.TrimSuffix(strings.TrimPrefix(m, "./"), "/")
	name = strings.TrimSuffix(name, "/")
	return name == m || strings.HasPrefix(name, m+"/")
}

func (o *tarOpts) list(hdr *tar.Header) {
	if !o.verbose {
		fmt.Fprintln(o.p.Stdout, hdr.Name)
		return
	}
	m := hdr.FileInfo().Mode()
	line := fmt.Sprintf("%s %d/%d %8d %s %s", modeString(m), hdr.Uid, hdr.Gid, hdr.Size,
		hdr.ModTime.UTC().Format("2006-01-02 15:04"), hdr.Name)
	switch hdr.Typeflag {
	case tar.TypeSymlink:
		line += " -> " + hdr.Linkname
	case tar.TypeLink:
		line += " link to " + hdr.Linkname
	}
	fmt.Fprintln(o.p.Stdout, line)
}

// localPath turns a member name into a path under o.dir, applying
// --strip-components; ok is false when the member is to be skipped.
func (o *tarOpts) localPath(name string) (string, bool) {
	name = strings.TrimLeft(name, "/")
	parts := strings.Split(strings.TrimSuffix(name, "/"), "/")
	var kept []string
	for _, c := range parts {
		if c == "" || c == "." {
			continue
		}
		if c == ".." {
			o.fail("%s: member name contains '..'", name)
			return "", false
		}
		kept = append(kept, c)
	}
	if len(kept) <= o.strip {
		if o.strip == 0 {
			return o.dir, true
		}
		return "", false
	}
	return filepath.Join(append([]string{o.dir}, kept[o.strip:]...)...), true
}

// safeParent makes the parent directories of path, refusing to go
// through a symbolic link below o.dir.
func (o *tarOpts) safeParent(path string) error {
	rel, err := filepath.Rel(o.dir, filepath.Dir(path))
	if err != nil || rel == "." {
		return err
	}
	cur := o.dir
	for c := range strings.SplitSeq(rel, "/") {
		cur = filepath.Join(cur, c)
		fi, err := os.Lstat(cur)
		if errors.Is(err, fs.ErrNotExist) {
			if err := os.Mkdir(cur, 0o755); err != nil {
				return err
			}
			continue
		}
		if err != nil {
			return err
		}
		if fi.Mode()&fs.ModeSymlink != 0 {
			return fmt.Errorf("refusing to extract through symbolic link %s", cur)
		}
		if !fi.IsDir() {
			return &fs.PathError{Op: "mkdir", Path: cur, Err: syscall.ENOTDIR}
		}
	}
	return nil
}

func (o *tarOpts) extract(tr *tar.Reader, hdr *tar.Header) {
	if o.toStdout {
		if hdr.Typeflag == tar.TypeReg {
			if _, err := io.Copy(o.p.Stdout, tr); err != nil {
				o.fail("%s: %v", hdr.Name, err)
			}
		}
		return
	}
	path, ok := o.localPath(hdr.Name)
	if !ok {
		return
	}
	if err := o.safeParent(path); err != nil {
		o.fail("%s: %v", hdr.Name, err)
		return
	}
	existing, statErr := os.Lstat(path)
	if statErr == nil && hdr.Typeflag != tar.TypeDir {
		if o.keepOld {
			o.fail("%s: cannot open: file exists", hdr.Name)
			return
		}
		// An empty directory gives way too; a full one makes this fail.
		if err := os.Remove(path); err != nil {
			o.fail("%s: %v", hdr.Name, unwrapSys(err))
			return
		}
	}
	mode := octalMode(uint32(hdr.Mode) & 0o7777)
	var err error
	switch hdr.Typeflag {
	case tar.TypeDir:
		if statErr == nil && !existing.IsDir() {
			if err = os.Remove(path); err != nil {
				break
			}
			statErr = fs.ErrNotExist
		}
		if statErr != nil {
			err = os.Mkdir(path, 0o700)
		}
		if err == nil {
			err = os.Chmod(path, mode)
		}
		if err == nil && !o.noMtime {
			o.dirTimes = append(o.dirTimes, dirTime{path, hdr.ModTime})
		}
	case tar.TypeReg:
		var file *os.File
		file, err = os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if err == nil {
			_, err = io.Copy(file, tr)
			if cerr := file.Close(); err == nil {
				err = cerr
			}
		}
		if err == nil {
			err = os.Chmod(path, mode)
		}
	case tar.TypeSymlink:
		err = os.Symlink(hdr.Linkname, path)
	case tar.TypeLink:
		target, ok := o.localPath(hdr.Linkname)
		if !ok {
			return
		}
		err = os.Link(target, path)
	case tar.TypeChar, tar.TypeBlock, tar.TypeFifo:
		kind := uint32(unix.S_IFIFO)
		switch hdr.Typeflag {
		case tar.TypeChar:
			kind = unix.S_IFCHR
		case tar.TypeBlock:
			kind = unix.S_IFBLK
		}
		dev := unix.Mkdev(uint32(hdr.Devmajor), uint32(hdr.Devminor))
		if e := unix.Mknod(path, kind|uint32(hdr.Mode)&0o7777, int(dev)); e != nil {
			err = &fs.PathError{Op: "mknod", Path: path, Err: e}
		}
	default:
		o.p.errf(o.name, "%s: unsupported entry type %q, skipped", hdr.Name, hdr.Typeflag)
		return
	}
	if err != nil {
		o.fail("%s: %v", hdr.Name, unwrapSys(err))
		return
	}
	if o.sameOwner {
		if err := os.Lchown(path, hdr.Uid, hdr.Gid); err != nil {
			o.fail("%s: %v", hdr.Name, unwrapSys(err))
		}
		if hdr.Typeflag != tar.TypeSymlink && mode&(fs.ModeSetuid|fs.ModeSetgid) != 0 {
			os.Chmod(path, mode) // chown clears set-id bits
		}
	}
	if !o.noMtime && hdr.Typeflag != tar.TypeDir && hdr.Typeflag != tar.TypeLink {
		ts := []unix.Timespec{unix.NsecToTimespec(hdr.ModTime.UnixNano()), unix.NsecToTimespec(hdr.ModTime.UnixNano())}
		unix.UtimesNanoAt(unix.AT_FDCWD, path, ts, unix.AT_SYMLINK_NOFOLLOW)
	}
}
