package box

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
)

func init() {
	register(sedMain, "sed")
}

// sedAddr is a line number, $ (last line) or a regular expression.
type sedAddr struct {
	line int
	last bool
	re   *regexp.Regexp
}

type sedCmd struct {
	a1, a2 *sedAddr
	negate bool
	name   byte
	// s
	re      *regexp.Regexp
	repl    string
	global  bool
	nth     int
	print   bool
	exitArg int
	// y
	from, to []rune
	// range state
	active bool
}

// sedScript is the subset of sed this box supports: addresses N, $, /RE/
// and ranges of them, !, and the commands s (flags g p N I), d, p, q, y, =.
type sedScript struct {
	cmds []*sedCmd
	ere  bool
}

func (s *sedScript) compile(src string) (*regexp.Regexp, error) {
	return regexp.Compile(translateRE(src, s.ere))
}

// readDelimited reads up to the unescaped delimiter d, turning \d into d.
// It returns the text and what follows the delimiter.
func readDelimited(src string, d byte) (string, string, error) {
	var b strings.Builder
	for i := 0; i < len(src); i++ {
		c := src[i]
		if c == '\\' && i+1 < len(src) {
			if src[i+1] == d {
				b.WriteByte(d)
			} else if src[i+1] == 'n' && d != 'n' {
				b.WriteString(`\n`)
			} else {
				b.WriteByte('\\')
				b.WriteByte(src[i+1])
			}
			i++
			continue
		}
		if c == d {
			return b.String(), src[i+1:], nil
		}
		b.WriteByte(c)
	}
	return "", "", fmt.Errorf("unterminated expression: missing %c", d)
}

func (s *sedScript) parseAddr(src string) (*sedAddr, string, error) {
	switch {
	case src == "":
		return nil, src, nil
	case src[0] == '$':
		return &sedAddr{last: true}, src[1:], nil
	case src[0] >= '0' && src[0] <= '9':
		i := 0
		for i < len(src) && src[i] >= '0' && src[i] <= '9' {
			i++
		}
		n, _ := strconv.Atoi(src[:i])
		return &sedAddr{line: n}, src[i:], nil
	case src[0] == '/' || src[0] == '\\':
		d := byte('/')
		rest := src[1:]
		if src[0] == '\\' {
			if len(src) < 2 {
				return nil, "", errors.New("missing address delimiter")
			}
			d, rest = src[1], src[2:]
		}
		text, rest, err := readDelimited(rest, d)
		if err != nil {
			return nil, "", err
		}
		flags := ""
		if strings.HasPrefix(rest, "I") {
			flags, rest = "(?i)", rest[1:]
		}
		re, err := s.compile(text)
		if err != nil {
			return nil, "", err
		}
		if flags != "" {
			re = regexp.MustCompile(flags + re.String())
		}
		return &sedAddr{re: re}, rest, nil
	}
	return nil, src, nil
}

// parse adds one script (an -e argument or a file's text).
func (s *sedScript) parse(src string) error {
	for {
		src = strings.TrimLeft(src, " \t\n;")
		if src == "" {
			return nil
		}
		if src[0] == '#' {
			_, src, _ = strings.Cut(src, "\n")
			continue
		}
		c := &sedCmd{}
		var err error
		if c.a1, src, err = s.parseAddr(src); err != nil {
			return err
		}
		if c.a1 != nil && strings.HasPrefix(src, ",") {
			if c.a2, src, err = s.parseAddr(src[1:]); err != nil {
				return err
			}
			if c.a2 == nil {
				return errors.New("unexpected ','")
			}
		}
		src = strings.TrimLeft(src, " \t")
		for strings.HasPrefix(src, "!") {
			c.negate = true
			src = strings.TrimLeft(src[1:], " \t")
		}
		if src == "" {
			return errors.New("missing command")
		}
		c.name, src = src[0], src[1:]
		switch c.name {
		case 'd', 'p', '=':
		case 'q':
			i := 0
			for i < len(src) && src[i] >= '0' && src[i] <= '9' {
				i++
			}
			if i > 0 {
				c.exitArg, _ = strconv.Atoi(src[:i])
				src = src[i:]
			}
		case 's':
			if src == "" {
				return errors.New("unterminated `s' command")
			}
			d := src[0]
			var pat string
			if pat, src, err = readDelimited(src[1:], d); err != nil {
				return err
			}
			if c.repl, src, err = readDelimited(src, d); err != nil {
				return err
			}
			ci := ""
		flags:
			for src != "" {
				switch f := src[0]; {
				case f == 'g':
					c.global = true
				case f == 'p':
					c.print = true
				case f == 'I' || f == 'i':
					ci = "(?i)"
				case f >= '0' && f <= '9':
					i := 0
					for i < len(src) && src[i] >= '0' && src[i] <= '9' {
						i++
					}
					c.nth, _ = strconv.Atoi(src[:i])
					src = src[i:]
					continue
				default:
					break flags
				}
				src = src[1:]
			}
			if c.re, err = regexp.Compile(ci + translateRE(pat, s.ere)); err != nil {
				return err
			}
		case 'y':
			if src == "" {
				return errors.New("unterminated `y' command")
			}
			d := src[0]
			var from, to string
			if from, src, err = readDelimited(src[1:], d); err != nil {
				return err
			}
			if to, src, err = readDelimited(src, d); err != nil {
				return err
			}
			from, to = strings.ReplaceAll(from, `\n`, "\n"), strings.ReplaceAll(to, `\n`, "\n")
			c.from, c.to = []rune(from), []rune(to)
			if len(c.from) != len(c.to) {
				return errors.New("strings for `y' command are different lengths")
			}
		default:
			return fmt.Errorf("unsupported command %q", c.name)
		}
		src = strings.TrimLeft(src, " \t")
		if src != "" && src[0] != ';' && src[0] != '\n' && src[0] != '}' {
			return fmt.Errorf("extra characters after command: %q", src)
		}
		s.cmds = append(s.cmds, c)
	}
}

func (a *sedAddr) matches(n int, last bool, line string) bool {
	switch {
	case a.last:
		return last
	case a.re != nil:
		return a.re.MatchString(line)
	}
	return a.line == n
}

// selects reports whether c applies to line n, advancing its range state.
func (c *sedCmd) selects(n int, last bool, line string) bool {
	sel := true
	switch {
	case c.a1 == nil:
	case c.a2 == nil:
		sel = c.a1.matches(n, last, line)
	case c.active:
		// Inside a range: this line belongs to it; see whether it ends it.
		switch {
		case c.a2.last:
			c.active = !last
		case c.a2.re != nil:
			c.active = !c.a2.re.MatchString(line)
		default:
			c.active = n < c.a2.line
		}
	default:
		sel = c.a1.matches(n, last, line)
		if sel {
			switch {
			case c.a2.last:
				c.active = !last
			case c.a2.re != nil:
				c.active = true // a regexp end is looked for from the next line
			default:
				c.active = n < c.a2.line
			}
		}
	}
	return sel != c.negate
}

// substitute applies an s command, expanding & and \1..\9 in the replacement.
func (c *sedCmd) substitute(line string) (string, bool) {
	matches := c.re.FindAllStringSubmatchIndex(line, -1)
	if len(matches) == 0 {
		return line, false
	}
	var b strings.Builder
	prev, done, count := 0, false, 0
	for _, m := range matches {
		count++
		if done || (c.nth > 0 && count < c.nth) {
			continue
		}
		b.WriteString(line[prev:m[0]])
		for i := 0; i < len(c.repl); i++ {
			ch := c.repl[i]
			switch {
			case ch == '&':
				b.WriteString(line[m[0]:m[1]])
			case ch == '\\' && i+1 < len(c.repl):
				i++
				d := c.repl[i]
				switch {
				case d >= '0' && d <= '9':
					g := int(d - '0')
					if 2*g+1 < len(m) && m[2*g] >= 0 {
						b.WriteString(line[m[2*g]:m[2*g+1]])
					}
				case d == 'n':
					b.WriteByte('\n')
				case d == 't':
					b.WriteByte('\t')
				default:
					b.WriteByte(d)
				}
			default:
				b.WriteByte(ch)
			}
		}
		prev = m[1]
		if !c.global {
			done = true
		}
	}
	if c.nth > 0 && count < c.nth {
		return line, false
	}
	b.WriteString(line[prev:])
	return b.String(), true
}

// run streams lines from r through the script to w. It returns whether a q
// command ended it, and q's exit status.
func (s *sedScript) run(r io.Reader, w io.Writer, quiet bool, lineNo *int) (bool, int, error) {
	br := bufio.NewReaderSize(r, 64<<10)
	bw := bufio.NewWriter(w)
	defer bw.Flush()
	next, nextErr := br.ReadString('\n')
	for next != "" {
		cur := next
		next, nextErr = br.ReadString('\n')
		if nextErr != nil && nextErr != io.EOF {
			return false, 0, nextErr
		}
		last := next == ""
		*lineNo++
		nl := strings.HasSuffix(cur, "\n")
		space := strings.TrimSuffix(cur, "\n")
		emit := func(text string) {
			bw.WriteString(text)
			if nl || !last {
				bw.WriteByte('\n')
			}
		}
		deleted, quit, code := false, false, 0
		for _, c := range s.cmds {
			if !c.selects(*lineNo, last, space) {
				continue
			}
			switch c.name {
			case 'd':
				deleted = true
			case 'p':
				bw.WriteString(space + "\n")
			case '=':
				fmt.Fprintf(bw, "%d\n", *lineNo)
			case 'q':
				quit, code = true, c.exitArg
			case 's':
				var did bool
				if space, did = c.substitute(space); did && c.print {
					bw.WriteString(space + "\n")
				}
			case 'y':
				space = strings.Map(func(r rune) rune {
					for i, f := range c.from {
						if f == r {
							return c.to[i]
						}
					}
					return r
				}, space)
			}
			if deleted || quit {
				break
			}
		}
		if !deleted && !quiet {
			emit(space)
		}
		if quit {
			return true, code, bw.Flush()
		}
	}
	return false, 0, bw.Flush()
}

// sedMain is sed [-nEr] [-i[SUFFIX]] [-e SCRIPT]... [-f FILE]... [SCRIPT] [FILE...].
func sedMain(_ context.Context, p *Proc, args []string) int {
	a := make([]string, 0, len(args))
	inPlace, suffix := false, ""
	for _, s := range args[1:] {
		switch {
		case s == "--in-place" || s == "-i":
			inPlace = true
			continue
		case strings.HasPrefix(s, "--in-place="):
			inPlace, suffix = true, strings.TrimPrefix(s, "--in-place=")
			continue
		case strings.HasPrefix(s, "-i") && len(s) > 2:
			inPlace, suffix = true, s[2:]
			continue
		}
		a = append(a, s)
	}
	f, ops, err := getopt(a, "nErse:f:", "quiet=n", "silent=n", "regexp-extended=E",
		"separate=s", "expression=e", "file=f")
	if err != nil {
		return usageErr(p, args[0], err)
	}
	script := &sedScript{ere: f.has("E") || f.has("r")}
	var sources []string
	for _, v := range f.list {
		switch v.name {
		case "e":
			sources = append(sources, v.val)
		case "f":
			data, err := os.ReadFile(p.Abs(v.val))
			if err != nil {
				return usageErr(p, args[0], err)
			}
			sources = append(sources, string(data))
		}
	}
	if len(sources) == 0 {
		if len(ops) == 0 {
			return usageErr(p, args[0], errors.New("no script given"))
		}
		sources, ops = ops[:1], ops[1:]
	}
	for _, src := range sources {
		if err := script.parse(src); err != nil {
			return usageErr(p, args[0], fmt.Errorf("-e expression: %v", err))
		}
	}
	quiet := f.has("n")
	if !inPlace {
		var readers []io.Reader
		var closers []io.Closer
		status := 0
		if len(ops) == 0 {
			readers = append(readers, p.Stdin)
		}
		for _, op := range ops {
			if op == "-" {
				readers = append(readers, p.Stdin)
				continue
			}
			file, err := os.Open(p.Abs(op))
			if err != nil {
				p.errf(args[0], "%s: %v", op, unwrapSys(err))
				status = 2
				continue
			}
			readers = append(readers, file)
			closers = append(closers, file)
		}
		defer func() {
			for _, c := range closers {
				c.Close()
			}
		}()
		n := 0
		quit, code, err := script.run(joinLines(readers), p.Stdout, quiet, &n)
		if err != nil {
			p.errf(args[0], "%v", err)
			return 4
		}
		if quit && code != 0 {
			return code
		}
		return status
	}
	if len(ops) == 0 {
		return usageErr(p, args[0], errors.New("no input files for -i"))
	}
	status := 0
	for _, op := range ops {
		abs := p.Abs(op)
		data, err := os.ReadFile(abs)
		if err == nil {
			var out bytes.Buffer
			n := 0
			for _, c := range script.cmds {
				c.active = false
			}
			if _, _, err = script.run(bytes.NewReader(data), &out, quiet, &n); err == nil {
				err = replaceFile(abs, suffix, out.Bytes())
			}
		}
		if err != nil {
			p.errf(args[0], "%s: %v", op, unwrapSys(err))
			status = 4
		}
	}
	return status
}

// joinLines concatenates inputs, ending the last line of each but the
// final one with a newline if it lacks one.
func joinLines(rs []io.Reader) io.Reader {
	parts := make([]io.Reader, len(rs))
	for i, r := range rs {
		parts[i] = r
		if i < len(rs)-1 {
			parts[i] = &newlineEnder{r: r}
		}
	}
	return io.MultiReader(parts...)
}

// newlineEnder adds a newline at EOF when the input did not end with one.
type newlineEnder struct {
	r    io.Reader
	seen bool
	last byte
	eof  bool
}

func (n *newlineEnder) Read(b []byte) (int, error) {
	if n.eof || len(b) == 0 {
		return 0, io.EOF
	}
	k, err := n.r.Read(b)
	if k > 0 {
		n.seen, n.last = true, b[k-1]
	}
	if err == io.EOF {
		if k > 0 {
			return k, nil
		}
		n.eof = true
		if n.seen && n.last != '\n' {
			b[0] = '\n'
			return 1, nil
		}
		return 0, io.EOF
	}
	return k, err
}

// replaceFile writes data over path through a temporary file in the same
// directory, keeping the mode, and first keeps a backup when suffix is set.
func replaceFile(path, suffix string, data []byte) error {
	fi, err := os.Stat(path)
	if err != nil {
		return err
	}
	if suffix != "" {
		backup := path + suffix
		if strings.Contains(suffix, "*") {
			backup = filepath.Join(filepath.Dir(path), strings.ReplaceAll(suffix, "*", filepath.Base(path)))
		}
		if err := os.Link(path, backup); err != nil {
			if err := os.WriteFile(backup, mustRead(path), fi.Mode().Perm()); err != nil {
				return err
			}
		}
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".sed*")
	if err != nil {
		return err
	}
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return err
	}
	if err := tmp.Chmod(fsMode(fi.Mode())); err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return err
	}
	if err := tmp.Close(); err != nil {
		os.Remove(tmp.Name())
		return err
	}
	return os.Rename(tmp.Name(), path)
}

func mustRead(path string) []byte {
	b, _ := os.ReadFile(path)
	return b
}
