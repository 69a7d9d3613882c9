package containerfile

import (
	"fmt"
	"math"

	"github.com/moby/buildkit/frontend/dockerfile/parser"
)

// Limits on what one Containerfile may make the parser do. StageX's own
// files stay far below them (the largest in 2026.01.0 has 19 KB, 33 stages
// and 235 instructions); they keep a crafted file from exhausting the stack
// or the memory of the parser and of what runs it (the translator,
// gazelle). Each is reported as "file:line: ..." at the instruction that
// crosses it.
const (
	// MaxFileSize is the largest Containerfile read, in bytes.
	MaxFileSize = 4 << 20
	// MaxInstructionSize bounds one instruction: its lines joined by
	// continuations, and its heredocs.
	MaxInstructionSize = 1 << 20
	// MaxNesting is how deep variable references may nest: ${A:-${B}} is
	// two deep. (BuildKit's lexer recurses once per level.)
	MaxNesting = 32
	// MaxWordSize bounds one expanded word, in bytes.
	MaxWordSize = 1 << 20
	// MaxEnvSize bounds the variables in scope (names and values).
	MaxEnvSize = 4 << 20
	// MaxStages is the most stages a file may have.
	MaxStages = 1000
	// MaxParsedSize bounds what the whole file yields: the text of every
	// step (expanded values, history) and every new environment.
	MaxParsedSize = 64 << 20
)

// lineAt is the line holding byte offset at of data.
func lineAt(data []byte, at int) int {
	line := 1
	for _, b := range data[:at] {
		if b == '\n' {
			line++
		}
	}
	return line
}

// instructionSize is the size of n as written: its lines and heredocs.
func instructionSize(n *parser.Node) int {
	size := len(n.Original)
	for _, h := range n.Heredocs {
		size += len(h.Content)
	}
	return size
}

// checkWord refuses a word whose variable references nest deeper than
// MaxNesting, or that could expand to more than MaxWordSize bytes, before
// BuildKit's lexer expands it. The bound is the word's length plus the
// length of each referenced value; a pattern substitution
// (${NAME/pattern/replacement}) may replace every character of its value
// with all the rest, so each multiplies the bound.
func checkWord(w string, env envMap, escape rune) error {
	rs := []rune(w)
	depth := 0
	total := int64(len(w))
	substitutions := 0
	for i := 0; i < len(rs); i++ {
		switch {
		case rs[i] == escape:
			i++ // the next character is literal
		case rs[i] == '$' && i+1 < len(rs):
			j := i + 1
			braced := rs[j] == '{'
			if braced {
				j++
				depth++
				if depth > MaxNesting {
					return fmt.Errorf("variable references nested more than %d deep", MaxNesting)
				}
			}
			name, end := scanName(rs, j)
			if name == "" {
				i = j - 1
				continue
			}
			total += int64(len(env[name]))
			if braced && end < len(rs) && rs[end] == '/' {
				substitutions++
			}
			i = end - 1
		case rs[i] == '}' && depth > 0:
			depth--
		}
	}
	bound := total
	for k := 0; k < substitutions && bound <= MaxWordSize; k++ {
		if bound > math.MaxInt64/(total+1) {
			bound = math.MaxInt64
			break
		}
		bound *= total + 1
	}
	if bound > MaxWordSize {
		return fmt.Errorf("the word could expand to more than %d bytes (MaxWordSize)", MaxWordSize)
	}
	return nil
}

// size is the number of bytes the variables of e hold.
func (e envMap) size() int {
	n := 0
	for k, v := range e {
		n += len(k) + 1 + len(v)
	}
	return n
}

// checkEnv refuses an environment over MaxEnvSize.
func checkEnv(e envMap) error {
	if n := e.size(); n > MaxEnvSize {
		return fmt.Errorf("the environment holds more than %d bytes (MaxEnvSize): %d", MaxEnvSize, n)
	}
	return nil
}

// stepSize is what s holds beyond its shared environment.
func stepSize(s *Step) int {
	n := len(s.Original) + len(s.History) + len(s.Script) + len(s.Value) + len(s.Dest) + len(s.Chmod) + len(s.Chown)
	for _, l := range [][]string{s.Srcs, s.Args, s.Exec, s.Flags, s.Mounts, s.Devices} {
		for _, v := range l {
			n += len(v) + 16
		}
	}
	for _, kv := range s.KV {
		n += len(kv.Key) + len(kv.Value) + 32
	}
	for _, f := range s.Files {
		n += len(f.Name) + len(f.Content)
	}
	for _, h := range s.Heredocs {
		n += len(h.Name) + len(h.Content)
	}
	return n + 512 // the Step itself
}

// charge adds n bytes to what the file yields, failing past MaxParsedSize.
func (p *fileParser) charge(n int) error {
	p.parsed += int64(n)
	if p.parsed > MaxParsedSize {
		return fmt.Errorf("the Containerfile yields more than %d bytes of steps and environments (MaxParsedSize): too many steps or too large values", MaxParsedSize)
	}
	return nil
}
