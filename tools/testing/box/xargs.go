package box

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
)

func init() {
	register(xargsMain, "xargs")
}

// xargsMain is xargs [-0rt] [-d DELIM] [-n N] [-I REPL] [COMMAND [ARG]...].
// Commands run one after another, through Run, with an empty stdin.
func xargsMain(ctx context.Context, p *Proc, args []string) int {
	f, ops, err := getopt(args[1:], "0rtxd:n:I:L:s:P:", "null=0", "no-run-if-empty=r",
		"verbose=t", "exit=x", "delimiter=d", "max-args=n", "replace=I", "max-lines=L",
		"max-chars=s", "max-procs=P")
	if err != nil {
		return usageErr(p, args[0], err)
	}
	maxArgs := 0
	if v, ok := f.get("n"); ok {
		if maxArgs, err = strconv.Atoi(v); err != nil || maxArgs < 1 {
			return usageErr(p, args[0], fmt.Errorf("invalid number %q for -n", v))
		}
	}
	if v, ok := f.get("L"); ok {
		// Lines are taken as one argument list each when there is one
		// argument per line, the common case.
		if maxArgs, err = strconv.Atoi(v); err != nil || maxArgs < 1 {
			return usageErr(p, args[0], fmt.Errorf("invalid number %q for -L", v))
		}
	}
	cmd := ops
	if len(cmd) == 0 {
		cmd = []string{"echo"}
	}
	data, err := io.ReadAll(p.Stdin)
	if err != nil {
		p.errf(args[0], "%v", err)
		return 1
	}
	var items []string
	repl, replace := f.get("I")
	switch {
	case replace:
		for line := range strings.SplitSeq(string(data), "\n") {
			if line = strings.TrimLeft(line, " \t"); line != "" {
				items = append(items, line)
			}
		}
		maxArgs = 1
	case f.has("0"):
		items = splitDelim(string(data), "\x00")
	case f.has("d"):
		d, _ := f.get("d")
		d = strings.NewReplacer(`\n`, "\n", `\t`, "\t", `\0`, "\x00", `\\`, `\`).Replace(d)
		if len(d) != 1 {
			return usageErr(p, args[0], fmt.Errorf("invalid delimiter %q", d))
		}
		items = splitDelim(string(data), d)
	default:
		if items, err = xargsWords(string(data)); err != nil {
			p.errf(args[0], "%v", err)
			return 1
		}
	}
	if len(items) == 0 && (f.has("r") || replace) {
		return 0
	}
	if maxArgs == 0 {
		maxArgs = max(len(items), 1)
	}
	status := 0
	for start := 0; start < len(items) || start == 0; start += maxArgs {
		chunk := items[start:min(start+maxArgs, len(items))]
		var argv []string
		if replace {
			for _, c := range cmd {
				argv = append(argv, strings.ReplaceAll(c, repl, chunk[0]))
			}
		} else {
			argv = append(append([]string{}, cmd...), chunk...)
		}
		if f.has("t") {
			fmt.Fprintln(p.Stderr, strings.Join(argv, " "))
		}
		code := Run(ctx, p.with(strings.NewReader(""), p.Stdout), argv)
		switch {
		case code == 255:
			p.errf(args[0], "%s: exited with status 255; aborting", argv[0])
			return 124
		case code == 126 || code == 127:
			return code
		case code > 128:
			return 125
		case code != 0:
			status = 123
		}
		if ctx.Err() != nil {
			return 125
		}
		if len(items) == 0 {
			break
		}
	}
	return status
}

func splitDelim(s, d string) []string {
	s = strings.TrimSuffix(s, d)
	if s == "" {
		return nil
	}
	return strings.Split(s, d)
}

// xargsWords splits input at blanks and newlines, honouring '...', "..."
// and backslash escapes.
func xargsWords(s string) ([]string, error) {
	var words []string
	var cur strings.Builder
	inWord := false
	r := bufio.NewReader(strings.NewReader(s))
	for {
		c, err := r.ReadByte()
		if err != nil {
			break
		}
		switch c {
		case ' ', '\t', '\n':
			if inWord {
				words = append(words, cur.String())
				cur.Reset()
				inWord = false
			}
		case '\'', '"':
			inWord = true
			for {
				d, err := r.ReadByte()
				if err != nil || d == '\n' {
					return nil, errors.New("unmatched quote; by default quotes are special to xargs unless you use the -0 option")
				}
				if d == c {
					break
				}
				cur.WriteByte(d)
			}
		case '\\':
			inWord = true
			if d, err := r.ReadByte(); err == nil {
				cur.WriteByte(d)
			}
		default:
			inWord = true
			cur.WriteByte(c)
		}
	}
	if inWord {
		words = append(words, cur.String())
	}
	return words, nil
}
