package box

import (
	"bufio"
	"context"
	"crypto/md5"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"os"
	"strings"

	"github.com/stagex/stagex-bazel/tools/internal/diag"
)

func init() {
	for name, algo := range sumAlgos {
		register(func(ctx context.Context, p *Proc, args []string) int {
			return sumMain(ctx, p, algo, args)
		}, name)
	}
}

type sumAlgo struct {
	label string // as in "improperly formatted SHA256 checksum line"
	newH  func() hash.Hash
}

var sumAlgos = map[string]sumAlgo{
	"md5sum":    {"MD5", md5.New},
	"sha1sum":   {"SHA1", sha1.New},
	"sha256sum": {"SHA256", sha256.New},
	"sha512sum": {"SHA512", sha512.New},
}

// sumMain is sha256sum [-bt] [FILE...] printing "<hex>  <file>", or
// sha256sum -c [--quiet|--status] [--strict] [--ignore-missing] [FILE...]
// checking such lines.
func sumMain(_ context.Context, p *Proc, algo sumAlgo, args []string) int {
	f, ops, err := getopt(args[1:], "bctwz", "binary=b", "check=c", "text=t", "warn=w",
		"zero=z", "quiet", "status", "strict", "ignore-missing", "tag")
	if err != nil {
		return usageErr(p, args[0], err)
	}
	if f.has("c") {
		return checkSums(p, algo, args[0], ops, f)
	}
	return eachInput(p, args[0], ops, func(name string, r io.Reader) error {
		h := algo.newH()
		if _, err := io.Copy(h, r); err != nil {
			return err
		}
		if f.has("tag") {
			_, err := fmt.Fprintf(p.Stdout, "%s (%s) = %x\n", algo.label, name, h.Sum(nil))
			return err
		}
		_, err := fmt.Fprintf(p.Stdout, "%x  %s\n", h.Sum(nil), name)
		return err
	})
}

// parseSumLine reads "<hex>  <file>", "<hex> *<file>" or the BSD form
// "ALGO (<file>) = <hex>".
func parseSumLine(line string, algo sumAlgo) (sum []byte, file string, ok bool) {
	size := algo.newH().Size()
	if rest, found := strings.CutPrefix(line, algo.label+" ("); found {
		i := strings.LastIndex(rest, ") = ")
		if i < 0 {
			return nil, "", false
		}
		file, line = rest[:i], rest[i+4:]
		sum, err := hex.DecodeString(line)
		return sum, file, err == nil && len(sum) == size
	}
	if len(line) < 2*size+2 {
		return nil, "", false
	}
	sum, err := hex.DecodeString(line[:2*size])
	if err != nil || line[2*size] != ' ' || (line[2*size+1] != ' ' && line[2*size+1] != '*') {
		return nil, "", false
	}
	file = line[2*size+2:]
	return sum, file, file != ""
}

func checkSums(p *Proc, algo sumAlgo, name string, ops []string, f *flags) int {
	status, quiet, strict := f.has("status"), f.has("quiet"), f.has("strict")
	failed, unreadable, malformed, good := 0, 0, 0, 0
	code := eachInput(p, name, ops, func(list string, r io.Reader) error {
		if list == "-" {
			list = "standard input"
		}
		sc := bufio.NewScanner(r)
		sc.Buffer(nil, 1<<20)
		lineNo := 0
		listGood := 0
		for sc.Scan() {
			lineNo++
			line := strings.TrimSuffix(sc.Text(), "\r")
			if line == "" || strings.HasPrefix(line, "#") {
				continue
			}
			want, file, ok := parseSumLine(line, algo)
			if !ok {
				malformed++
				if !status {
					p.errf(name, "%v", diag.Errorf(list, lineNo,
						"improperly formatted %s checksum line: expected \"<%d hex digits>  <file>\"",
						algo.label, 2*algo.newH().Size()))
				}
				continue
			}
			good++
			listGood++
			got, err := hashFile(p, algo, file)
			switch {
			case err != nil && f.has("ignore-missing") && errors.Is(err, os.ErrNotExist):
				good--
				listGood--
			case err != nil:
				unreadable++
				if !status {
					p.errf(name, "%s: %v", file, unwrapSys(err))
					fmt.Fprintf(p.Stdout, "%s: FAILED open or read\n", file)
				}
			case string(got) != string(want):
				failed++
				if !status {
					fmt.Fprintf(p.Stdout, "%s: FAILED\n", file)
				}
			default:
				if !status && !quiet {
					fmt.Fprintf(p.Stdout, "%s: OK\n", file)
				}
			}
		}
		if err := sc.Err(); err != nil {
			return err
		}
		if listGood == 0 && !f.has("ignore-missing") {
			p.errf(name, "%s: no properly formatted checksum lines found", list)
		}
		return nil
	})
	if !status {
		plural := func(n int, one, many string) string {
			if n == 1 {
				return one
			}
			return many
		}
		if malformed > 0 {
			p.errf(name, "WARNING: %d %s improperly formatted", malformed, plural(malformed, "line is", "lines are"))
		}
		if unreadable > 0 {
			p.errf(name, "WARNING: %d listed %s could not be read", unreadable, plural(unreadable, "file", "files"))
		}
		if failed > 0 {
			p.errf(name, "WARNING: %d computed %s did NOT match", failed, plural(failed, "checksum", "checksums"))
		}
	}
	if code != 0 || failed > 0 || unreadable > 0 || good == 0 || (strict && malformed > 0) {
		return 1
	}
	return 0
}

func hashFile(p *Proc, algo sumAlgo, file string) ([]byte, error) {
	var r io.Reader = p.Stdin
	if file != "-" {
		fh, err := os.Open(p.Abs(file))
		if err != nil {
			return nil, err
		}
		defer fh.Close()
		r = fh
	}
	h := algo.newH()
	if _, err := io.Copy(h, r); err != nil {
		return nil, err
	}
	return h.Sum(nil), nil
}
