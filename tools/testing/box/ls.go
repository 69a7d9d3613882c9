package box

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"syscall"
	"time"
)

func init() {
	register(lsMain, "ls")
}

type lsOpts struct {
	all, almost, long, dirOnly, classify, recurse bool
	now                                           time.Time
}

// lsMain is ls [-1aAdFlnR] [FILE...]: one name a line; -l shows numeric
// owners (no user database is read).
func lsMain(_ context.Context, p *Proc, args []string) int {
	f, ops, err := getopt(args[1:], "1aAdFlnRC", "all=a", "almost-all=A", "directory=d",
		"classify=F", "recursive=R")
	if err != nil {
		return usageErr(p, args[0], err)
	}
	o := lsOpts{
		all: f.has("a"), almost: f.has("A"), long: f.has("l") || f.has("n"),
		dirOnly: f.has("d"), classify: f.has("F"), recurse: f.has("R"),
		now: time.Now(),
	}
	if len(ops) == 0 {
		ops = []string{"."}
	}
	status := 0
	var files, dirs []string
	for _, op := range ops {
		fi, err := os.Stat(p.Abs(op))
		if err != nil {
			if fi, err = os.Lstat(p.Abs(op)); err != nil {
				p.errf(args[0], "%s: %v", op, unwrapSys(err))
				status = 2
				continue
			}
		}
		if fi.IsDir() && !o.dirOnly {
			dirs = append(dirs, op)
		} else {
			files = append(files, op)
		}
	}
	slices.Sort(files)
	slices.Sort(dirs)
	for _, name := range files {
		fi, err := os.Lstat(p.Abs(name))
		if err != nil {
			p.errf(args[0], "%s: %v", name, unwrapSys(err))
			status = 2
			continue
		}
		o.entry(p, name, p.Abs(name), fi)
	}
	headers := len(ops) > 1 || o.recurse
	for i, d := range dirs {
		if i > 0 || len(files) > 0 {
			fmt.Fprintln(p.Stdout)
		}
		if s := o.dir(p, args[0], d, headers); s > status {
			status = s
		}
	}
	return status
}

func (o *lsOpts) dir(p *Proc, name, dir string, header bool) int {
	if header {
		fmt.Fprintf(p.Stdout, "%s:\n", dir)
	}
	abs := p.Abs(dir)
	entries, err := os.ReadDir(abs)
	if err != nil {
		p.errf(name, "%s: %v", dir, unwrapSys(err))
		return 2
	}
	if o.all {
		for _, n := range []string{".", ".."} {
			if fi, err := os.Stat(filepath.Join(abs, n)); err == nil {
				o.entry(p, n, filepath.Join(abs, n), fi)
			}
		}
	}
	var sub []string
	status := 0
	for _, e := range entries {
		if e.Name()[0] == '.' && !o.all && !o.almost {
			continue
		}
		fi, err := e.Info()
		if err != nil {
			p.errf(name, "%s: %v", e.Name(), unwrapSys(err))
			status = 1
			continue
		}
		o.entry(p, e.Name(), filepath.Join(abs, e.Name()), fi)
		if o.recurse && fi.IsDir() {
			sub = append(sub, filepath.Join(dir, e.Name()))
		}
	}
	for _, s := range sub {
		fmt.Fprintln(p.Stdout)
		if st := o.dir(p, name, s, true); st > status {
			status = st
		}
	}
	return status
}

func (o *lsOpts) entry(p *Proc, name, abs string, fi fs.FileInfo) {
	shown := name
	if o.classify {
		shown += indicator(fi.Mode())
	}
	if !o.long {
		fmt.Fprintln(p.Stdout, shown)
		return
	}
	var nlink uint64 = 1
	uid, gid := 0, 0
	size := fmt.Sprint(fi.Size())
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		nlink, uid, gid = uint64(st.Nlink), int(st.Uid), int(st.Gid)
		if fi.Mode()&fs.ModeDevice != 0 {
			size = fmt.Sprintf("%d, %d", (st.Rdev>>8)&0xfff, st.Rdev&0xff|(st.Rdev>>12)&0xfff00)
		}
	}
	when := fi.ModTime()
	stamp := when.Format("Jan _2 15:04")
	if d := o.now.Sub(when); d > 182*24*time.Hour || d < -time.Hour {
		stamp = when.Format("Jan _2  2006")
	}
	if fi.Mode()&fs.ModeSymlink != 0 {
		if t, err := os.Readlink(abs); err == nil {
			shown += " -> " + t
		}
	}
	fmt.Fprintf(p.Stdout, "%s %d %d %d %s %s %s\n", modeString(fi.Mode()), nlink, uid, gid, size, stamp, shown)
}

func indicator(m fs.FileMode) string {
	switch {
	case m.IsDir():
		return "/"
	case m&fs.ModeSymlink != 0:
		return "@"
	case m&fs.ModeNamedPipe != 0:
		return "|"
	case m&fs.ModeSocket != 0:
		return "="
	case m.IsRegular() && m&0o111 != 0:
		return "*"
	}
	return ""
}

// modeString renders a mode the way ls -l does ("drwxr-sr-x").
func modeString(m fs.FileMode) string {
	b := []byte("----------")
	switch {
	case m.IsDir():
		b[0] = 'd'
	case m&fs.ModeSymlink != 0:
		b[0] = 'l'
	case m&fs.ModeNamedPipe != 0:
		b[0] = 'p'
	case m&fs.ModeSocket != 0:
		b[0] = 's'
	case m&fs.ModeCharDevice != 0:
		b[0] = 'c'
	case m&fs.ModeDevice != 0:
		b[0] = 'b'
	}
	const rwx = "rwxrwxrwx"
	for i := range 9 {
		if m&(1<<(8-i)) != 0 {
			b[i+1] = rwx[i]
		}
	}
	special := func(i int, set bool, c byte) {
		if !set {
			return
		}
		if b[i] == 'x' {
			b[i] = c
		} else {
			b[i] = c - 'a' + 'A'
		}
	}
	special(3, m&fs.ModeSetuid != 0, 's')
	special(6, m&fs.ModeSetgid != 0, 's')
	special(9, m&fs.ModeSticky != 0, 't')
	return string(b)
}
