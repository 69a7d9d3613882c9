// Package hex0 reads the hex0 language of the stage0 bootstrap: pairs of
// hexadecimal digits are bytes; '#' and ';' start a comment that runs to
// the end of the line; everything else between digits is ignored
// whitespace. It is the first "compiler" of the StageX chain, and the
// compiler the test fixtures use to build a program inside a stage.
package hex0

import (
	"bufio"
	"fmt"
	"io"
)

// Compile translates hex0 source from r into bytes written to w. name is
// used in errors, which give the line of an odd digit or a stray
// character.
func Compile(name string, r io.Reader, w io.Writer) error {
	br := bufio.NewReader(r)
	bw := bufio.NewWriter(w)
	line, pending, high := 1, false, byte(0)
	pendingLine := 0
	for {
		c, err := br.ReadByte()
		if err == io.EOF {
			break
		}
		if err != nil {
			return err
		}
		switch {
		case c == '#' || c == ';':
			for c != '\n' {
				if c, err = br.ReadByte(); err == io.EOF {
					break
				} else if err != nil {
					return err
				}
			}
			if c == '\n' {
				line++
			}
		case c == '\n':
			line++
		case c == ' ' || c == '\t' || c == '\r':
		default:
			v, ok := digit(c)
			if !ok {
				return fmt.Errorf("%s:%d: unexpected %q: expected hexadecimal digits, whitespace or a comment", name, line, c)
			}
			if !pending {
				high, pending, pendingLine = v, true, line
				continue
			}
			if err := bw.WriteByte(high<<4 | v); err != nil {
				return err
			}
			pending = false
		}
	}
	if pending {
		return fmt.Errorf("%s:%d: odd number of hexadecimal digits: the last byte is incomplete", name, pendingLine)
	}
	return bw.Flush()
}

func digit(c byte) (byte, bool) {
	switch {
	case c >= '0' && c <= '9':
		return c - '0', true
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10, true
	case c >= 'A' && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}
