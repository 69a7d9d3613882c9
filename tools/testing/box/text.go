package box

import (
	"bufio"
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

func init() {
	register(headMain, "head")
	register(tailMain, "tail")
	register(wcMain, "wc")
	register(sortMain, "sort")
	register(uniqMain, "uniq")
	register(cutMain, "cut")
	register(trMain, "tr")
	register(teeMain, "tee")
	register(cmpMain, "cmp")
	register(seqMain, "seq")
}

var legacyCount = regexp.MustCompile(`^[-+][0-9]+$`)

// splitLines splits data after each newline; a last line without one is kept.
func splitLines(data []byte) [][]byte {
	var lines [][]byte
	for len(data) > 0 {
		i := bytes.IndexByte(data, '\n')
		if i < 0 {
			lines = append(lines, data)
			break
		}
		lines = append(lines, data[:i+1])
		data = data[i+1:]
	}
	return lines
}

// headMain is head [-n [-]N | -c [-]N | -N] [-qv] [FILE...].
func headMain(_ context.Context, p *Proc, args []string) int {
	a := args[1:]
	if len(a) > 0 && legacyCount.MatchString(a[0]) && a[0][0] == '-' {
		a = append([]string{"-n", a[0][1:]}, a[1:]...)
	}
	f, ops, err := getopt(a, "n:c:qv", "lines=n", "bytes=c", "quiet=q", "silent=q", "verbose=v")
	if err != nil {
		return usageErr(p, args[0], err)
	}
	spec, bytesMode := "10", false
	if v, ok := f.get("n"); ok {
		spec = v
	}
	if v, ok := f.get("c"); ok {
		spec, bytesMode = v, true
	}
	allBut := strings.HasPrefix(spec, "-")
	n, err := strconv.Atoi(strings.TrimPrefix(strings.TrimPrefix(spec, "-"), "+"))
	if err != nil || n < 0 {
		return usageErr(p, args[0], fmt.Errorf("invalid number %q", spec))
	}
	headers := (len(ops) > 1 && !f.has("q")) || f.has("v")
	first := true
	return eachInput(p, args[0], ops, func(name string, r io.Reader) error {
		if headers {
			if !first {
				fmt.Fprintln(p.Stdout)
			}
			if name == "-" {
				name = "standard input"
			}
			fmt.Fprintf(p.Stdout, "==> %s <==\n", name)
		}
		first = false
		switch {
		case bytesMode && !allBut:
			_, err := io.CopyN(p.Stdout, r, int64(n))
			if errors.Is(err, io.EOF) {
				err = nil
			}
			return err
		case bytesMode:
			data, err := io.ReadAll(r)
			if err != nil {
				return err
			}
			_, err = p.Stdout.Write(data[:max(0, len(data)-n)])
			return err
		case !allBut:
			br := bufio.NewReader(r)
			for i := 0; i < n; i++ {
				line, err := br.ReadBytes('\n')
				if len(line) > 0 {
					if _, werr := p.Stdout.Write(line); werr != nil {
						return werr
					}
				}
				if err == io.EOF {
					return nil
				}
				if err != nil {
					return err
				}
			}
			return nil
		default:
			data, err := io.ReadAll(r)
			if err != nil {
				return err
			}
			lines := splitLines(data)
			for _, l := range lines[:max(0, len(lines)-n)] {
				if _, err := p.Stdout.Write(l); err != nil {
					return err
				}
			}
			return nil
		}
	})
}

// tailMain is tail [-n [+]N | -c [+]N | -N | +N] [-qv] [FILE...].
func tailMain(_ context.Context, p *Proc, args []string) int {
	a := args[1:]
	if len(a) > 0 && legacyCount.MatchString(a[0]) {
		num := a[0]
		if num[0] == '-' {
			num = num[1:]
		}
		a = append([]string{"-n", num}, a[1:]...)
	}
	f, ops, err := getopt(a, "n:c:qvf", "lines=n", "bytes=c", "quiet=q", "silent=q", "verbose=v", "follow=f")
	if err == nil && f.has("f") {
		err = errors.New("-f is not supported")
	}
	if err != nil {
		return usageErr(p, args[0], err)
	}
	spec, bytesMode := "10", false
	if v, ok := f.get("n"); ok {
		spec = v
	}
	if v, ok := f.get("c"); ok {
		spec, bytesMode = v, true
	}
	fromStart := strings.HasPrefix(spec, "+")
	n, err := strconv.Atoi(strings.TrimPrefix(strings.TrimPrefix(spec, "+"), "-"))
	if err != nil || n < 0 {
		return usageErr(p, args[0], fmt.Errorf("invalid number %q", spec))
	}
	headers := (len(ops) > 1 && !f.has("q")) || f.has("v")
	first := true
	return eachInput(p, args[0], ops, func(name string, r io.Reader) error {
		if headers {
			if !first {
				fmt.Fprintln(p.Stdout)
			}
			if name == "-" {
				name = "standard input"
			}
			fmt.Fprintf(p.Stdout, "==> %s <==\n", name)
		}
		first = false
		data, err := io.ReadAll(r)
		if err != nil {
			return err
		}
		if bytesMode {
			start := len(data) - n
			if fromStart {
				start = n - 1
			}
			start = min(max(start, 0), len(data))
			_, err = p.Stdout.Write(data[start:])
			return err
		}
		lines := splitLines(data)
		start := len(lines) - n
		if fromStart {
			start = n - 1
		}
		start = min(max(start, 0), len(lines))
		for _, l := range lines[start:] {
			if _, err := p.Stdout.Write(l); err != nil {
				return err
			}
		}
		return nil
	})
}

// wcMain is wc [-clmw] [FILE...].
func wcMain(_ context.Context, p *Proc, args []string) int {
	f, ops, err := getopt(args[1:], "clmw", "bytes=c", "lines=l", "chars=m", "words=w")
	if err != nil {
		return usageErr(p, args[0], err)
	}
	show := []bool{f.has("l"), f.has("w"), f.has("m"), f.has("c")}
	if !slices.Contains(show, true) {
		show = []bool{true, true, false, true}
	}
	type row struct {
		counts [4]int64
		name   string
	}
	var rows []row
	var total row
	total.name = "total"
	status := eachInput(p, args[0], ops, func(name string, r io.Reader) error {
		var c [4]int64
		br := bufio.NewReaderSize(r, 64<<10)
		inWord := false
		for {
			ru, size, err := br.ReadRune()
			if err == io.EOF {
				break
			}
			if err != nil {
				return err
			}
			c[3] += int64(size)
			c[2]++
			if ru == '\n' {
				c[0]++
			}
			space := ru == ' ' || (ru >= '\t' && ru <= '\r')
			if !space && !inWord {
				c[1]++
			}
			inWord = !space
		}
		if len(ops) == 0 {
			name = ""
		}
		rows = append(rows, row{c, name})
		for i := range c {
			total.counts[i] += c[i]
		}
		return nil
	})
	if len(rows) > 1 {
		rows = append(rows, total)
	}
	cols := 0
	for _, s := range show {
		if s {
			cols++
		}
	}
	width := 1
	if cols > 1 || len(rows) > 1 {
		for _, r := range rows {
			for i, s := range show {
				if s {
					width = max(width, len(strconv.FormatInt(r.counts[i], 10)))
				}
			}
		}
		if len(ops) == 0 {
			width = max(width, 7)
		}
	}
	for _, r := range rows {
		var parts []string
		for i, s := range show {
			if s {
				parts = append(parts, fmt.Sprintf("%*d", width, r.counts[i]))
			}
		}
		if r.name != "" {
			parts = append(parts, r.name)
		}
		fmt.Fprintln(p.Stdout, strings.Join(parts, " "))
	}
	return status
}

// sortKey is one -k FIELD[.CHAR][OPTS][,FIELD[.CHAR][OPTS]].
type sortKey struct {
	f1, c1, f2, c2  int // 1-based; f2 0 means to the end of the line
	numeric, rev    bool
	fold, skipBlank bool
}

func parseSortKey(s string) (sortKey, error) {
	var k sortKey
	bad := fmt.Errorf("invalid key %q", s)
	start, end, hasEnd := strings.Cut(s, ",")
	pos := func(part string) (field, char int, err error) {
		i := 0
		for i < len(part) && (part[i] >= '0' && part[i] <= '9' || part[i] == '.') {
			i++
		}
		num, opts := part[:i], part[i:]
		fs, cs, hasC := strings.Cut(num, ".")
		if field, err = strconv.Atoi(fs); err != nil {
			return 0, 0, bad
		}
		if hasC {
			if char, err = strconv.Atoi(cs); err != nil {
				return 0, 0, bad
			}
		}
		for _, o := range opts {
			switch o {
			case 'n':
				k.numeric = true
			case 'r':
				k.rev = true
			case 'f':
				k.fold = true
			case 'b':
				k.skipBlank = true
			default:
				return 0, 0, bad
			}
		}
		return field, char, nil
	}
	var err error
	if k.f1, k.c1, err = pos(start); err != nil || k.f1 < 1 {
		return k, bad
	}
	if hasEnd {
		if k.f2, k.c2, err = pos(end); err != nil {
			return k, bad
		}
	}
	return k, nil
}

// fields splits a line into sort fields: at sep, or else at each run of
// blanks, the blanks belonging to the field that follows.
func sortFields(line, sep string) []string {
	if sep != "" {
		return strings.Split(line, sep)
	}
	var out []string
	i := 0
	for i < len(line) {
		j := i
		for j < len(line) && (line[j] == ' ' || line[j] == '\t') {
			j++
		}
		for j < len(line) && line[j] != ' ' && line[j] != '\t' {
			j++
		}
		out = append(out, line[i:j])
		i = j
	}
	return out
}

func (k sortKey) extract(line, sep string) string {
	fields := sortFields(line, sep)
	if k.f1 > len(fields) {
		return ""
	}
	last := len(fields)
	if k.f2 > 0 {
		last = min(k.f2, len(fields))
	}
	if last < k.f1 {
		return ""
	}
	joiner := sep
	s := strings.Join(fields[k.f1-1:last], joiner)
	if k.c1 > 0 {
		first := fields[k.f1-1]
		if k.skipBlank || sep == "" {
			trimmed := strings.TrimLeft(first, " \t")
			s = s[len(first)-len(trimmed):]
		}
		s = s[min(k.c1-1, len(s)):]
	}
	if k.skipBlank {
		s = strings.TrimLeft(s, " \t")
	}
	return s
}

var numPrefix = regexp.MustCompile(`^\s*[-+]?([0-9]+\.?[0-9]*|\.[0-9]+)`)

func numericValue(s string) float64 {
	m := numPrefix.FindString(s)
	v, _ := strconv.ParseFloat(strings.TrimSpace(m), 64)
	return v
}

func compareKey(k sortKey, a, b string) int {
	var c int
	switch {
	case k.numeric:
		c = cmp.Compare(numericValue(a), numericValue(b))
	case k.fold:
		c = strings.Compare(strings.ToUpper(a), strings.ToUpper(b))
	default:
		c = strings.Compare(a, b)
	}
	if k.rev {
		c = -c
	}
	return c
}

// sortMain is sort [-bcfnrsu] [-k KEY]... [-t SEP] [-o FILE] [FILE...],
// comparing bytes (the C locale).
func sortMain(_ context.Context, p *Proc, args []string) int {
	f, ops, err := getopt(args[1:], "bcfnrsuk:t:o:z", "ignore-leading-blanks=b", "check=c",
		"ignore-case=f", "numeric-sort=n", "reverse=r", "stable=s", "unique=u", "key=k",
		"field-separator=t", "output=o", "zero-terminated=z")
	if err != nil {
		return usageErr(p, args[0], err)
	}
	sep, _ := f.get("t")
	global := sortKey{f1: 1, numeric: f.has("n"), fold: f.has("f"), skipBlank: f.has("b")}
	var keys []sortKey
	for _, ks := range f.all("k") {
		k, err := parseSortKey(ks)
		if err != nil {
			return usageErr(p, args[0], err)
		}
		if !k.numeric && !k.rev && !k.fold && !k.skipBlank {
			k.numeric, k.fold, k.skipBlank = global.numeric, global.fold, global.skipBlank
		}
		keys = append(keys, k)
	}
	wholeLine := len(keys) == 0
	if wholeLine {
		keys = []sortKey{global}
	}
	eol := byte('\n')
	if f.has("z") {
		eol = 0
	}
	var lines []string
	status := eachInput(p, args[0], ops, func(_ string, r io.Reader) error {
		data, err := io.ReadAll(r)
		if err != nil {
			return err
		}
		s := string(data)
		s = strings.TrimSuffix(s, string(eol))
		if len(data) > 0 {
			lines = append(lines, strings.Split(s, string(eol))...)
		}
		return nil
	})
	if status != 0 {
		return 2
	}
	byKeys := func(a, b string) int {
		for _, k := range keys {
			ka, kb := a, b
			if !wholeLine {
				ka, kb = k.extract(a, sep), k.extract(b, sep)
			} else if k.skipBlank {
				ka, kb = strings.TrimLeft(a, " \t"), strings.TrimLeft(b, " \t")
			}
			if c := compareKey(k, ka, kb); c != 0 {
				return c
			}
		}
		return 0
	}
	full := func(a, b string) int {
		c := byKeys(a, b)
		if c == 0 && !f.has("s") && !f.has("u") {
			c = strings.Compare(a, b)
		}
		if f.has("r") {
			c = -c
		}
		return c
	}
	if f.has("c") {
		for i := 1; i < len(lines); i++ {
			if c := full(lines[i-1], lines[i]); c > 0 || (c == 0 && f.has("u")) {
				p.errf(args[0], "-:%d: disorder: %s", i+1, lines[i])
				return 1
			}
		}
		return 0
	}
	slices.SortStableFunc(lines, full)
	if f.has("u") {
		lines = slices.CompactFunc(lines, func(a, b string) bool { return byKeys(a, b) == 0 })
	}
	out := p.Stdout
	if o, ok := f.get("o"); ok {
		file, err := os.Create(p.Abs(o))
		if err != nil {
			p.errf(args[0], "%v", err)
			return 2
		}
		defer file.Close()
		out = file
	}
	w := bufio.NewWriter(out)
	for _, l := range lines {
		w.WriteString(l)
		w.WriteByte(eol)
	}
	if err := w.Flush(); err != nil {
		p.errf(args[0], "%v", err)
		return 2
	}
	return 0
}

// uniqMain is uniq [-cdui] [INPUT [OUTPUT]].
func uniqMain(_ context.Context, p *Proc, args []string) int {
	f, ops, err := getopt(args[1:], "cdui", "count=c", "repeated=d", "unique=u", "ignore-case=i")
	if err == nil && len(ops) > 2 {
		err = fmt.Errorf("extra operand %s", ops[2])
	}
	if err != nil {
		return usageErr(p, args[0], err)
	}
	out := p.Stdout
	if len(ops) == 2 {
		file, err := os.Create(p.Abs(ops[1]))
		if err != nil {
			p.errf(args[0], "%v", err)
			return 1
		}
		defer file.Close()
		out = file
		ops = ops[:1]
	}
	same := func(a, b string) bool {
		if f.has("i") {
			return strings.EqualFold(a, b)
		}
		return a == b
	}
	return eachInput(p, args[0], ops, func(_ string, r io.Reader) error {
		w := bufio.NewWriter(out)
		sc := bufio.NewScanner(r)
		sc.Buffer(nil, 1<<30)
		var prev string
		count := 0
		flush := func() {
			if count == 0 || (f.has("d") && count == 1) || (f.has("u") && count > 1) {
				return
			}
			if f.has("c") {
				fmt.Fprintf(w, "%7d ", count)
			}
			w.WriteString(prev + "\n")
		}
		for sc.Scan() {
			line := sc.Text()
			if count > 0 && same(prev, line) {
				count++
				continue
			}
			flush()
			prev, count = line, 1
		}
		flush()
		if err := sc.Err(); err != nil {
			return err
		}
		return w.Flush()
	})
}

// parseList reads cut's LIST: N, N-M, N-, -M, separated by commas.
func parseList(s string) (func(int) bool, error) {
	type span struct{ lo, hi int }
	var spans []span
	for part := range strings.SplitSeq(s, ",") {
		lo, hi, isRange := strings.Cut(part, "-")
		var sp span
		var err error
		if lo == "" {
			sp.lo = 1
		} else if sp.lo, err = strconv.Atoi(lo); err != nil || sp.lo < 1 {
			return nil, fmt.Errorf("invalid list %q", s)
		}
		switch {
		case !isRange:
			sp.hi = sp.lo
		case hi == "":
			sp.hi = int(^uint(0) >> 1)
		default:
			if sp.hi, err = strconv.Atoi(hi); err != nil || sp.hi < sp.lo {
				return nil, fmt.Errorf("invalid list %q", s)
			}
		}
		spans = append(spans, sp)
	}
	return func(i int) bool {
		for _, sp := range spans {
			if i >= sp.lo && i <= sp.hi {
				return true
			}
		}
		return false
	}, nil
}

// cutMain is cut -b LIST | -c LIST | -f LIST [-d DELIM] [-s] [FILE...].
func cutMain(_ context.Context, p *Proc, args []string) int {
	f, ops, err := getopt(args[1:], "b:c:f:d:sn", "bytes=b", "characters=c", "fields=f",
		"delimiter=d", "only-delimited=s", "output-delimiter:")
	if err != nil {
		return usageErr(p, args[0], err)
	}
	listSpec, mode := "", ""
	for _, m := range []string{"b", "c", "f"} {
		if v, ok := f.get(m); ok {
			listSpec, mode = v, m
		}
	}
	if mode == "" {
		return usageErr(p, args[0], errors.New("you must specify a list of bytes, characters, or fields"))
	}
	in, err := parseList(listSpec)
	if err != nil {
		return usageErr(p, args[0], err)
	}
	delim := "\t"
	if d, ok := f.get("d"); ok {
		if utf8.RuneCountInString(d) != 1 {
			return usageErr(p, args[0], errors.New("the delimiter must be a single character"))
		}
		delim = d
	}
	outDelim, ok := f.get("output-delimiter")
	if !ok {
		outDelim = delim
		if mode != "f" {
			outDelim = ""
		}
	}
	return eachInput(p, args[0], ops, func(_ string, r io.Reader) error {
		w := bufio.NewWriter(p.Stdout)
		sc := bufio.NewScanner(r)
		sc.Buffer(nil, 1<<30)
		for sc.Scan() {
			line := sc.Text()
			var parts []string
			switch mode {
			case "f":
				if !strings.Contains(line, delim) {
					if !f.has("s") {
						w.WriteString(line + "\n")
					}
					continue
				}
				for i, fl := range strings.Split(line, delim) {
					if in(i + 1) {
						parts = append(parts, fl)
					}
				}
			case "c":
				for i, r := range []rune(line) {
					if in(i + 1) {
						parts = append(parts, string(r))
					}
				}
			default:
				for i := 0; i < len(line); i++ {
					if in(i + 1) {
						parts = append(parts, line[i:i+1])
					}
				}
			}
			w.WriteString(strings.Join(parts, outDelim) + "\n")
		}
		if err := sc.Err(); err != nil {
			return err
		}
		return w.Flush()
	})
}

var trClasses = map[string]func(byte) bool{
	"alpha":  func(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' },
	"upper":  func(c byte) bool { return c >= 'A' && c <= 'Z' },
	"lower":  func(c byte) bool { return c >= 'a' && c <= 'z' },
	"digit":  func(c byte) bool { return c >= '0' && c <= '9' },
	"alnum":  isAlnum,
	"space":  func(c byte) bool { return c == ' ' || c >= '\t' && c <= '\r' },
	"blank":  func(c byte) bool { return c == ' ' || c == '\t' },
	"punct":  func(c byte) bool { return c > ' ' && c < 0x7f && !isAlnum(c) },
	"xdigit": func(c byte) bool { return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F' },
	"cntrl":  func(c byte) bool { return c < ' ' || c == 0x7f },
	"print":  func(c byte) bool { return c >= ' ' && c < 0x7f },
	"graph":  func(c byte) bool { return c > ' ' && c < 0x7f },
}

func isAlnum(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

// expandTrSet expands tr's SET: escapes, ranges a-z, classes [:upper:] and
// repeats [c*n] (c* filling up to pad bytes).
func expandTrSet(s string, pad int) ([]byte, error) {
	var out []byte
	unesc := func(i int) (byte, int) {
		if s[i] != '\\' || i+1 == len(s) {
			return s[i], i + 1
		}
		i++
		switch c := s[i]; c {
		case 'n':
			return '\n', i + 1
		case 't':
			return '\t', i + 1
		case 'r':
			return '\r', i + 1
		case 'f':
			return '\f', i + 1
		case 'v':
			return '\v', i + 1
		case 'a':
			return '\a', i + 1
		case 'b':
			return '\b', i + 1
		case '0', '1', '2', '3', '4', '5', '6', '7':
			v, j := 0, i
			for j < len(s) && j < i+3 && s[j] >= '0' && s[j] <= '7' {
				v = v*8 + int(s[j]-'0')
				j++
			}
			return byte(v), j
		default:
			return c, i + 1
		}
	}
	for i := 0; i < len(s); {
		if strings.HasPrefix(s[i:], "[:") {
			if end := strings.Index(s[i:], ":]"); end > 2 {
				name := s[i+2 : i+end]
				in, ok := trClasses[name]
				if !ok {
					return nil, fmt.Errorf("invalid character class %q", name)
				}
				for c := 0; c < 256; c++ {
					if in(byte(c)) {
						out = append(out, byte(c))
					}
				}
				i += end + 2
				continue
			}
		}
		if s[i] == '[' && i+2 < len(s) {
			if end := strings.IndexByte(s[i:], ']'); end > 0 {
				body := s[i+1 : i+end]
				if star := strings.IndexByte(body, '*'); star == 1 || (star == 2 && body[0] == '\\') {
					c, _ := unesc(i + 1)
					n, err := strconv.Atoi(body[star+1:])
					if body[star+1:] == "" {
						n, err = max(0, pad-len(out)), nil
					}
					if err == nil {
						out = append(out, bytes.Repeat([]byte{c}, n)...)
						i += end + 1
						continue
					}
				}
			}
		}
		c, next := unesc(i)
		if next < len(s)-1 && s[next] == '-' {
			hi, after := unesc(next + 1)
			if hi < c {
				return nil, fmt.Errorf("range %c-%c is in reverse order", c, hi)
			}
			for x := int(c); x <= int(hi); x++ {
				out = append(out, byte(x))
			}
			i = after
			continue
		}
		out = append(out, c)
		i = next
	}
	return out, nil
}

// trMain is tr [-cds] SET1 [SET2], working on bytes.
func trMain(_ context.Context, p *Proc, args []string) int {
	f, ops, err := getopt(args[1:], "cCds", "complement=c", "delete=d", "squeeze-repeats=s")
	if err != nil {
		return usageErr(p, args[0], err)
	}
	del, squeeze := f.has("d"), f.has("s")
	want := 2
	if del && !squeeze || !del && squeeze && len(ops) == 1 {
		want = 1
	}
	if len(ops) != want {
		return usageErr(p, args[0], fmt.Errorf("expected %d set operands, got %d", want, len(ops)))
	}
	set1, err := expandTrSet(ops[0], 0)
	if err != nil {
		return usageErr(p, args[0], err)
	}
	var in1 [256]bool
	for _, c := range set1 {
		in1[c] = true
	}
	if f.has("c") || f.has("C") {
		set1 = set1[:0]
		for c := 0; c < 256; c++ {
			in1[c] = !in1[c]
			if in1[c] {
				set1 = append(set1, byte(c))
			}
		}
	}
	var mapping [256]byte
	for c := range mapping {
		mapping[c] = byte(c)
	}
	var squeezeSet [256]bool
	if len(ops) == 2 {
		set2, err := expandTrSet(ops[1], len(set1))
		if err != nil {
			return usageErr(p, args[0], err)
		}
		if !del {
			if len(set2) == 0 {
				return usageErr(p, args[0], errors.New("SET2 must not be empty"))
			}
			for i, c := range set1 {
				mapping[c] = set2[min(i, len(set2)-1)]
			}
		}
		for _, c := range set2 {
			squeezeSet[c] = true
		}
	} else {
		squeezeSet = in1
	}
	br := bufio.NewReader(p.Stdin)
	w := bufio.NewWriter(p.Stdout)
	last := -1
	for {
		c, err := br.ReadByte()
		if err == io.EOF {
			break
		}
		if err != nil {
			p.errf(args[0], "%v", err)
			return 1
		}
		if del && in1[c] {
			continue
		}
		c = mapping[c]
		if squeeze && squeezeSet[c] && int(c) == last {
			continue
		}
		last = int(c)
		w.WriteByte(c)
	}
	if err := w.Flush(); err != nil {
		p.errf(args[0], "%v", err)
		return 1
	}
	return 0
}

// teeMain is tee [-ai] [FILE...].
func teeMain(_ context.Context, p *Proc, args []string) int {
	f, ops, err := getopt(args[1:], "ai", "append=a", "ignore-interrupts=i")
	if err != nil {
		return usageErr(p, args[0], err)
	}
	flag := os.O_WRONLY | os.O_CREATE | os.O_TRUNC
	if f.has("a") {
		flag = os.O_WRONLY | os.O_CREATE | os.O_APPEND
	}
	status := 0
	writers := []io.Writer{p.Stdout}
	for _, op := range ops {
		file, err := os.OpenFile(p.Abs(op), flag, 0o666)
		if err != nil {
			p.errf(args[0], "%s: %v", op, unwrapSys(err))
			status = 1
			continue
		}
		defer file.Close()
		writers = append(writers, file)
	}
	if _, err := io.Copy(io.MultiWriter(writers...), p.Stdin); err != nil {
		p.errf(args[0], "%v", err)
		return 1
	}
	return status
}

// cmpMain is cmp [-s] FILE1 [FILE2]: 0 same, 1 different, 2 trouble.
func cmpMain(_ context.Context, p *Proc, args []string) int {
	f, ops, err := getopt(args[1:], "s", "silent=s", "quiet=s")
	if err == nil && (len(ops) < 1 || len(ops) > 2) {
		err = errors.New("expected one or two files")
	}
	if err != nil {
		return usageErr(p, args[0], err)
	}
	if len(ops) == 1 {
		ops = append(ops, "-")
	}
	var readers [2]*bufio.Reader
	for i, op := range ops {
		if op == "-" {
			readers[i] = bufio.NewReader(p.Stdin)
			continue
		}
		file, err := os.Open(p.Abs(op))
		if err != nil {
			p.errf(args[0], "%s: %v", op, unwrapSys(err))
			return 2
		}
		defer file.Close()
		readers[i] = bufio.NewReader(file)
	}
	var pos, line int64 = 1, 1
	for {
		a, errA := readers[0].ReadByte()
		b, errB := readers[1].ReadByte()
		switch {
		case errA == io.EOF && errB == io.EOF:
			return 0
		case errA != nil && errA != io.EOF || errB != nil && errB != io.EOF:
			p.errf(args[0], "%v", cmp.Or(errA, errB))
			return 2
		case errA == io.EOF || errB == io.EOF:
			short := ops[0]
			if errB == io.EOF {
				short = ops[1]
			}
			if !f.has("s") {
				p.errf(args[0], "EOF on %s after byte %d, line %d", short, pos-1, line)
			}
			return 1
		case a != b:
			if !f.has("s") {
				fmt.Fprintf(p.Stdout, "%s %s differ: byte %d, line %d\n", ops[0], ops[1], pos, line)
			}
			return 1
		}
		if a == '\n' {
			line++
		}
		pos++
	}
}

// seqMain is seq [-s SEP] [-w] [FIRST [INCREMENT]] LAST.
func seqMain(_ context.Context, p *Proc, args []string) int {
	// Negative numbers are operands, not options.
	a := args[1:]
	var sep = "\n"
	width := false
	for len(a) > 0 && strings.HasPrefix(a[0], "-") && len(a[0]) > 1 && (a[0][1] < '0' || a[0][1] > '9') && a[0][1] != '.' {
		switch {
		case a[0] == "-w" || a[0] == "--equal-width":
			width, a = true, a[1:]
		case a[0] == "-s" && len(a) > 1:
			sep, a = a[1], a[2:]
		case strings.HasPrefix(a[0], "-s"):
			sep, a = a[0][2:], a[1:]
		case a[0] == "--":
			a = a[1:]
		default:
			return usageErr(p, args[0], fmt.Errorf("invalid option %s", a[0]))
		}
	}
	if len(a) < 1 || len(a) > 3 {
		return usageErr(p, args[0], errors.New("expected 1 to 3 numbers"))
	}
	nums := []string{"1", "1"}
	switch len(a) {
	case 1:
		nums = append(nums, a[0])
	case 2:
		nums = []string{a[0], "1", a[1]}
	case 3:
		nums = a
	}
	var vals [3]float64
	decimals := 0
	for i, s := range nums {
		v, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return usageErr(p, args[0], fmt.Errorf("invalid number %q", s))
		}
		vals[i] = v
		if dot := strings.IndexByte(s, '.'); dot >= 0 && i < 2 {
			decimals = max(decimals, len(s)-dot-1)
		}
	}
	first, incr, last := vals[0], vals[1], vals[2]
	if incr == 0 {
		return usageErr(p, args[0], errors.New("increment must not be zero"))
	}
	format := func(v float64) string { return strconv.FormatFloat(v, 'f', decimals, 64) }
	pad := 0
	if width {
		pad = max(len(format(first)), len(format(last)))
	}
	w := bufio.NewWriter(p.Stdout)
	n := 0
	for i := 0; ; i++ {
		v := first + float64(i)*incr
		if incr > 0 && v > last+1e-9 || incr < 0 && v < last-1e-9 {
			break
		}
		if n > 0 {
			w.WriteString(sep)
		}
		s := format(v)
		if pad > len(s) {
			neg := strings.HasPrefix(s, "-")
			s = strings.TrimPrefix(s, "-")
			s = strings.Repeat("0", pad-len(s)-btoi(neg)) + s
			if neg {
				s = "-" + s
			}
		}
		w.WriteString(s)
		n++
	}
	if n > 0 {
		w.WriteString("\n")
	}
	if err := w.Flush(); err != nil {
		return 1
	}
	return 0
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}
