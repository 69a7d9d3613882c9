package containerfile

import (
	"fmt"
	"sort"
	"strings"
	"unicode"

	"github.com/moby/buildkit/frontend/dockerfile/shell"
)

// autoArgs are BuildKit's automatic platform ARGs.
var autoArgs = []string{
	"TARGETPLATFORM", "TARGETOS", "TARGETARCH", "TARGETVARIANT",
	"BUILDPLATFORM", "BUILDOS", "BUILDARCH", "BUILDVARIANT",
}

// envMap is a set of variables, usable as BuildKit's shell.EnvGetter.
type envMap map[string]string

func (e envMap) Get(k string) (string, bool) { v, ok := e[k]; return v, ok }

func (e envMap) Keys() []string {
	keys := make([]string, 0, len(e))
	for k := range e {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// sorted returns the variables as sorted KEY=value strings.
func (e envMap) sorted() []string {
	out := make([]string, 0, len(e))
	for _, k := range e.Keys() {
		out = append(out, k+"="+e[k])
	}
	return out
}

// scope is what expansion sees at one point of the file.
type scope struct {
	// env holds the variables set: base image environment, ENV values
	// and ARG values, as in BuildKit's build state.
	env envMap
	// args are the ARG names declared in scope, with or without a value.
	args map[string]bool
	// global is true for the scope before the first FROM.
	global bool
	// cfg is the image configuration being built (stages only).
	cfg ImageConfig
	// runArgs are the ARGs the stage declared so far, and those of the
	// stage it is based on, in order (BuildKit's record for RUN).
	runArgs []KeyValue
	// envList is env.sorted(), shared by every step until env changes
	// (envFresh false), rather than copied per step.
	envList  []string
	envFresh bool
}

// setVar sets a variable of the environment.
func (s *scope) setVar(k, v string) {
	s.env[k] = v
	s.envFresh = false
}

// unsetVar removes a variable from the environment.
func (s *scope) unsetVar(k string) {
	delete(s.env, k)
	s.envFresh = false
}

// sortedEnv returns the environment as sorted KEY=value strings, the same
// slice for every step until it changes (callers must not modify it), and
// the number of bytes newly built for it.
func (s *scope) sortedEnv() ([]string, int) {
	if s.envFresh {
		return s.envList, 0
	}
	s.envList, s.envFresh = s.env.sorted(), true
	return s.envList, s.env.size() + 16*len(s.envList)
}

func (s *scope) clone() *scope {
	out := &scope{env: envMap{}, args: map[string]bool{}, global: s.global, cfg: s.cfg.clone(), runArgs: append([]KeyValue(nil), s.runArgs...),
		envList: s.envList, envFresh: s.envFresh}
	for k, v := range s.env {
		out.env[k] = v
	}
	for k := range s.args {
		out.args[k] = true
	}
	return out
}

// setImageEnv records an ENV value both in the environment and in the
// image configuration, replacing an earlier value in place.
func (s *scope) setImageEnv(k, v string) {
	s.setVar(k, v)
	s.cfg.Env = setEnvList(s.cfg.Env, k, v)
}

func setEnvList(list []string, k, v string) []string {
	for i, kv := range list {
		if name, _, _ := strings.Cut(kv, "="); name == k {
			list[i] = k + "=" + v
			return list
		}
	}
	return append(list, k+"="+v)
}

func (s *scope) shell() []string {
	if len(s.cfg.Shell) > 0 {
		return append([]string(nil), s.cfg.Shell...)
	}
	return append([]string(nil), DefaultShell...)
}

func (s *scope) workdir() string {
	if s.cfg.WorkingDir == "" {
		return "/"
	}
	return s.cfg.WorkingDir
}

// expander expands words like BuildKit and rejects undefined variables.
type expander struct {
	escape rune
	lex    *shell.Lex // processes quotes: instruction arguments
	raw    *shell.Lex // keeps quotes: COPY/ADD heredoc bodies
	// globalArgs are the names declared before the first FROM, for the
	// hint that they must be re-declared in a stage.
	globalArgs map[string]bool
	// strict makes a variable used but never defined an error (see
	// Options.StrictVars); otherwise it expands to nothing.
	strict bool
}

func newExpander(escape rune) *expander {
	raw := shell.NewLex('\\')
	raw.SkipProcessQuotes = true
	return &expander{escape: escape, lex: shell.NewLex(escape), raw: raw, globalArgs: map[string]bool{}}
}

// word expands one instruction argument (quotes removed, as BuildKit does
// for COPY, ENV, WORKDIR and the like).
func (x *expander) word(w string, sc *scope) (string, error) {
	if err := checkWord(w, sc.env, x.escape); err != nil {
		return "", fmt.Errorf("expanding %s: %v", abbrev(w), err)
	}
	res, err := x.lex.ProcessWordWithMatches(w, sc.env)
	if err != nil {
		return "", fmt.Errorf("expanding %q: %v", w, err)
	}
	if err := x.checkUndefined(w, res.Unmatched, sc, x.escape, ""); err != nil {
		return "", err
	}
	return res.Result, nil
}

// words expands and splits an argument (EXPOSE).
func (x *expander) words(w string, sc *scope) ([]string, error) {
	if err := checkWord(w, sc.env, x.escape); err != nil {
		return nil, fmt.Errorf("expanding %s: %v", abbrev(w), err)
	}
	res, err := x.lex.ProcessWordWithMatches(w, sc.env)
	if err != nil {
		return nil, fmt.Errorf("expanding %q: %v", w, err)
	}
	if err := x.checkUndefined(w, res.Unmatched, sc, x.escape, ""); err != nil {
		return nil, err
	}
	return x.lex.ProcessWords(w, sc.env)
}

// document expands a COPY or ADD heredoc body, keeping quotes.
func (x *expander) document(doc string, sc *scope) (string, error) {
	if err := checkWord(doc, sc.env, '\\'); err != nil {
		return "", fmt.Errorf("expanding heredoc: %v", err)
	}
	res, err := x.raw.ProcessWordWithMatches(doc, sc.env)
	if err != nil {
		return "", fmt.Errorf("expanding heredoc: %v", err)
	}
	hint := ", or quote the heredoc delimiter (<<'EOF') to keep $ literal"
	if err := x.checkUndefined(doc, res.Unmatched, sc, '\\', hint); err != nil {
		return "", err
	}
	return res.Result, nil
}

// abbrev quotes w for an error message, cut to its first 60 bytes.
func abbrev(w string) string {
	if len(w) > 60 {
		return fmt.Sprintf("%q...", w[:60])
	}
	return fmt.Sprintf("%q", w)
}

// checkUndefined rejects, in strict mode, a variable that expansion looked
// up without finding, unless it is a declared ARG (which expands to "") or
// every use of it supplies its own fallback (${X:-default}, ${X+alt}, ...).
func (x *expander) checkUndefined(w string, unmatched map[string]struct{}, sc *scope, escape rune, hint string) error {
	if !x.strict {
		return nil
	}
	names := make([]string, 0, len(unmatched))
	for n := range unmatched {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		if sc.args[n] || !unguardedUse(w, n, escape) {
			continue
		}
		switch {
		case !sc.global && x.globalArgs[n]:
			return fmt.Errorf("variable %s used but never defined in this stage (%s is a global ARG: re-declare it with ARG %s after FROM%s)", n, n, n, hint)
		case !sc.global && isAutoArg(n):
			return fmt.Errorf("variable %s used but never defined (declare the automatic platform ARG with ARG %s%s)", n, n, hint)
		default:
			return fmt.Errorf("variable %s used but never defined (declare it with ARG%s)", n, hint)
		}
	}
	return nil
}

func isAutoArg(n string) bool {
	for _, a := range autoArgs {
		if a == n {
			return true
		}
	}
	return false
}

// unguardedUse reports whether w refers to variable name without a
// fallback of its own: $name, ${name}, or ${name<op>...} with an operator
// other than -, :-, +, :+, ?, :?. It is a scan for the cases BuildKit's
// lexer reports as unmatched; when no reference is found it errs on the
// side of reporting.
func unguardedUse(w, name string, escape rune) bool {
	rs := []rune(w)
	found := false
	for i := 0; i < len(rs); i++ {
		switch {
		case rs[i] == escape:
			i++ // the next character is literal
		case rs[i] == '$' && i+1 < len(rs):
			j := i + 1
			braced := rs[j] == '{'
			if braced {
				j++
			}
			n, end := scanName(rs, j)
			if n != name {
				continue
			}
			found = true
			if !braced {
				return true
			}
			if end >= len(rs) {
				return true
			}
			op := rs[end]
			if op == ':' && end+1 < len(rs) {
				op = rs[end+1]
			}
			switch op {
			case '-', '+', '?':
			default:
				return true
			}
		}
	}
	return !found
}

// scanName reads a variable name at rs[i:] the way BuildKit's lexer does:
// a run of digits, one special parameter character, or letters, digits
// and underscores.
func scanName(rs []rune, i int) (string, int) {
	if i >= len(rs) {
		return "", i
	}
	start := i
	if unicode.IsDigit(rs[i]) {
		for i < len(rs) && unicode.IsDigit(rs[i]) {
			i++
		}
		return string(rs[start:i]), i
	}
	if strings.ContainsRune("@*#?-$!0", rs[i]) {
		return string(rs[i]), i + 1
	}
	for i < len(rs) && (unicode.IsLetter(rs[i]) || unicode.IsDigit(rs[i]) || rs[i] == '_') {
		i++
	}
	return string(rs[start:i]), i
}
