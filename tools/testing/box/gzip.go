package box

import (
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
)

func init() {
	register(gzipMain, "gzip", "gunzip", "zcat")
}

// gzipMain is gzip [-cdfkntqv1-9] [FILE...]; gunzip is gzip -d and zcat
// gzip -dc. Output carries no file name or time stamp, so it is
// reproducible.
func gzipMain(_ context.Context, p *Proc, args []string) int {
	f, ops, err := getopt(args[1:], "cdfkntqvNr123456789", "stdout=c", "to-stdout=c",
		"decompress=d", "uncompress=d", "force=f", "keep=k", "no-name=n", "name=N", "test=t",
		"quiet=q", "verbose=v", "fast=1", "best=9")
	if err != nil {
		return usageErr(p, args[0], err)
	}
	decompress := f.has("d") || args[0] == "gunzip" || args[0] == "zcat"
	toStdout := f.has("c") || args[0] == "zcat"
	level := gzip.DefaultCompression
	for _, v := range f.list {
		if len(v.name) == 1 && v.name[0] >= '1' && v.name[0] <= '9' {
			level = int(v.name[0] - '0')
		}
	}
	process := func(r io.Reader, w io.Writer) error {
		if f.has("t") {
			decompress, w = true, io.Discard
		}
		if decompress {
			zr, err := gzip.NewReader(r)
			if err != nil {
				return err
			}
			if _, err := io.Copy(w, zr); err != nil {
				return err
			}
			return zr.Close()
		}
		zw, err := gzip.NewWriterLevel(w, level)
		if err != nil {
			return err
		}
		if _, err := io.Copy(zw, r); err != nil {
			return err
		}
		return zw.Close()
	}
	if len(ops) == 0 {
		ops = []string{"-"}
	}
	status := 0
	fail := func(op string, err error) {
		if !f.has("q") {
			p.errf(args[0], "%s: %v", op, unwrapSys(err))
		}
		status = 1
	}
	for _, op := range ops {
		if op == "-" {
			if err := process(p.Stdin, p.Stdout); err != nil {
				fail("stdin", err)
			}
			continue
		}
		src := p.Abs(op)
		fi, err := os.Stat(src)
		if err == nil && !fi.Mode().IsRegular() {
			err = errors.New("not a regular file")
		}
		if err != nil {
			fail(op, err)
			continue
		}
		if toStdout || f.has("t") {
			in, err := os.Open(src)
			if err == nil {
				err = process(in, p.Stdout)
				in.Close()
			}
			if err != nil {
				fail(op, err)
			}
			continue
		}
		dst := src + ".gz"
		if decompress {
			switch {
			case strings.HasSuffix(src, ".gz"):
				dst = strings.TrimSuffix(src, ".gz")
			case strings.HasSuffix(src, ".tgz"):
				dst = strings.TrimSuffix(src, ".tgz") + ".tar"
			case strings.HasSuffix(src, ".z"):
				dst = strings.TrimSuffix(src, ".z")
			default:
				fail(op, errors.New("unknown suffix -- ignored"))
				continue
			}
		} else if strings.HasSuffix(src, ".gz") && !f.has("f") {
			fail(op, errors.New("already has .gz suffix -- unchanged"))
			continue
		}
		if err := gzipFile(src, dst, fi.Mode(), f.has("f"), process); err != nil {
			fail(op, err)
			continue
		}
		if f.has("v") {
			fmt.Fprintf(p.Stderr, "%s: %s\n", op, strings.TrimPrefix(dst, p.Dir+"/"))
		}
		if !f.has("k") {
			if err := os.Remove(src); err != nil {
				fail(op, err)
			}
		}
	}
	return status
}

func gzipFile(src, dst string, mode os.FileMode, force bool, process func(io.Reader, io.Writer) error) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	flag := os.O_WRONLY | os.O_CREATE | os.O_EXCL
	if force {
		flag = os.O_WRONLY | os.O_CREATE | os.O_TRUNC
	}
	out, err := os.OpenFile(dst, flag, mode.Perm())
	if err != nil {
		return err
	}
	if err := process(in, out); err != nil {
		out.Close()
		os.Remove(dst)
		return err
	}
	return out.Close()
}
