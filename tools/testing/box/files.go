package box

import (
	"context"
	"crypto/rand"
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
	register(catMain, "cat")
	register(cpMain, "cp")
	register(lnMain, "ln")
	register(installUtilMain, "install")
	register(readlinkMain, "readlink")
	register(realpathMain, "realpath")
	register(basenameMain, "basename")
	register(dirnameMain, "dirname")
	register(rmdirMain, "rmdir")
	register(mktempMain, "mktemp")
	register(chownMain, "chown")
	register(chmodMain, "chmod")
	register(touchMain, "touch")
}

// usageErr reports a command-line problem and returns status 2 for it
// (grep, test and sh) or 1 (everything else).
func usageErr(p *Proc, name string, err error) int {
	p.errf(name, "%v", err)
	switch name {
	case "grep", "test", "[", "sh", "cmp":
		return 2
	}
	return 1
}

// eachInput calls fn for every operand opened for reading, "-" or no
// operands meaning stdin. Failures are reported; the result is 1 if any.
func eachInput(p *Proc, name string, ops []string, fn func(display string, r io.Reader) error) int {
	if len(ops) == 0 {
		ops = []string{"-"}
	}
	status := 0
	for _, op := range ops {
		var err error
		if op == "-" {
			err = fn(op, p.Stdin)
		} else {
			var f *os.File
			f, err = os.Open(p.Abs(op))
			if err == nil {
				var fi os.FileInfo
				if fi, err = f.Stat(); err == nil && fi.IsDir() {
					err = syscall.EISDIR
				} else if err == nil {
					err = fn(op, f)
				}
				f.Close()
			}
		}
		if err != nil {
			p.errf(name, "%s: %v", op, unwrapSys(err))
			status = 1
		}
	}
	return status
}

func catMain(_ context.Context, p *Proc, args []string) int {
	_, ops, err := getopt(args[1:], "u")
	if err != nil {
		return usageErr(p, args[0], err)
	}
	return eachInput(p, args[0], ops, func(_ string, r io.Reader) error {
		_, err := io.Copy(p.Stdout, r)
		return err
	})
}

// cpOpts are cp's choices.
type cpOpts struct {
	p                   *Proc
	name                string
	recursive, preserve bool
	derefTop, derefAll  bool
	noClobber, force    bool
	verbose             bool
}

func cpMain(_ context.Context, p *Proc, args []string) int {
	a := make([]string, 0, len(args))
	for _, s := range args[1:] {
		if strings.HasPrefix(s, "--preserve") {
			s = "-p"
		}
		a = append(a, s)
	}
	f, ops, err := getopt(a, "aRrpfdPLHnvTt:", "recursive=R", "archive=a", "force=f",
		"no-dereference=P", "dereference=L", "no-clobber=n", "verbose=v",
		"no-target-directory=T", "target-directory=t")
	if err != nil {
		return usageErr(p, args[0], err)
	}
	o := &cpOpts{p: p, name: args[0]}
	o.recursive = f.has("R") || f.has("r") || f.has("a")
	o.preserve = f.has("p") || f.has("a")
	noDeref := f.has("P") || f.has("d") || f.has("a")
	o.derefAll = f.has("L") && !noDeref
	o.derefTop = o.derefAll || f.has("H") || (!o.recursive && !noDeref)
	o.noClobber, o.force, o.verbose = f.has("n"), f.has("f"), f.has("v")
	srcs, dst, intoDir, err := targets(p, ops, f)
	if err != nil {
		return usageErr(p, args[0], err)
	}
	status := 0
	for _, src := range srcs {
		to := dst
		if intoDir {
			to = filepath.Join(dst, filepath.Base(src))
		}
		if err := o.copy(p.Abs(src), p.Abs(to), true); err != nil {
			p.errf(args[0], "%v", err)
			status = 1
		}
	}
	return status
}

// targets splits operands into sources and a destination for cp, mv-like
// and install: with -t DIR, or a last operand that is a directory, every
// source goes into it.
func targets(p *Proc, ops []string, f *flags) (srcs []string, dst string, intoDir bool, err error) {
	if dir, ok := f.get("t"); ok {
		if len(ops) == 0 {
			return nil, "", false, errors.New("missing file operand")
		}
		return ops, dir, true, nil
	}
	if len(ops) < 2 {
		return nil, "", false, errors.New("missing destination operand")
	}
	srcs, dst = ops[:len(ops)-1], ops[len(ops)-1]
	if !f.has("T") {
		if fi, err := os.Stat(p.Abs(dst)); err == nil && fi.IsDir() {
			intoDir = true
		}
	}
	if len(srcs) > 1 && !intoDir {
		return nil, "", false, fmt.Errorf("target %s is not a directory", dst)
	}
	return srcs, dst, intoDir, nil
}

func (o *cpOpts) copy(src, dst string, top bool) error {
	stat := os.Lstat
	if o.derefAll || (top && o.derefTop) {
		stat = os.Stat
	}
	fi, err := stat(src)
	if err != nil {
		return err
	}
	dfi, derr := os.Lstat(dst)
	if derr == nil && os.SameFile(fi, dfi) {
		return fmt.Errorf("%s and %s are the same file", src, dst)
	}
	if o.noClobber && derr == nil {
		return nil
	}
	if o.verbose {
		fmt.Fprintf(o.p.Stdout, "'%s' -> '%s'\n", src, dst)
	}
	switch mode := fi.Mode(); {
	case mode.IsDir():
		if !o.recursive {
			return fmt.Errorf("-r not specified; omitting directory %s", src)
		}
		if dst == src || strings.HasPrefix(dst, src+"/") {
			return fmt.Errorf("cannot copy a directory, %s, into itself, %s", src, dst)
		}
		if derr == nil && !dfi.IsDir() {
			return fmt.Errorf("cannot overwrite non-directory %s with directory %s", dst, src)
		}
		if derr != nil {
			if err := os.Mkdir(dst, mode.Perm()|0o700); err != nil {
				return err
			}
		}
		entries, err := os.ReadDir(src)
		if err != nil {
			return err
		}
		var errs []error
		for _, e := range entries {
			if err := o.copy(filepath.Join(src, e.Name()), filepath.Join(dst, e.Name()), false); err != nil {
				errs = append(errs, err)
			}
		}
		if derr != nil || o.preserve {
			if err := os.Chmod(dst, fsMode(mode)); err != nil {
				errs = append(errs, err)
			}
		}
		if o.preserve {
			errs = append(errs, preserveMeta(dst, fi))
		}
		return errors.Join(errs...)
	case mode&fs.ModeSymlink != 0:
		target, err := os.Readlink(src)
		if err != nil {
			return err
		}
		if derr == nil {
			if dfi.IsDir() {
				return fmt.Errorf("cannot overwrite directory %s with non-directory", dst)
			}
			if err := os.Remove(dst); err != nil {
				return err
			}
		}
		if err := os.Symlink(target, dst); err != nil {
			return err
		}
		if o.preserve {
			return preserveMeta(dst, fi)
		}
		return nil
	case mode.IsRegular():
		if derr == nil && dfi.IsDir() {
			return fmt.Errorf("cannot overwrite directory %s with non-directory", dst)
		}
		if err := copyFileData(src, dst, mode.Perm(), o.force); err != nil {
			return err
		}
		if o.preserve {
			if err := os.Chmod(dst, fsMode(mode)); err != nil {
				return err
			}
			return preserveMeta(dst, fi)
		}
		return nil
	default:
		if !o.recursive && !o.preserve {
			return fmt.Errorf("%s: cannot copy a special file without -R", src)
		}
		if derr == nil {
			if err := os.Remove(dst); err != nil {
				return err
			}
		}
		st, ok := fi.Sys().(*syscall.Stat_t)
		if !ok {
			return fmt.Errorf("%s: unsupported file type", src)
		}
		if err := unix.Mknod(dst, st.Mode, int(st.Rdev)); err != nil {
			return &fs.PathError{Op: "mknod", Path: dst, Err: err}
		}
		return preserveMeta(dst, fi)
	}
}

// copyFileData copies a regular file's bytes; a new file gets perm (less
// the umask), an existing one keeps its mode. force retries an existing
// file that cannot be opened by removing it first.
func copyFileData(src, dst string, perm fs.FileMode, force bool) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, perm)
	if err != nil && force {
		if os.Remove(dst) == nil {
			out, err = os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, perm)
		}
	}
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// fsMode keeps the permission and set-id/sticky bits of m, as os.Chmod takes them.
func fsMode(m fs.FileMode) fs.FileMode {
	return m & (fs.ModePerm | fs.ModeSetuid | fs.ModeSetgid | fs.ModeSticky)
}

// preserveMeta copies ownership (when permitted) and times from fi to path,
// without following a symbolic link at path.
func preserveMeta(path string, fi fs.FileInfo) error {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return nil
	}
	if err := os.Lchown(path, int(st.Uid), int(st.Gid)); err != nil && !errors.Is(err, fs.ErrPermission) {
		return err
	}
	ts := []unix.Timespec{
		unix.NsecToTimespec(time.Unix(st.Atim.Sec, st.Atim.Nsec).UnixNano()),
		unix.NsecToTimespec(fi.ModTime().UnixNano()),
	}
	if err := unix.UtimesNanoAt(unix.AT_FDCWD, path, ts, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return &fs.PathError{Op: "utimes", Path: path, Err: err}
	}
	return nil
}

func lnMain(_ context.Context, p *Proc, args []string) int {
	f, ops, err := getopt(args[1:], "sfnTvrt:", "symbolic=s", "force=f", "no-dereference=n",
		"no-target-directory=T", "verbose=v", "relative=r", "target-directory=t")
	if err != nil {
		return usageErr(p, args[0], err)
	}
	if len(ops) == 1 && !f.has("t") {
		ops = append(ops, ".")
	}
	var srcs []string
	var dst string
	intoDir := false
	if dir, ok := f.get("t"); ok {
		srcs, dst, intoDir = ops, dir, true
	} else if len(ops) < 2 {
		return usageErr(p, args[0], errors.New("missing file operand"))
	} else {
		srcs, dst = ops[:len(ops)-1], ops[len(ops)-1]
		if !f.has("T") {
			stat := os.Stat
			if f.has("n") {
				stat = os.Lstat
			}
			if fi, err := stat(p.Abs(dst)); err == nil && fi.IsDir() {
				intoDir = true
			}
		}
		if len(srcs) > 1 && !intoDir {
			return usageErr(p, args[0], fmt.Errorf("target %s is not a directory", dst))
		}
	}
	status := 0
	for _, src := range srcs {
		link := dst
		if intoDir {
			link = filepath.Join(dst, filepath.Base(src))
		}
		abs := p.Abs(link)
		if f.has("f") {
			if fi, err := os.Lstat(abs); err == nil && !fi.IsDir() {
				os.Remove(abs)
			}
		}
		if f.has("s") {
			target := src
			if f.has("r") {
				if rel, err := filepath.Rel(filepath.Dir(abs), p.Abs(src)); err == nil {
					target = rel
				}
			}
			err = os.Symlink(target, abs)
		} else {
			err = os.Link(p.Abs(src), abs)
		}
		if err != nil {
			p.errf(args[0], "%v", err)
			status = 1
			continue
		}
		if f.has("v") {
			fmt.Fprintf(p.Stdout, "'%s' -> '%s'\n", link, src)
		}
	}
	return status
}

// installUtilMain is install [-cCDsp] [-m MODE] [-o USER] [-g GROUP] SRC... DST, or install -d DIR...
func installUtilMain(_ context.Context, p *Proc, args []string) int {
	f, ops, err := getopt(args[1:], "cCdDpsvm:o:g:t:T", "directory=d", "mode=m", "owner=o",
		"group=g", "target-directory=t", "no-target-directory=T", "verbose=v", "preserve-timestamps=p",
		"strip=s", "compare=C")
	if err != nil {
		return usageErr(p, args[0], err)
	}
	mode := fs.FileMode(0o755)
	if m, ok := f.get("m"); ok {
		if mode, err = parseMode(m, 0, false); err != nil {
			return usageErr(p, args[0], err)
		}
	}
	uid, gid := -1, -1
	if o, ok := f.get("o"); ok {
		if uid, err = lookupID(o, true); err != nil {
			return usageErr(p, args[0], err)
		}
	}
	if g, ok := f.get("g"); ok {
		if gid, err = lookupID(g, false); err != nil {
			return usageErr(p, args[0], err)
		}
	}
	finish := func(path string) error {
		if err := os.Chmod(path, mode); err != nil {
			return err
		}
		if uid >= 0 || gid >= 0 {
			return os.Chown(path, uid, gid)
		}
		return nil
	}
	status := 0
	fail := func(err error) {
		p.errf(args[0], "%v", err)
		status = 1
	}
	if f.has("d") {
		if len(ops) == 0 {
			return usageErr(p, args[0], errors.New("missing directory operand"))
		}
		for _, d := range ops {
			if err := os.MkdirAll(p.Abs(d), 0o755); err != nil {
				fail(err)
			} else if err := finish(p.Abs(d)); err != nil {
				fail(err)
			}
		}
		return status
	}
	if f.has("D") && !f.has("t") && len(ops) == 2 {
		if err := os.MkdirAll(filepath.Dir(p.Abs(ops[1])), 0o755); err != nil {
			return usageErr(p, args[0], err)
		}
	}
	if dir, ok := f.get("t"); ok && f.has("D") {
		if err := os.MkdirAll(p.Abs(dir), 0o755); err != nil {
			return usageErr(p, args[0], err)
		}
	}
	srcs, dst, intoDir, err := targets(p, ops, f)
	if err != nil {
		return usageErr(p, args[0], err)
	}
	for _, src := range srcs {
		to := dst
		if intoDir {
			to = filepath.Join(dst, filepath.Base(src))
		}
		abs := p.Abs(to)
		fi, err := os.Stat(p.Abs(src))
		if err == nil && fi.IsDir() {
			err = fmt.Errorf("omitting directory %s", src)
		}
		if err == nil {
			if dfi, derr := os.Lstat(abs); derr == nil && !dfi.IsDir() {
				os.Remove(abs)
			}
			err = copyFileData(p.Abs(src), abs, 0o600, true)
		}
		if err == nil {
			err = finish(abs)
		}
		if err == nil && f.has("p") {
			err = os.Chtimes(abs, fi.ModTime(), fi.ModTime())
		}
		if err != nil {
			fail(err)
		} else if f.has("v") {
			fmt.Fprintf(p.Stdout, "'%s' -> '%s'\n", src, to)
		}
	}
	return status
}

// parseMode reads an octal mode or a chmod-style symbolic one
// ("u+x,go-w", "a=rX") applied to base.
func parseMode(spec string, base fs.FileMode, isDir bool) (fs.FileMode, error) {
	if n, err := strconv.ParseUint(spec, 8, 32); err == nil {
		if n > 0o7777 {
			return 0, fmt.Errorf("invalid mode %q", spec)
		}
		return octalMode(uint32(n)), nil
	}
	bits := modeBits(base)
	for clause := range strings.SplitSeq(spec, ",") {
		i := 0
		var who uint32
		for ; i < len(clause) && strings.IndexByte("ugoa", clause[i]) >= 0; i++ {
			switch clause[i] {
			case 'u':
				who |= 0o4700
			case 'g':
				who |= 0o2070
			case 'o':
				who |= 0o1007
			case 'a':
				who |= 0o7777
			}
		}
		if who == 0 {
			who = 0o7777 &^ 0o022 // no who: as if a, less the usual umask
		}
		if i >= len(clause) {
			return 0, fmt.Errorf("invalid mode %q", spec)
		}
		for i < len(clause) {
			op := clause[i]
			if op != '+' && op != '-' && op != '=' {
				return 0, fmt.Errorf("invalid mode %q", spec)
			}
			i++
			var perm uint32
			for ; i < len(clause) && strings.IndexByte("rwxXst", clause[i]) >= 0; i++ {
				switch clause[i] {
				case 'r':
					perm |= 0o444
				case 'w':
					perm |= 0o222
				case 'x':
					perm |= 0o111
				case 'X':
					if isDir || bits&0o111 != 0 {
						perm |= 0o111
					}
				case 's':
					perm |= 0o6000
				case 't':
					perm |= 0o1000
				}
			}
			perm &= who
			switch op {
			case '+':
				bits |= perm
			case '-':
				bits &^= perm
			case '=':
				mask := who & 0o777
				if who&0o4000 != 0 {
					mask |= 0o4000
				}
				if who&0o2000 != 0 {
					mask |= 0o2000
				}
				bits = bits&^mask | perm
			}
		}
	}
	return octalMode(bits), nil
}

func octalMode(n uint32) fs.FileMode {
	m := fs.FileMode(n & 0o777)
	if n&0o4000 != 0 {
		m |= fs.ModeSetuid
	}
	if n&0o2000 != 0 {
		m |= fs.ModeSetgid
	}
	if n&0o1000 != 0 {
		m |= fs.ModeSticky
	}
	return m
}

func modeBits(m fs.FileMode) uint32 {
	n := uint32(m.Perm())
	if m&fs.ModeSetuid != 0 {
		n |= 0o4000
	}
	if m&fs.ModeSetgid != 0 {
		n |= 0o2000
	}
	if m&fs.ModeSticky != 0 {
		n |= 0o1000
	}
	return n
}

// rawAbs prefixes a relative path with p.Dir without cleaning it, so that
// "link/.." still goes through the link.
func (p *Proc) rawAbs(path string) string {
	if filepath.IsAbs(path) {
		return path
	}
	return p.Dir + "/" + path
}

// How much of a path canonicalize needs to exist.
const (
	existNone    = iota // readlink -m
	existButLast        // readlink -f, realpath
	existAll            // readlink -e, realpath -e
)

// canonicalize resolves every symbolic link in the absolute path abs.
func canonicalize(abs string, need int) (string, error) {
	comps := strings.Split(abs, "/")
	resolved := "/"
	links := 0
	for len(comps) > 0 {
		c := comps[0]
		comps = comps[1:]
		switch c {
		case "", ".":
			continue
		case "..":
			resolved = filepath.Dir(resolved)
			continue
		}
		last := true
		for _, r := range comps {
			if r != "" && r != "." {
				last = false
			}
		}
		next := filepath.Join(resolved, c)
		fi, err := os.Lstat(next)
		if err != nil {
			if need == existAll || (need == existButLast && !last) || !errors.Is(err, fs.ErrNotExist) {
				return "", err
			}
			resolved = next
			continue
		}
		if fi.Mode()&fs.ModeSymlink != 0 {
			if links++; links > 40 {
				return "", &fs.PathError{Op: "resolve", Path: abs, Err: syscall.ELOOP}
			}
			target, err := os.Readlink(next)
			if err != nil {
				return "", err
			}
			if filepath.IsAbs(target) {
				resolved = "/"
			}
			comps = append(strings.Split(target, "/"), comps...)
			continue
		}
		if !fi.IsDir() && !last && need != existNone {
			return "", &fs.PathError{Op: "resolve", Path: next, Err: syscall.ENOTDIR}
		}
		resolved = next
	}
	return resolved, nil
}

func readlinkMain(_ context.Context, p *Proc, args []string) int {
	f, ops, err := getopt(args[1:], "femnqsvz", "canonicalize=f", "canonicalize-existing=e",
		"canonicalize-missing=m", "no-newline=n", "quiet=q", "silent=s", "verbose=v", "zero=z")
	if err == nil && len(ops) == 0 {
		err = errors.New("missing operand")
	}
	if err != nil {
		return usageErr(p, args[0], err)
	}
	end := "\n"
	if f.has("z") {
		end = "\x00"
	} else if f.has("n") && len(ops) == 1 {
		end = ""
	}
	status := 0
	for _, op := range ops {
		var out string
		switch {
		case f.has("e"):
			out, err = canonicalize(p.rawAbs(op), existAll)
		case f.has("f"):
			out, err = canonicalize(p.rawAbs(op), existButLast)
		case f.has("m"):
			out, err = canonicalize(p.rawAbs(op), existNone)
		default:
			out, err = os.Readlink(p.Abs(op))
		}
		if err != nil {
			if f.has("v") {
				p.errf(args[0], "%s: %v", op, unwrapSys(err))
			}
			status = 1
			continue
		}
		fmt.Fprint(p.Stdout, out+end)
	}
	return status
}

func realpathMain(_ context.Context, p *Proc, args []string) int {
	f, ops, err := getopt(args[1:], "emqsz", "canonicalize-existing=e", "canonicalize-missing=m",
		"quiet=q", "strip=s", "no-symlinks=s", "zero=z", "relative-to:")
	if err == nil && len(ops) == 0 {
		err = errors.New("missing operand")
	}
	if err != nil {
		return usageErr(p, args[0], err)
	}
	need := existButLast
	if f.has("e") {
		need = existAll
	} else if f.has("m") {
		need = existNone
	}
	resolve := func(path string) (string, error) {
		if f.has("s") {
			return p.Abs(path), nil
		}
		return canonicalize(p.rawAbs(path), need)
	}
	base, rel := f.get("relative-to")
	if rel {
		if base, err = resolve(base); err != nil {
			return usageErr(p, args[0], err)
		}
	}
	end := "\n"
	if f.has("z") {
		end = "\x00"
	}
	status := 0
	for _, op := range ops {
		out, err := resolve(op)
		if err == nil && rel {
			out, err = filepath.Rel(base, out)
		}
		if err != nil {
			if !f.has("q") {
				p.errf(args[0], "%s: %v", op, unwrapSys(err))
			}
			status = 1
			continue
		}
		fmt.Fprint(p.Stdout, out+end)
	}
	return status
}

// baseName is POSIX basename: trailing slashes do not count.
func baseName(s, suffix string) string {
	if s == "" {
		return ""
	}
	t := strings.TrimRight(s, "/")
	if t == "" {
		return "/"
	}
	b := t[strings.LastIndexByte(t, '/')+1:]
	if suffix != "" && b != suffix {
		b = strings.TrimSuffix(b, suffix)
	}
	return b
}

func basenameMain(_ context.Context, p *Proc, args []string) int {
	f, ops, err := getopt(args[1:], "as:z", "multiple=a", "suffix=s", "zero=z")
	if err == nil && len(ops) == 0 {
		err = errors.New("missing operand")
	}
	if err != nil {
		return usageErr(p, args[0], err)
	}
	suffix, multi := f.get("s")
	multi = multi || f.has("a")
	if !multi {
		if len(ops) > 2 {
			return usageErr(p, args[0], fmt.Errorf("extra operand %s", ops[2]))
		}
		if len(ops) == 2 {
			suffix = ops[1]
		}
		ops = ops[:1]
	}
	end := "\n"
	if f.has("z") {
		end = "\x00"
	}
	for _, op := range ops {
		fmt.Fprint(p.Stdout, baseName(op, suffix)+end)
	}
	return 0
}

func dirnameMain(_ context.Context, p *Proc, args []string) int {
	f, ops, err := getopt(args[1:], "z", "zero=z")
	if err == nil && len(ops) == 0 {
		err = errors.New("missing operand")
	}
	if err != nil {
		return usageErr(p, args[0], err)
	}
	end := "\n"
	if f.has("z") {
		end = "\x00"
	}
	for _, op := range ops {
		t := strings.TrimRight(op, "/")
		if t == "" && op != "" {
			t = "/"
		}
		fmt.Fprint(p.Stdout, filepath.Dir(t)+end)
	}
	return 0
}

func rmdirMain(_ context.Context, p *Proc, args []string) int {
	f, ops, err := getopt(args[1:], "pv", "parents=p", "verbose=v", "ignore-fail-on-non-empty")
	if err == nil && len(ops) == 0 {
		err = errors.New("missing operand")
	}
	if err != nil {
		return usageErr(p, args[0], err)
	}
	status := 0
	for _, op := range ops {
		dirs := []string{op}
		if f.has("p") {
			for d := filepath.Dir(filepath.Clean(op)); d != "." && d != "/"; d = filepath.Dir(d) {
				dirs = append(dirs, d)
			}
		}
		for _, d := range dirs {
			abs := p.Abs(d)
			err := unix.Rmdir(abs)
			if err != nil {
				if !(f.has("ignore-fail-on-non-empty") && errors.Is(err, syscall.ENOTEMPTY)) {
					p.errf(args[0], "%s: %v", d, err)
					status = 1
				}
				break
			}
			if f.has("v") {
				fmt.Fprintf(p.Stdout, "rmdir: removing directory, '%s'\n", d)
			}
		}
	}
	return status
}

const tempChars = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

// mktempMain is mktemp [-dqu] [-p DIR | --tmpdir[=DIR]] [-t] [TEMPLATE].
func mktempMain(_ context.Context, p *Proc, args []string) int {
	a := make([]string, 0, len(args))
	for _, s := range args[1:] {
		if s == "--tmpdir" {
			s = "-t"
		}
		a = append(a, s)
	}
	f, ops, err := getopt(a, "dqutp:", "directory=d", "quiet=q", "dry-run=u", "tmpdir=p", "suffix:")
	if err == nil && len(ops) > 1 {
		err = errors.New("too many templates")
	}
	if err != nil {
		return usageErr(p, args[0], err)
	}
	fail := func(err error) int {
		if !f.has("q") {
			p.errf(args[0], "%v", err)
		}
		return 1
	}
	tmpl := "tmp.XXXXXXXXXX"
	inTmp := f.has("t") || f.has("p") || len(ops) == 0
	if len(ops) == 1 {
		tmpl = ops[0]
	}
	suffix, _ := f.get("suffix")
	if !strings.HasSuffix(tmpl, "XXX") {
		return fail(fmt.Errorf("too few X's in template %q", tmpl))
	}
	if inTmp {
		if strings.Contains(tmpl, "/") {
			return fail(fmt.Errorf("invalid template %q: contains a directory separator", tmpl))
		}
		dir, _ := f.get("p")
		if dir == "" {
			dir = p.Getenv("TMPDIR")
		}
		if dir == "" {
			dir = "/tmp"
		}
		tmpl = filepath.Join(dir, tmpl)
	}
	xs := len(tmpl) - len(strings.TrimRight(tmpl, "X"))
	for range 100 {
		rnd := make([]byte, xs)
		rand.Read(rnd)
		for i := range rnd {
			rnd[i] = tempChars[int(rnd[i])%len(tempChars)]
		}
		name := tmpl[:len(tmpl)-xs] + string(rnd) + suffix
		abs := p.Abs(name)
		switch {
		case f.has("u"):
			if _, err = os.Lstat(abs); err == nil {
				err = fs.ErrExist
			} else {
				err = nil
			}
		case f.has("d"):
			err = os.Mkdir(abs, 0o700)
		default:
			var file *os.File
			file, err = os.OpenFile(abs, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
			if err == nil {
				file.Close()
			}
		}
		if errors.Is(err, fs.ErrExist) {
			continue
		}
		if err != nil {
			return fail(err)
		}
		fmt.Fprintln(p.Stdout, name)
		return 0
	}
	return fail(fmt.Errorf("cannot create a unique name from %q", tmpl))
}

// chownMain is chown [-Rhv] [OWNER][:GROUP] FILE...
func chownMain(_ context.Context, p *Proc, args []string) int {
	f, ops, err := getopt(args[1:], "Rhvf", "recursive=R", "no-dereference=h", "verbose=v", "silent=f", "quiet=f")
	if err == nil && len(ops) < 2 {
		err = errors.New("missing operand")
	}
	if err != nil {
		return usageErr(p, args[0], err)
	}
	owner, group, _ := strings.Cut(ops[0], ":")
	uid, gid := -1, -1
	if owner != "" {
		if uid, err = lookupID(owner, true); err != nil {
			return usageErr(p, args[0], err)
		}
	}
	if group != "" {
		if gid, err = lookupID(group, false); err != nil {
			return usageErr(p, args[0], err)
		}
	}
	status := 0
	do := func(path string, top bool) {
		var err error
		if f.has("h") || !top {
			err = os.Lchown(path, uid, gid)
		} else {
			err = os.Chown(path, uid, gid)
		}
		if err != nil {
			if !f.has("f") {
				p.errf(args[0], "%v", err)
			}
			status = 1
		}
	}
	for _, op := range ops[1:] {
		abs := p.Abs(op)
		if !f.has("R") {
			do(abs, true)
			continue
		}
		err := filepath.WalkDir(abs, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			do(path, path == abs)
			return nil
		})
		if err != nil {
			p.errf(args[0], "%v", err)
			status = 1
		}
	}
	return status
}

// chmodMain is chmod [-Rfv] MODE FILE..., MODE octal or symbolic
// ("u+x,go-w", "a=rX", "+x"). Symbolic links met under -R are left alone.
func chmodMain(_ context.Context, p *Proc, args []string) int {
	var opts []string
	a := args[1:]
	// A mode such as -w or -x looks like an option; only R, f, v and
	// their long forms are options here.
	for len(a) > 0 {
		s := a[0]
		if s == "--" {
			a = a[1:]
			break
		}
		if s == "--recursive" || s == "--silent" || s == "--quiet" || s == "--verbose" ||
			(len(s) > 1 && s[0] == '-' && strings.Trim(s[1:], "Rfv") == "") {
			opts = append(opts, s)
			a = a[1:]
			continue
		}
		break
	}
	f, _, err := getopt(opts, "Rfv", "recursive=R", "silent=f", "quiet=f", "verbose=v")
	if err == nil && len(a) < 2 {
		err = errors.New("missing operand")
	}
	if err != nil {
		return usageErr(p, args[0], err)
	}
	spec := a[0]
	if _, err := parseMode(spec, 0, false); err != nil {
		return usageErr(p, args[0], err)
	}
	status := 0
	change := func(path, shown string, fi fs.FileInfo) {
		m, _ := parseMode(spec, fi.Mode(), fi.IsDir())
		if err := os.Chmod(path, m); err != nil {
			if !f.has("f") {
				p.errf(args[0], "%s: %v", shown, unwrapSys(err))
			}
			status = 1
			return
		}
		if f.has("v") {
			fmt.Fprintf(p.Stdout, "mode of '%s' changed to %04o\n", shown, modeBits(m))
		}
	}
	for _, op := range a[1:] {
		abs := p.Abs(op)
		fi, err := os.Stat(abs)
		if err != nil {
			if !f.has("f") {
				p.errf(args[0], "%s: %v", op, unwrapSys(err))
			}
			status = 1
			continue
		}
		change(abs, op, fi)
		if !f.has("R") || !fi.IsDir() {
			continue
		}
		filepath.WalkDir(abs, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				p.errf(args[0], "%v", unwrapSys(err))
				status = 1
				return nil
			}
			if path == abs || d.Type()&fs.ModeSymlink != 0 {
				return nil
			}
			info, err := d.Info()
			if err == nil {
				change(path, filepath.Join(op, strings.TrimPrefix(path, abs+"/")), info)
			}
			return nil
		})
	}
	return status
}

// touchMain is touch [-acmh] [-d DATE | -r FILE | -t [[CC]YY]MMDDhhmm[.ss]] FILE...
// DATE is @EPOCH, RFC 3339 or "YYYY-MM-DD[ HH:MM[:SS]]".
func touchMain(_ context.Context, p *Proc, args []string) int {
	f, ops, err := getopt(args[1:], "acmhfd:r:t:", "no-create=c", "no-dereference=h",
		"date=d", "reference=r")
	if err == nil && len(ops) == 0 {
		err = errors.New("missing file operand")
	}
	if err != nil {
		return usageErr(p, args[0], err)
	}
	when := time.Now()
	if d, ok := f.get("d"); ok {
		if when, err = parseDate(d, p.location()); err != nil {
			return usageErr(p, args[0], err)
		}
	}
	if r, ok := f.get("r"); ok {
		fi, err := os.Stat(p.Abs(r))
		if err != nil {
			return usageErr(p, args[0], err)
		}
		when = fi.ModTime()
	}
	if s, ok := f.get("t"); ok {
		if when, err = parseTouchStamp(s, p.location()); err != nil {
			return usageErr(p, args[0], err)
		}
	}
	ts := unix.NsecToTimespec(when.UnixNano())
	omit := unix.Timespec{Nsec: unix.UTIME_OMIT}
	times := []unix.Timespec{ts, ts}
	if f.has("a") && !f.has("m") {
		times[1] = omit
	}
	if f.has("m") && !f.has("a") {
		times[0] = omit
	}
	flag := 0
	if f.has("h") {
		flag = unix.AT_SYMLINK_NOFOLLOW
	}
	status := 0
	for _, op := range ops {
		abs := p.Abs(op)
		err := unix.UtimesNanoAt(unix.AT_FDCWD, abs, times, flag)
		if errors.Is(err, syscall.ENOENT) && !f.has("c") && !f.has("h") {
			var file *os.File
			if file, err = os.OpenFile(abs, os.O_WRONLY|os.O_CREATE, 0o666); err == nil {
				file.Close()
				err = unix.UtimesNanoAt(unix.AT_FDCWD, abs, times, flag)
			}
		} else if errors.Is(err, syscall.ENOENT) {
			continue
		}
		if err != nil {
			p.errf(args[0], "%s: %v", op, unwrapSys(err))
			status = 1
		}
	}
	return status
}

// parseTouchStamp reads touch -t's [[CC]YY]MMDDhhmm[.ss] in loc.
func parseTouchStamp(s string, loc *time.Location) (time.Time, error) {
	main, sec, _ := strings.Cut(s, ".")
	layouts := map[int]string{8: "01021504", 10: "0601021504", 12: "200601021504"}
	layout, ok := layouts[len(main)]
	if !ok {
		return time.Time{}, fmt.Errorf("invalid date format %q", s)
	}
	if sec != "" {
		main, layout = main+sec, layout+"05"
	}
	t, err := time.ParseInLocation(layout, main, loc)
	if err != nil {
		return time.Time{}, fmt.Errorf("invalid date format %q", s)
	}
	if len(s) >= 8 && layout[:2] == "01" {
		t = t.AddDate(time.Now().Year()-t.Year(), 0, 0)
	}
	return t, nil
}
