package box

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

func init() {
	register(findMain, "find")
}

// findEntry is one file met during the walk.
type findEntry struct {
	path  string // as printed
	abs   string
	fi    fs.FileInfo
	depth int
	prune bool
}

type findNode interface {
	eval(f *finder, e *findEntry) bool
}

type finder struct {
	ctx                  context.Context
	p                    *Proc
	name                 string
	follow               bool
	depthFirst           bool
	minDepth, maxDepth   int
	quit                 bool
	status               int
	batches              []*execNode
	expr                 findNode
	hasAction, hasDelete bool
}

// findMain is find [-H|-L|-P] [PATH...] [EXPRESSION]. Expressions combine
// with ! ( ) -a -o the tests -name -iname -path -ipath -type -newer -perm
// -size -empty -mindepth -maxdepth -true -false and the actions -print
// -print0 -exec (; and +) -delete -prune -quit. Directory entries are
// visited in name order.
func findMain(ctx context.Context, p *Proc, args []string) int {
	f := &finder{ctx: ctx, p: p, name: args[0], maxDepth: -1}
	a := args[1:]
	for len(a) > 0 && (a[0] == "-L" || a[0] == "-H" || a[0] == "-P") {
		f.follow = a[0] == "-L"
		a = a[1:]
	}
	var paths []string
	for len(a) > 0 && !strings.HasPrefix(a[0], "-") && a[0] != "(" && a[0] != "!" {
		paths = append(paths, a[0])
		a = a[1:]
	}
	if len(paths) == 0 {
		paths = []string{"."}
	}
	parser := &findParser{f: f, toks: a}
	if len(a) > 0 {
		expr, err := parser.or()
		if err == nil && parser.i < len(parser.toks) {
			err = fmt.Errorf("unexpected %s", parser.toks[parser.i])
		}
		if err != nil {
			return usageErr(p, args[0], err)
		}
		f.expr = expr
	}
	if !f.hasAction {
		printer := &printNode{end: "\n"}
		if f.expr == nil {
			f.expr = printer
		} else {
			f.expr = &andNode{f.expr, printer}
		}
	}
	if f.hasDelete {
		f.depthFirst = true
	}
	for _, path := range paths {
		if f.quit || ctx.Err() != nil {
			break
		}
		f.walk(path, p.Abs(path), 0)
	}
	for _, b := range f.batches {
		b.flush(f)
	}
	return f.status
}

func (f *finder) report(path string, err error) {
	f.p.errf(f.name, "%s: %v", path, unwrapSys(err))
	f.status = 1
}

func (f *finder) walk(path, abs string, depth int) {
	stat := os.Lstat
	if f.follow {
		stat = os.Stat
	}
	fi, err := stat(abs)
	if err != nil && f.follow {
		fi, err = os.Lstat(abs) // a dangling link is still listed
	}
	if err != nil {
		f.report(path, err)
		return
	}
	e := &findEntry{path: path, abs: abs, fi: fi, depth: depth}
	if !f.depthFirst && depth >= f.minDepth {
		f.expr.eval(f, e)
	}
	if f.quit {
		return
	}
	if fi.IsDir() && !e.prune && (f.maxDepth < 0 || depth < f.maxDepth) {
		entries, err := os.ReadDir(abs)
		if err != nil {
			f.report(path, err)
		}
		for _, de := range entries {
			if f.quit || f.ctx.Err() != nil {
				return
			}
			child := path + "/" + de.Name()
			if strings.HasSuffix(path, "/") {
				child = path + de.Name()
			}
			f.walk(child, abs+"/"+de.Name(), depth+1)
		}
	}
	if f.depthFirst && depth >= f.minDepth && !f.quit {
		f.expr.eval(f, e)
	}
}

type findParser struct {
	f    *finder
	toks []string
	i    int
}

func (ps *findParser) peek() string {
	if ps.i < len(ps.toks) {
		return ps.toks[ps.i]
	}
	return ""
}

func (ps *findParser) or() (findNode, error) {
	left, err := ps.and()
	if err != nil {
		return nil, err
	}
	for ps.peek() == "-o" || ps.peek() == "-or" {
		ps.i++
		right, err := ps.and()
		if err != nil {
			return nil, err
		}
		left = &orNode{left, right}
	}
	return left, nil
}

func (ps *findParser) and() (findNode, error) {
	left, err := ps.unary()
	if err != nil {
		return nil, err
	}
	for {
		switch t := ps.peek(); t {
		case "", ")", "-o", "-or", ",":
			return left, nil
		case "-a", "-and":
			ps.i++
		}
		right, err := ps.unary()
		if err != nil {
			return nil, err
		}
		left = &andNode{left, right}
	}
}

func (ps *findParser) unary() (findNode, error) {
	switch t := ps.peek(); t {
	case "!", "-not":
		ps.i++
		n, err := ps.unary()
		if err != nil {
			return nil, err
		}
		return &notNode{n}, nil
	case "(":
		ps.i++
		n, err := ps.or()
		if err != nil {
			return nil, err
		}
		if ps.peek() != ")" {
			return nil, errors.New("missing )")
		}
		ps.i++
		return n, nil
	case "":
		return nil, errors.New("expected an expression")
	}
	return ps.primary()
}

func (ps *findParser) arg(name string) (string, error) {
	if ps.i >= len(ps.toks) {
		return "", fmt.Errorf("missing argument to %s", name)
	}
	ps.i++
	return ps.toks[ps.i-1], nil
}

func (ps *findParser) primary() (findNode, error) {
	name := ps.toks[ps.i]
	ps.i++
	switch name {
	case "-name", "-iname", "-path", "-ipath", "-wholename":
		pat, err := ps.arg(name)
		if err != nil {
			return nil, err
		}
		re, err := globRE(pat, name == "-iname" || name == "-ipath")
		if err != nil {
			return nil, err
		}
		return &matchNode{re: re, whole: name != "-name" && name != "-iname"}, nil
	case "-type":
		t, err := ps.arg(name)
		if err != nil {
			return nil, err
		}
		n := &typeNode{}
		for c := range strings.SplitSeq(t, ",") {
			if len(c) != 1 || !strings.Contains("fdlpscb", c) {
				return nil, fmt.Errorf("unknown argument to -type: %s", t)
			}
			n.types += c
		}
		return n, nil
	case "-maxdepth", "-mindepth":
		v, err := ps.arg(name)
		if err != nil {
			return nil, err
		}
		d, err := strconv.Atoi(v)
		if err != nil || d < 0 {
			return nil, fmt.Errorf("invalid argument %q to %s", v, name)
		}
		if name == "-maxdepth" {
			ps.f.maxDepth = d
		} else {
			ps.f.minDepth = d
		}
		return constNode(true), nil
	case "-depth", "-d":
		ps.f.depthFirst = true
		return constNode(true), nil
	case "-xdev", "-mount", "-noleaf", "-ignore_readdir_race":
		return constNode(true), nil
	case "-true":
		return constNode(true), nil
	case "-false":
		return constNode(false), nil
	case "-print":
		ps.f.hasAction = true
		return &printNode{end: "\n"}, nil
	case "-print0":
		ps.f.hasAction = true
		return &printNode{end: "\x00"}, nil
	case "-delete":
		ps.f.hasAction, ps.f.hasDelete = true, true
		return deleteNode{}, nil
	case "-prune":
		return pruneNode{}, nil
	case "-quit":
		return quitNode{}, nil
	case "-empty":
		return emptyNode{}, nil
	case "-newer":
		ref, err := ps.arg(name)
		if err != nil {
			return nil, err
		}
		fi, err := os.Stat(ps.f.p.Abs(ref))
		if err != nil {
			return nil, err
		}
		return newerNode(fi.ModTime()), nil
	case "-perm":
		v, err := ps.arg(name)
		if err != nil {
			return nil, err
		}
		n := &permNode{}
		if v != "" && (v[0] == '-' || v[0] == '/') {
			n.how, v = v[0], v[1:]
		}
		m, err := parseMode(v, 0, false)
		if err != nil {
			return nil, err
		}
		n.bits = modeBits(m)
		return n, nil
	case "-size":
		v, err := ps.arg(name)
		if err != nil {
			return nil, err
		}
		return parseSize(v)
	case "-exec", "-ok":
		n := &execNode{}
		for {
			t, err := ps.arg(name)
			if err != nil {
				return nil, errors.New("missing terminator for -exec (; or +)")
			}
			if t == ";" {
				break
			}
			if t == "+" && len(n.cmd) > 0 && n.cmd[len(n.cmd)-1] == "{}" {
				n.batch = true
				n.cmd = n.cmd[:len(n.cmd)-1]
				ps.f.batches = append(ps.f.batches, n)
				break
			}
			n.cmd = append(n.cmd, t)
		}
		if len(n.cmd) == 0 {
			return nil, errors.New("-exec needs a command")
		}
		ps.f.hasAction = true
		return n, nil
	}
	return nil, fmt.Errorf("unknown predicate %s", name)
}

// globRE compiles a shell pattern; * and ? also match '/' (as -path wants).
func globRE(pat string, fold bool) (*regexp.Regexp, error) {
	var b strings.Builder
	b.WriteString("(?s)^")
	if fold {
		b.WriteString("(?i)")
	}
	for i := 0; i < len(pat); i++ {
		switch c := pat[i]; c {
		case '*':
			b.WriteString(".*")
		case '?':
			b.WriteString(".")
		case '\\':
			if i+1 < len(pat) {
				i++
				b.WriteString(regexp.QuoteMeta(pat[i : i+1]))
			} else {
				b.WriteString(`\\`)
			}
		case '[':
			j := i + 1
			if j < len(pat) && (pat[j] == '!' || pat[j] == '^') {
				j++
			}
			if j < len(pat) && pat[j] == ']' {
				j++
			}
			for j < len(pat) && pat[j] != ']' {
				j++
			}
			if j >= len(pat) {
				b.WriteString(`\[`)
				continue
			}
			body := pat[i+1 : j]
			b.WriteByte('[')
			if body[0] == '!' || body[0] == '^' {
				b.WriteByte('^')
				body = body[1:]
			}
			b.WriteString(strings.NewReplacer(`\`, `\\`, "[", `\[`).Replace(body))
			b.WriteByte(']')
			i = j
		default:
			b.WriteString(regexp.QuoteMeta(string(c)))
		}
	}
	b.WriteString("$")
	return regexp.Compile(b.String())
}

type andNode struct{ l, r findNode }

func (n *andNode) eval(f *finder, e *findEntry) bool { return n.l.eval(f, e) && n.r.eval(f, e) }

type orNode struct{ l, r findNode }

func (n *orNode) eval(f *finder, e *findEntry) bool { return n.l.eval(f, e) || n.r.eval(f, e) }

type notNode struct{ n findNode }

func (n *notNode) eval(f *finder, e *findEntry) bool { return !n.n.eval(f, e) }

type constNode bool

func (n constNode) eval(*finder, *findEntry) bool { return bool(n) }

type matchNode struct {
	re    *regexp.Regexp
	whole bool
}

func (n *matchNode) eval(_ *finder, e *findEntry) bool {
	if n.whole {
		return n.re.MatchString(e.path)
	}
	return n.re.MatchString(baseName(e.path, ""))
}

type typeNode struct{ types string }

func (n *typeNode) eval(_ *finder, e *findEntry) bool {
	m := e.fi.Mode()
	var t byte
	switch {
	case m.IsRegular():
		t = 'f'
	case m.IsDir():
		t = 'd'
	case m&fs.ModeSymlink != 0:
		t = 'l'
	case m&fs.ModeNamedPipe != 0:
		t = 'p'
	case m&fs.ModeSocket != 0:
		t = 's'
	case m&fs.ModeCharDevice != 0:
		t = 'c'
	case m&fs.ModeDevice != 0:
		t = 'b'
	}
	return strings.IndexByte(n.types, t) >= 0
}

type printNode struct{ end string }

func (n *printNode) eval(f *finder, e *findEntry) bool {
	fmt.Fprint(f.p.Stdout, e.path+n.end)
	return true
}

type deleteNode struct{}

func (deleteNode) eval(f *finder, e *findEntry) bool {
	if e.path == "." {
		return true
	}
	if err := os.Remove(e.abs); err != nil {
		f.report(e.path, err)
		return false
	}
	return true
}

type pruneNode struct{}

func (pruneNode) eval(_ *finder, e *findEntry) bool {
	e.prune = true
	return true
}

type quitNode struct{}

func (quitNode) eval(f *finder, _ *findEntry) bool {
	f.quit = true
	return true
}

type emptyNode struct{}

func (emptyNode) eval(_ *finder, e *findEntry) bool {
	switch {
	case e.fi.Mode().IsRegular():
		return e.fi.Size() == 0
	case e.fi.IsDir():
		d, err := os.Open(e.abs)
		if err != nil {
			return false
		}
		defer d.Close()
		names, _ := d.Readdirnames(1)
		return len(names) == 0
	}
	return false
}

type newerNode time.Time

func (n newerNode) eval(_ *finder, e *findEntry) bool {
	return e.fi.ModTime().After(time.Time(n))
}

type permNode struct {
	how  byte // 0 exact, '-' all of, '/' any of
	bits uint32
}

func (n *permNode) eval(_ *finder, e *findEntry) bool {
	have := modeBits(e.fi.Mode())
	switch n.how {
	case '-':
		return have&n.bits == n.bits
	case '/':
		return n.bits == 0 || have&n.bits != 0
	}
	return have == n.bits
}

type sizeNode struct {
	cmp  byte // 0, '+', '-'
	n    int64
	unit int64
}

func parseSize(v string) (findNode, error) {
	n := &sizeNode{unit: 512}
	if v != "" && (v[0] == '+' || v[0] == '-') {
		n.cmp, v = v[0], v[1:]
	}
	if v != "" {
		switch v[len(v)-1] {
		case 'c':
			n.unit, v = 1, v[:len(v)-1]
		case 'w':
			n.unit, v = 2, v[:len(v)-1]
		case 'b':
			v = v[:len(v)-1]
		case 'k':
			n.unit, v = 1024, v[:len(v)-1]
		case 'M':
			n.unit, v = 1<<20, v[:len(v)-1]
		case 'G':
			n.unit, v = 1<<30, v[:len(v)-1]
		}
	}
	var err error
	if n.n, err = strconv.ParseInt(v, 10, 64); err != nil {
		return nil, fmt.Errorf("invalid -size %q", v)
	}
	return n, nil
}

func (n *sizeNode) eval(_ *finder, e *findEntry) bool {
	units := (e.fi.Size() + n.unit - 1) / n.unit
	switch n.cmp {
	case '+':
		return units > n.n
	case '-':
		return units < n.n
	}
	return units == n.n
}

type execNode struct {
	cmd     []string
	batch   bool
	pending []string
}

func (n *execNode) eval(f *finder, e *findEntry) bool {
	if n.batch {
		n.pending = append(n.pending, e.path)
		if len(n.pending) >= 1000 {
			n.flush(f)
		}
		return true
	}
	args := make([]string, len(n.cmd))
	for i, a := range n.cmd {
		args[i] = strings.ReplaceAll(a, "{}", e.path)
	}
	return Run(f.ctx, f.p.with(strings.NewReader(""), f.p.Stdout), args) == 0
}

func (n *execNode) flush(f *finder) {
	if len(n.pending) == 0 {
		return
	}
	args := append(slices.Clone(n.cmd), n.pending...)
	n.pending = nil
	if Run(f.ctx, f.p.with(strings.NewReader(""), f.p.Stdout), args) != 0 {
		f.status = 1
	}
}
