package box

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
)

func init() {
	register(grepMain, "grep")
	register(func(ctx context.Context, p *Proc, args []string) int {
		return grepMain(ctx, p, append([]string{args[0], "-E"}, args[1:]...))
	}, "egrep")
	register(func(ctx context.Context, p *Proc, args []string) int {
		return grepMain(ctx, p, append([]string{args[0], "-F"}, args[1:]...))
	}, "fgrep")
}

// translateRE turns a POSIX basic (ere false) or extended regular
// expression into Go's syntax: bracket expressions keep backslashes literal,
// \< and \> become \b, and in a basic one \( \) \{ \} \| \+ \? are the
// operators while their bare forms are literal.
func translateRE(s string, ere bool) string {
	var b strings.Builder
	atStart := true // where * is literal in a BRE and ^ an anchor
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '[':
			j := i + 1
			if j < len(s) && s[j] == '^' {
				j++
			}
			if j < len(s) && s[j] == ']' {
				j++
			}
			for j < len(s) && s[j] != ']' {
				if s[j] == '[' && j+1 < len(s) && (s[j+1] == ':' || s[j+1] == '.' || s[j+1] == '=') {
					if end := strings.Index(s[j+2:], string(s[j+1])+"]"); end >= 0 {
						j += end + 4
						continue
					}
				}
				j++
			}
			if j >= len(s) {
				b.WriteString(`\[`)
				atStart = false
				continue
			}
			body := s[i+1 : j]
			b.WriteByte('[')
			if strings.HasPrefix(body, "^") {
				b.WriteByte('^')
				body = body[1:]
			}
			if strings.HasPrefix(body, "]") {
				b.WriteString(`\]`)
				body = body[1:]
			}
			b.WriteString(strings.ReplaceAll(body, `\`, `\\`))
			b.WriteByte(']')
			i = j
			atStart = false
		case c == '\\' && i+1 < len(s):
			i++
			d := s[i]
			switch {
			case d == '<' || d == '>':
				b.WriteString(`\b`)
			case d == 'n' || d == 't':
				b.WriteByte('\\')
				b.WriteByte(d)
			case !ere && strings.IndexByte("(){}|+?", d) >= 0:
				b.WriteByte(d)
				atStart = d == '(' || d == '|'
				continue
			case d >= '1' && d <= '9', strings.IndexByte("wWsSbB", d) >= 0:
				b.WriteByte('\\')
				b.WriteByte(d)
			default:
				b.WriteString(regexp.QuoteMeta(string(d)))
			}
			atStart = false
		case !ere && strings.IndexByte("(){}|+?", c) >= 0:
			b.WriteByte('\\')
			b.WriteByte(c)
			atStart = false
		case c == '*' && atStart:
			b.WriteString(`\*`)
			atStart = false
		case c == '^':
			if ere || atStart {
				b.WriteByte('^')
			} else {
				b.WriteString(`\^`)
			}
		case c == '$' && !ere:
			rest := s[i+1:]
			if rest == "" || strings.HasPrefix(rest, `\)`) || strings.HasPrefix(rest, `\|`) {
				b.WriteByte('$')
			} else {
				b.WriteString(`\$`)
			}
			atStart = false
		default:
			b.WriteByte(c)
			atStart = ere && (c == '(' || c == '|')
		}
	}
	return b.String()
}

type grepOpts struct {
	re                                    *regexp.Regexp
	invert, count, names, noNames, lineNo bool
	quiet, only, withName, recursive      bool
	maxCount                              int
}

// grepMain is grep [-EFGiyvclLnhHqsoxwr] [-m N] [-e PATTERN]... [-f FILE]... [PATTERN] [FILE...].
func grepMain(_ context.Context, p *Proc, args []string) int {
	a := make([]string, 0, len(args))
	for _, s := range args[1:] {
		if !strings.HasPrefix(s, "--color") && !strings.HasPrefix(s, "--colour") {
			a = append(a, s)
		}
	}
	f, ops, err := getopt(a, "EFGiyvclLnhHqsoxwrRaIe:f:m:", "extended-regexp=E", "fixed-strings=F",
		"basic-regexp=G", "ignore-case=i", "invert-match=v", "count=c", "files-with-matches=l",
		"files-without-match=L", "line-number=n", "no-filename=h", "with-filename=H", "quiet=q",
		"silent=q", "no-messages=s", "only-matching=o", "line-regexp=x", "word-regexp=w",
		"recursive=r", "dereference-recursive=R", "text=a", "regexp=e", "file=f", "max-count=m")
	if err != nil {
		return usageErr(p, args[0], err)
	}
	patterns := f.all("e")
	for _, pf := range f.all("f") {
		data, err := os.ReadFile(p.Abs(pf))
		if err != nil {
			return usageErr(p, args[0], err)
		}
		patterns = append(patterns, strings.Split(strings.TrimSuffix(string(data), "\n"), "\n")...)
	}
	if !f.has("e") && !f.has("f") {
		if len(ops) == 0 {
			return usageErr(p, args[0], errors.New("no pattern given"))
		}
		patterns, ops = strings.Split(ops[0], "\n"), ops[1:]
	}
	var alts []string
	for _, pat := range patterns {
		switch {
		case f.has("F"):
			pat = regexp.QuoteMeta(pat)
		default:
			pat = translateRE(pat, f.has("E"))
		}
		if f.has("x") {
			pat = "^(?:" + pat + ")$"
		} else if f.has("w") {
			pat = `\b(?:` + pat + `)\b`
		}
		alts = append(alts, "(?:"+pat+")")
	}
	expr := strings.Join(alts, "|")
	if f.has("i") || f.has("y") {
		expr = "(?i)" + expr
	}
	re, err := regexp.Compile(expr)
	if err != nil {
		return usageErr(p, args[0], err)
	}
	o := &grepOpts{
		re: re, invert: f.has("v"), count: f.has("c"), names: f.has("l"), noNames: f.has("L"),
		lineNo: f.has("n"), quiet: f.has("q"), only: f.has("o"),
		recursive: f.has("r") || f.has("R"), maxCount: -1,
	}
	if m, ok := f.get("m"); ok {
		if o.maxCount, err = strconv.Atoi(m); err != nil {
			return usageErr(p, args[0], fmt.Errorf("invalid max count %q", m))
		}
	}
	if o.recursive && len(ops) == 0 {
		ops = []string{"."}
	}
	o.withName = (len(ops) > 1 || o.recursive) && !f.has("h") || f.has("H")
	matched, trouble := false, false
	report := func(op string, err error) {
		if !f.has("s") {
			p.errf(args[0], "%s: %v", op, unwrapSys(err))
		}
		trouble = true
	}
	search := func(name string, r io.Reader) bool {
		m, err := o.search(p.Stdout, name, r)
		if err != nil {
			report(name, err)
		}
		matched = matched || m
		return matched && o.quiet
	}
	if len(ops) == 0 {
		search("(standard input)", p.Stdin)
	}
	for _, op := range ops {
		if op == "-" {
			if search("(standard input)", p.Stdin) {
				return 0
			}
			continue
		}
		abs := p.Abs(op)
		fi, err := os.Stat(abs)
		if err != nil {
			report(op, err)
			continue
		}
		if fi.IsDir() {
			if !o.recursive {
				report(op, errors.New("is a directory"))
				continue
			}
			err := filepath.WalkDir(abs, func(path string, d fs.DirEntry, err error) error {
				if err != nil {
					report(path, err)
					return nil
				}
				if !d.Type().IsRegular() {
					return nil
				}
				file, err := os.Open(path)
				if err != nil {
					report(path, err)
					return nil
				}
				defer file.Close()
				shown := op + strings.TrimPrefix(path, abs)
				if strings.HasSuffix(op, "/") && path != abs {
					shown = op + strings.TrimPrefix(path, abs+"/")
				}
				if search(shown, file) {
					return fs.SkipAll
				}
				return nil
			})
			if err != nil {
				report(op, err)
			}
			continue
		}
		file, err := os.Open(abs)
		if err != nil {
			report(op, err)
			continue
		}
		stop := search(op, file)
		file.Close()
		if stop {
			return 0
		}
	}
	switch {
	case matched && o.quiet:
		return 0
	case trouble:
		return 2
	case matched:
		return 0
	}
	return 1
}

// search reports whether any line of r was selected, printing as asked.
func (o *grepOpts) search(w io.Writer, name string, r io.Reader) (bool, error) {
	br := bufio.NewReaderSize(r, 64<<10)
	bw := bufio.NewWriter(w)
	defer bw.Flush()
	prefix := func(n int) {
		if o.withName {
			bw.WriteString(name + ":")
		}
		if o.lineNo {
			bw.WriteString(strconv.Itoa(n) + ":")
		}
	}
	count := 0
	for n := 1; o.maxCount < 0 || count < o.maxCount; n++ {
		line, err := br.ReadString('\n')
		if line == "" && err != nil {
			if err == io.EOF {
				break
			}
			return count > 0, err
		}
		text := strings.TrimSuffix(line, "\n")
		if o.re.MatchString(text) == o.invert {
			continue
		}
		count++
		if o.quiet || o.names || o.noNames {
			if o.quiet || o.names {
				break
			}
			continue
		}
		if o.count {
			continue
		}
		if o.only && !o.invert {
			for _, m := range o.re.FindAllString(text, -1) {
				if m != "" {
					prefix(n)
					bw.WriteString(m + "\n")
				}
			}
			continue
		}
		prefix(n)
		bw.WriteString(text + "\n")
	}
	switch {
	case o.quiet:
	case o.names && count > 0:
		bw.WriteString(name + "\n")
	case o.noNames && count == 0:
		bw.WriteString(name + "\n")
	case o.count:
		if o.withName {
			bw.WriteString(name + ":")
		}
		bw.WriteString(strconv.Itoa(count) + "\n")
	}
	return count > 0, bw.Flush()
}
