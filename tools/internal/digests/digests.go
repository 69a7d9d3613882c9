// Package digests reads, checks and rewrites StageX pin files.
//
// A pin file, digests/<tier>.txt, holds one line per image:
//
//	<sha256 hex> <tier>-<name>
//
// with a single space between the two fields, the lines sorted by image name
// (byte order) and every line ending in a newline. The digest is the one the
// image's OCI layout lists in index.json (its manifest, or its image index
// when multi-platform), written as bare lowercase hex.
package digests

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/stagex/stagex-bazel/tools/internal/atomicfile"
	"github.com/stagex/stagex-bazel/tools/internal/diag"
	"github.com/stagex/stagex-bazel/tools/internal/stagex"
)

// UpdateCommand is the command that re-pins digests; error messages name it.
const UpdateCommand = "bazel run //:update_digests"

// lineFormat describes a pin line in error messages.
const lineFormat = "`<sha256 hex> <tier>-<name>`"

// Pins is the content of one pin file: image name to sha256 hex.
type Pins struct {
	// Owner is the Bazel repository the pin file comes from when it is not
	// the workspace's own (an imported StageX tree, or StageX used as a
	// dependency): its pins cannot be rewritten from here, and a mismatch
	// says so instead of naming UpdateCommand.
	Owner string
	path  string
	hexes map[string]string
	lines map[string]int // line of each name in the parsed file; absent when set later
}

// New returns an empty set of pins that belongs to the file at path.
func New(path string) *Pins {
	return &Pins{path: path, hexes: map[string]string{}, lines: map[string]int{}}
}

// Parse reads pin file data; path names the file in errors. Every problem is
// reported as path:line: with what was expected there.
func Parse(path string, data []byte) (*Pins, error) {
	p := New(path)
	text := string(data)
	if text == "" {
		return p, nil
	}
	text = strings.TrimSuffix(text, "\n")
	prev, prevLine := "", 0
	for i, line := range strings.Split(text, "\n") {
		n := i + 1
		f := strings.Fields(line)
		switch {
		case len(f) == 0:
			return nil, diag.Errorf(path, n, "blank line; expected %s", lineFormat)
		case len(f) != 2:
			return nil, diag.Errorf(path, n, "%d fields; expected 2: %s", len(f), lineFormat)
		case line != f[0]+" "+f[1]:
			return nil, diag.Errorf(path, n, "expected %s with a single space between the fields and none around them", lineFormat)
		}
		hex, name := f[0], f[1]
		if err := checkHex(hex); err != nil {
			return nil, diag.Errorf(path, n, "%v", err)
		}
		if err := checkName(name); err != nil {
			return nil, diag.Errorf(path, n, "%v", err)
		}
		if first, dup := p.lines[name]; dup {
			return nil, diag.Errorf(path, n, "duplicate image %s (first pinned on line %d); expected one line per image", name, first)
		}
		if prevLine > 0 && name < prev {
			return nil, diag.Errorf(path, n, "%s is out of order: expected it before %s (line %d); lines are sorted by image name", name, prev, prevLine)
		}
		p.hexes[name] = hex
		p.lines[name] = n
		prev, prevLine = name, n
	}
	return p, nil
}

// Load reads and parses the pin file at path. A missing file gives an error
// that matches fs.ErrNotExist.
func Load(path string) (*Pins, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return Parse(path, data)
}

// Path returns the file the pins belong to.
func (p *Pins) Path() string { return p.path }

// Names returns the pinned image names, sorted.
func (p *Pins) Names() []string {
	names := make([]string, 0, len(p.hexes))
	for n := range p.hexes {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Lookup returns the pinned sha256 hex of an image.
func (p *Pins) Lookup(name string) (hex string, ok bool) {
	hex, ok = p.hexes[name]
	return hex, ok
}

// Line returns the 1-based line an image was pinned on in the parsed file,
// or 0 when it is not pinned or was pinned by Set after parsing.
func (p *Pins) Line(name string) int { return p.lines[name] }

// Set pins an image to a digest, given as bare hex or as "sha256:<hex>". It
// reports whether the pin changed.
func (p *Pins) Set(name, digest string) (changed bool, err error) {
	if err := checkName(name); err != nil {
		return false, err
	}
	hex, err := Hex(digest)
	if err != nil {
		return false, err
	}
	if p.hexes[name] == hex {
		return false, nil
	}
	p.hexes[name] = hex
	delete(p.lines, name)
	return true, nil
}

// Format returns the pins in file form: sorted by name, newline-terminated.
func (p *Pins) Format() []byte {
	var b bytes.Buffer
	for _, n := range p.Names() {
		b.WriteString(p.hexes[n])
		b.WriteByte(' ')
		b.WriteString(n)
		b.WriteByte('\n')
	}
	return b.Bytes()
}

// Check compares the digest an image was built with (bare hex or
// "sha256:<hex>") against its pin. It fails when they differ or when the
// image has no pin; the error points at the pin's line and names both
// digests and the command that re-pins.
func (p *Pins) Check(name, built string) error {
	hex, err := Hex(built)
	if err != nil {
		return fmt.Errorf("built digest of %s: %w", name, err)
	}
	pinned, ok := p.hexes[name]
	if !ok {
		return diag.Errorf(p.path, 0, "no pinned digest for %s (built sha256:%s); %s", name, hex, p.fix("pin it"))
	}
	if pinned != hex {
		return diag.Errorf(p.path, p.lines[name], "digest of %s changed: pinned sha256:%s, built sha256:%s; %s", name, pinned, hex, p.fix("re-pin"))
	}
	return nil
}

// fix says what to do about a missing or different pin.
func (p *Pins) fix(what string) string {
	if p.Owner != "" {
		return fmt.Sprintf("the pins belong to @%s, whose maintainers built the image otherwise: this build is not reproducible here, or their pin is wrong", p.Owner)
	}
	return fmt.Sprintf("run `%s` to %s", UpdateCommand, what)
}

// WriteFile writes the pins to their file atomically: into a temporary file
// in the same directory, then renamed over the old one. The directory is
// created if needed.
func (p *Pins) WriteFile() error {
	return atomicfile.WriteFile(p.path, p.Format(), 0o644)
}

// Hex returns the bare lowercase sha256 hex of a digest given as hex or as
// "sha256:<hex>".
func Hex(digest string) (string, error) {
	hex := strings.TrimPrefix(digest, "sha256:")
	if err := checkHex(hex); err != nil {
		return "", err
	}
	return hex, nil
}

func checkHex(hex string) error {
	if !stagex.IsSHA256Hex(hex) {
		return fmt.Errorf("bad digest %q: expected 64 lowercase hex digits of a sha256", hex)
	}
	return nil
}

func checkName(name string) error {
	_, err := TierOf(name)
	return err
}

// TierOf checks an image name, <tier>-<name> (stagex.ParseImageName),
// and returns its stage ("core" for "core-make").
func TierOf(name string) (string, error) {
	stage, _, err := stagex.ParseImageName(name)
	return stage, err
}

// FileFor returns the pin file of an image under a workspace root:
// root/digests/<tier>.txt.
func FileFor(root, name string) (string, error) {
	stage, err := TierOf(name)
	if err != nil {
		return "", err
	}
	return filepath.Join(root, "digests", stage+".txt"), nil
}

// Change is the outcome of re-pinning one image. Old is empty when the image
// had no pin.
type Change struct {
	Name, File, Old, New string
}

// Changed reports whether the pin differs from before.
func (c Change) Changed() bool { return c.Old != c.New }

// Update pins the given images (name to digest, bare hex or "sha256:<hex>")
// in root/digests/<tier>.txt, creating files as needed and leaving the other
// pins alone. Files whose content does not change are not rewritten. The
// changes come back sorted by image name.
func Update(root string, built map[string]string) ([]Change, error) {
	names := make([]string, 0, len(built))
	for n := range built {
		names = append(names, n)
	}
	sort.Strings(names)

	files := map[string]*Pins{}
	var order []string
	var changes []Change
	for _, n := range names {
		path, err := FileFor(root, n)
		if err != nil {
			return nil, err
		}
		p, ok := files[path]
		if !ok {
			p, err = Load(path)
			if errors.Is(err, fs.ErrNotExist) {
				p, err = New(path), nil
			}
			if err != nil {
				return nil, err
			}
			files[path] = p
			order = append(order, path)
		}
		old, _ := p.Lookup(n)
		if _, err := p.Set(n, built[n]); err != nil {
			return nil, fmt.Errorf("%s: %w", n, err)
		}
		hex, _ := p.Lookup(n)
		changes = append(changes, Change{Name: n, File: path, Old: old, New: hex})
	}
	for _, path := range order {
		p := files[path]
		if cur, err := os.ReadFile(path); err == nil && bytes.Equal(cur, p.Format()) {
			continue
		}
		if err := p.WriteFile(); err != nil {
			return nil, err
		}
	}
	return changes, nil
}
