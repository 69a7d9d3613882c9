package pkgspec

import (
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"

	"github.com/BurntSushi/toml"

	"github.com/stagex/stagex-bazel/tools/internal/diag"
	"github.com/stagex/stagex-bazel/tools/internal/stagex"
)

// Package is a parsed package.toml.
type Package struct {
	Path       string // file path as given, for errors
	Tier, Name string // from the package's directory

	Version     string // [package].version, or after ResolveVersion the version taken through version_from
	VersionFrom string // [package].version_from: "<tier>-<name>" of the package whose version this one takes
	Description string
	License     string // SPDX expression
	Website     string
	Platforms   []string // os/arch[/variant]; empty means every platform
	Subpackages []string // each built from stage package-<sub>, published as <tier>-<sub>

	// ReleaseMonitoringID is the top-level release_monitoring_id, 0 when absent.
	ReleaseMonitoringID int64

	Sources []Source // sorted by ID

	versionFromLine int
	tmpl            map[string]*sourceTemplate // by source ID
}

// Source is one [sources.<id>] table, with its templates expanded.
type Source struct {
	ID   string
	Line int // line of the table's header

	Hash string // sha256, lower-case hex

	// Version is the source's version: its own, or else the package's.
	// It is empty when neither has one, and for a package with
	// version_from until ResolveVersion.
	Version string
	// InheritsVersion is true when the source sets no version of its own.
	InheritsVersion bool

	Format string
	GitSHA string

	// File is the name of the downloaded file: file expanded, or else the
	// last path element of the first mirror. Empty only while it waits for
	// ResolveVersion.
	File string
	// Mirrors are the download URLs, expanded, in the order given. Empty
	// while they wait for ResolveVersion.
	Mirrors []string
}

// sourceTemplate keeps what a source's file name and mirrors are computed
// from, so that ResolveVersion can compute them once the version is known.
type sourceTemplate struct {
	file        template // nil when the source has no file key
	fileLine    int
	mirrors     []template
	mirrorsLine int
	// argFile is what StageX's targets.py names the file in the
	// <ID>_SOURCE build argument: file, or else the last path element of
	// the first mirror as written (before expansion).
	argFile template
}

// ImageName returns the package's image name, <tier>-<name>.
func (p *Package) ImageName() string { return stagex.ImageName(p.Tier, p.Name) }

// SubpackageImageName returns the image name of subpackage sub,
// <tier>-<sub>.
func (p *Package) SubpackageImageName(sub string) string { return stagex.ImageName(p.Tier, sub) }

// Resolved reports whether every version-dependent value is known: false
// only for a package with version_from before ResolveVersion.
func (p *Package) Resolved() bool { return p.VersionFrom == "" || p.Version != "" }

func validName(s string) bool { return stagex.NamePattern.MatchString(s) }

// ParseFile reads and parses the package.toml at path. The stage and name
// are the two directories above the file: packages/<tier>/<name>/.
func ParseFile(path string) (*Package, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return nil, diag.Errorf(path, 0, "cannot read: %v", err)
	}
	dir := filepath.Dir(filepath.Clean(path))
	name := filepath.Base(dir)
	stage := filepath.Base(filepath.Dir(dir))
	if name == "." || name == string(filepath.Separator) || stage == "." || stage == string(filepath.Separator) {
		return nil, diag.Errorf(path, 0, "cannot tell stage and name: expected the file in packages/<tier>/<name>/")
	}
	return Parse(path, stage, name, data)
}

// Parse parses data, the package.toml of package name in tier; path names
// it in errors.
func Parse(path, tier, name string, data []byte) (*Package, error) {
	if !stagex.IsTier(tier) {
		return nil, diag.Errorf(path, 0, "unknown tier %q: expected one of %s", tier, strings.Join(stagex.Tiers, ", "))
	}
	if !validName(name) {
		return nil, diag.Errorf(path, 0, "directory name %q is not a valid package name (lower-case letters and digits, separated by '.', '_' or '-')", name)
	}
	root, err := parseDoc(data)
	if err != nil {
		var pe toml.ParseError
		if errors.As(err, &pe) {
			return nil, diag.Errorf(path, pe.Position.Line, "invalid TOML: %s", pe.Message)
		}
		return nil, diag.Errorf(path, 0, "invalid TOML: %v", err)
	}
	ps := &parser{path: path, p: &Package{Path: path, Tier: tier, Name: name}}
	if err := ps.document(root); err != nil {
		return nil, err
	}
	return ps.p, nil
}

// parser fills a Package from a document tree.
type parser struct {
	path string
	p    *Package
}

func (ps *parser) errorf(line int, format string, args ...any) error {
	return diag.Errorf(ps.path, line, format, args...)
}

// allowed returns an error for the first key of table n not in keys.
func (ps *parser) allowed(n *node, where string, keys ...string) error {
	for _, c := range n.children {
		if !slices.Contains(keys, c.key) {
			return ps.errorf(c.line, "unknown key %q in %s; allowed keys: %s", c.key, where, strings.Join(keys, ", "))
		}
	}
	return nil
}

func (ps *parser) document(root *node) error {
	if err := ps.allowed(root, "the top level", "package", "sources", "release_monitoring_id"); err != nil {
		return err
	}
	if n := root.child("release_monitoring_id"); n != nil {
		id, ok := n.val.(int64)
		if !ok || id <= 0 {
			return ps.errorf(n.line, "release_monitoring_id must be a positive integer, not %s", describeNode(n))
		}
		ps.p.ReleaseMonitoringID = id
	}
	pkg := root.child("package")
	if pkg == nil {
		return ps.errorf(0, "missing [package] table")
	}
	if !pkg.table {
		return ps.errorf(pkg.line, "package must be a table ([package]), not %s", describeNode(pkg))
	}
	if err := ps.packageTable(pkg); err != nil {
		return err
	}
	if src := root.child("sources"); src != nil {
		if err := ps.sources(src); err != nil {
			return err
		}
	}
	return nil
}

var packageKeys = []string{"name", "version", "version_from", "description", "license", "licenses", "website", "platforms", "subpackages"}

func (ps *parser) packageTable(n *node) error {
	p := ps.p
	if err := ps.allowed(n, "[package]", packageKeys...); err != nil {
		return err
	}
	name := n.child("name")
	if name == nil {
		return ps.errorf(n.line, "[package] has no name; expected name = %q", p.Name)
	}
	got, err := ps.str(name, "name")
	if err != nil {
		return err
	}
	if got != p.Name {
		return ps.errorf(name.line, "name %q does not match the package's directory %q", got, p.Name)
	}
	for _, f := range []struct {
		key string
		dst *string
	}{
		{"version", &p.Version},
		{"description", &p.Description},
		{"website", &p.Website},
	} {
		if c := n.child(f.key); c != nil {
			read := ps.str
			if f.key == "description" {
				read = ps.text // prose for people, never passed to the build
			}
			if *f.dst, err = read(c, f.key); err != nil {
				return err
			}
		}
	}
	if c := n.child("version_from"); c != nil {
		if p.VersionFrom, err = ps.str(c, "version_from"); err != nil {
			return err
		}
		if p.Version != "" {
			return ps.errorf(c.line, "both version and version_from are set; keep one")
		}
		if _, _, err := stagex.ParseImageName(p.VersionFrom); err != nil {
			return ps.errorf(c.line, "version_from: %v", err)
		}
		p.versionFromLine = c.line
	}
	// StageX's trees spell the key both ways; its tools read neither.
	if c, d := n.child("license"), n.child("licenses"); c != nil && d != nil {
		return ps.errorf(d.line, "both license and licenses are set; keep one")
	}
	for _, key := range []string{"license", "licenses"} {
		if c := n.child(key); c != nil {
			if p.License, err = ps.license(c); err != nil {
				return err
			}
		}
	}
	if c := n.child("platforms"); c != nil {
		if p.Platforms, err = ps.strList(c, "platforms"); err != nil {
			return err
		}
		for i, pl := range p.Platforms {
			if _, err := stagex.ParsePlatform(pl); err != nil {
				return ps.errorf(c.line, "platforms[%d] = %q: expected os/arch or os/arch/variant, e.g. linux/amd64 or linux/arm64/v8", i, pl)
			}
			if slices.Index(p.Platforms, pl) < i {
				return ps.errorf(c.line, "platforms lists %q twice", pl)
			}
		}
	}
	if c := n.child("subpackages"); c != nil {
		if p.Subpackages, err = ps.strList(c, "subpackages"); err != nil {
			return err
		}
		for i, s := range p.Subpackages {
			if !validName(s) {
				return ps.errorf(c.line, "subpackages[%d] = %q is not a valid package name (lower-case letters and digits, separated by '.', '_' or '-')", i, s)
			}
			if slices.Index(p.Subpackages, s) < i {
				return ps.errorf(c.line, "subpackages lists %q twice", s)
			}
		}
	}
	return nil
}

// license accepts an SPDX expression, or a list of them joined with AND.
func (ps *parser) license(n *node) (string, error) {
	if s, ok := n.val.(string); ok {
		if strings.TrimSpace(s) == "" {
			return "", ps.errorf(n.line, "license must not be empty")
		}
		return s, nil
	}
	list, err := ps.strList(n, "license")
	if err != nil {
		return "", ps.errorf(n.line, "license must be an SPDX expression (a string) or a list of them, not %s", describeNode(n))
	}
	if len(list) == 0 {
		return "", ps.errorf(n.line, "license must not be empty")
	}
	if len(list) == 1 {
		return list[0], nil
	}
	parts := make([]string, len(list))
	for i, l := range list {
		if strings.ContainsAny(l, " \t") {
			l = "(" + l + ")"
		}
		parts[i] = l
	}
	return strings.Join(parts, " AND "), nil
}

// text returns n's value, which must be a non-empty string.
func (ps *parser) text(n *node, what string) (string, error) {
	s, ok := n.val.(string)
	if !ok {
		return "", ps.errorf(n.line, "%s must be a string, not %s", what, describeNode(n))
	}
	if strings.TrimSpace(s) == "" {
		return "", ps.errorf(n.line, "%s must not be empty", what)
	}
	return s, nil
}

// str returns n's value, which must be a non-empty string on one line:
// every value but the description reaches the build.
func (ps *parser) str(n *node, what string) (string, error) {
	s, err := ps.text(n, what)
	if err != nil {
		return "", err
	}
	if err := oneLine(s); err != nil {
		return "", ps.errorf(n.line, "%s %v", what, err)
	}
	return s, nil
}

// oneLine refuses a value with a carriage return, line feed or NUL byte.
// Values of package.toml reach the stage runner as lines of a parameter
// file (one flag a line): a line break would smuggle in a flag of its own
// (version = "1.0\n--context=x=/etc/shadow").
func oneLine(s string) error {
	if i := strings.IndexAny(s, "\r\n\x00"); i >= 0 {
		return fmt.Errorf("%q holds %q at byte %d: values must be on one line, without CR, LF or NUL", s, s[i:i+1], i)
	}
	return nil
}

// strList returns n's value, which must be a list of non-empty strings.
func (ps *parser) strList(n *node, what string) ([]string, error) {
	list, ok := n.val.([]any)
	if !ok {
		return nil, ps.errorf(n.line, "%s must be a list of strings, not %s", what, describeNode(n))
	}
	out := make([]string, len(list))
	for i, v := range list {
		s, ok := v.(string)
		if !ok {
			return nil, ps.errorf(n.line, "%s[%d] must be a string, not %s", what, i, describe(v))
		}
		if strings.TrimSpace(s) == "" {
			return nil, ps.errorf(n.line, "%s[%d] must not be empty", what, i)
		}
		if err := oneLine(s); err != nil {
			return nil, ps.errorf(n.line, "%s[%d] %v", what, i, err)
		}
		out[i] = s
	}
	return out, nil
}

// describeNode names the type of n's value for error messages.
func describeNode(n *node) string {
	if n.table {
		return "a table"
	}
	return describe(n.val)
}

// describe names a value's type for error messages.
func describe(v any) string {
	switch t := tomlType(v); t {
	case "array", "integer":
		return "an " + t
	default:
		return "a " + t
	}
}

var sourceKeys = []string{"hash", "version", "format", "file", "git_sha", "mirrors"}

var (
	sourceIDPattern = regexp.MustCompile(`^[A-Za-z0-9_-]+$`)
	hexPattern      = regexp.MustCompile(`^[0-9a-fA-F]+$`) // of a git commit id
)

// argPrefix is the build argument prefix of source id: the id upper-cased,
// as StageX's targets.py makes it ("-" stays, so ${C-ARES_VERSION} cannot
// be used, but the argument is passed all the same).
func argPrefix(id string) string { return strings.ToUpper(id) }

func (ps *parser) sources(n *node) error {
	if !n.table {
		return ps.errorf(n.line, "sources must be a table of [sources.<id>] tables, not %s", describeNode(n))
	}
	p := ps.p
	p.tmpl = map[string]*sourceTemplate{}
	prefixes := map[string]string{}
	for _, c := range n.children {
		if !c.table {
			return ps.errorf(c.line, "sources.%s must be a table ([sources.%s]), not %s", c.key, c.key, describeNode(c))
		}
		if !sourceIDPattern.MatchString(c.key) {
			return ps.errorf(c.line, "source id %q: use letters, digits, '_' and '-' only", c.key)
		}
		prefix := argPrefix(c.key)
		if other, ok := prefixes[prefix]; ok {
			return ps.errorf(c.line, "sources %q and %q both give build arguments %s_*", other, c.key, prefix)
		}
		prefixes[prefix] = c.key
		s, t, err := ps.source(c)
		if err != nil {
			return err
		}
		p.Sources = append(p.Sources, s)
		p.tmpl[s.ID] = t
	}
	slices.SortFunc(p.Sources, func(a, b Source) int { return strings.Compare(a.ID, b.ID) })
	return nil
}

// source reads one [sources.<id>] table and expands what it can: all of it
// unless its version waits for version_from.
func (ps *parser) source(n *node) (Source, *sourceTemplate, error) {
	s := Source{ID: n.key, Line: n.line}
	t := &sourceTemplate{}
	where := fmt.Sprintf("[sources.%s]", n.key)
	if err := ps.allowed(n, where, sourceKeys...); err != nil {
		return s, nil, err
	}
	var err error
	h := n.child("hash")
	if h == nil {
		return s, nil, ps.errorf(n.line, "%s has no hash; expected hash = \"<sha256 of the file, 64 hex digits>\"", where)
	}
	if s.Hash, err = ps.str(h, "hash"); err != nil {
		return s, nil, err
	}
	if !stagex.IsSHA256Hex(strings.ToLower(s.Hash)) {
		return s, nil, ps.errorf(h.line, "hash %q is not a sha256: expected 64 hex digits, got %d characters", s.Hash, len(s.Hash))
	}
	s.Hash = strings.ToLower(s.Hash)
	for _, f := range []struct {
		key string
		dst *string
	}{
		{"version", &s.Version},
		{"format", &s.Format},
		{"git_sha", &s.GitSHA},
	} {
		if c := n.child(f.key); c != nil {
			if *f.dst, err = ps.str(c, f.key); err != nil {
				return s, nil, err
			}
		}
	}
	if c := n.child("git_sha"); c != nil && (len(s.GitSHA) < 7 || len(s.GitSHA) > 64 || !hexPattern.MatchString(s.GitSHA)) {
		return s, nil, ps.errorf(c.line, "git_sha %q is not a git commit id: expected 7 to 64 hex digits", s.GitSHA)
	}
	if c := n.child("file"); c != nil {
		raw, err := ps.str(c, "file")
		if err != nil {
			return s, nil, err
		}
		if t.file, err = parseTemplate(raw, false); err != nil {
			return s, nil, ps.errorf(c.line, "file: %v", err)
		}
		t.fileLine = c.line
	}
	if c := n.child("mirrors"); c != nil {
		raws, err := ps.strList(c, "mirrors")
		if err != nil {
			return s, nil, err
		}
		t.mirrorsLine = c.line
		for i, raw := range raws {
			m, err := parseTemplate(raw, true)
			if err != nil {
				return s, nil, ps.errorf(c.line, "mirrors[%d]: %v", i, err)
			}
			if m.uses("file") && t.file == nil {
				return s, nil, ps.errorf(c.line, "mirrors[%d] uses {file} but %s has no file", i, where)
			}
			t.mirrors = append(t.mirrors, m)
		}
		if t.file == nil && len(raws) > 0 {
			// Parsed above as part of the whole mirror: cannot fail.
			t.argFile, _ = parseTemplate(urlFile(raws[0]), true)
		}
	}
	if t.file != nil {
		t.argFile = t.file
	}
	if s.Version != "" {
		// targets.py expands <ID>_SOURCE with these four only; any other
		// placeholder stops StageX's own build.
		for _, seg := range t.argFile {
			switch seg.name {
			case "", "version", "version_dash", "version_under", "format":
			default:
				return s, nil, ps.errorf(n.line, "%s sets its own version and its file name uses {%s}: StageX's targets.py expands only {version}, {version_dash}, {version_under} and {format} there", where, seg.name)
			}
		}
	}
	if t.file == nil && len(t.mirrors) == 0 {
		return s, nil, ps.errorf(n.line, "%s has neither file nor mirrors; cannot tell what to download", where)
	}
	if s.Format == "" {
		if t.file.uses("format") {
			return s, nil, ps.errorf(t.fileLine, "file uses {format} but %s has no format", where)
		}
		for i, m := range t.mirrors {
			if m.uses("format") {
				return s, nil, ps.errorf(t.mirrorsLine, "mirrors[%d] uses {format} but %s has no format", i, where)
			}
		}
	}
	s.InheritsVersion = s.Version == ""
	if s.InheritsVersion {
		s.Version = ps.p.Version
	}
	if s.InheritsVersion && ps.p.VersionFrom != "" && t.usesVersion() {
		// Computed by ResolveVersion once version_from is followed.
		return s, t, nil
	}
	if err := ps.expand(&s, t); err != nil {
		return s, nil, err
	}
	return s, t, nil
}

// usesVersion reports whether any of t's templates needs the version.
func (t *sourceTemplate) usesVersion() bool {
	return t.file.usesVersion() || slices.ContainsFunc(t.mirrors, template.usesVersion)
}

// expand computes s.File and s.Mirrors from t and s's version and format.
func (ps *parser) expand(s *Source, t *sourceTemplate) error {
	vars := map[string]string{}
	if s.Version != "" {
		vars = VersionForms(s.Version)
	}
	if s.Format != "" {
		vars["format"] = s.Format
	}
	// {format} without a format is caught by source; {file} by parseTemplate.
	check := func(tm template, line int, what string) error {
		for _, seg := range tm {
			if !strings.HasPrefix(seg.name, "version") {
				continue
			}
			if _, ok := vars[seg.name]; !ok {
				return ps.errorf(line, "%s uses {%s} but neither [sources.%s] nor [package] has a version", what, seg.name, s.ID)
			}
		}
		return nil
	}
	file := ""
	if t.file != nil {
		if err := check(t.file, t.fileLine, "file"); err != nil {
			return err
		}
		file = t.file.expand(vars)
		if err := checkFileName(file); err != nil {
			return ps.errorf(t.fileLine, "file %q: %v", file, err)
		}
		vars["file"] = file
	}
	mirrors := make([]string, 0, len(t.mirrors))
	for i, m := range t.mirrors {
		if err := check(m, t.mirrorsLine, fmt.Sprintf("mirrors[%d]", i)); err != nil {
			return err
		}
		u := m.expand(vars)
		if err := checkMirror(u); err != nil {
			return ps.errorf(t.mirrorsLine, "mirrors[%d]: %v", i, err)
		}
		mirrors = append(mirrors, u)
	}
	if file == "" {
		// No file key: the name is the last element of the first mirror's path.
		first, _ := url.Parse(mirrors[0])
		p := first.EscapedPath()
		file = p[strings.LastIndexByte(p, '/')+1:]
		if err := checkFileName(file); err != nil {
			return ps.errorf(t.mirrorsLine, "cannot take a file name from mirrors[0] = %q (%v); set file", mirrors[0], err)
		}
	}
	s.File, s.Mirrors = file, mirrors
	return nil
}

// checkMirror accepts an absolute http or https URL without user
// information (a password in package.toml would be published, and other
// schemes reach local files or odd servers).
func checkMirror(u string) error {
	parsed, err := url.Parse(u)
	if err != nil || parsed.Scheme == "" || parsed.Host == "" {
		return fmt.Errorf("%q is not an absolute URL", u)
	}
	if parsed.User != nil {
		return fmt.Errorf("%q has a user name in it; expected a public http or https URL", parsed.Redacted())
	}
	if s := strings.ToLower(parsed.Scheme); s != "http" && s != "https" {
		return fmt.Errorf("%q uses scheme %q; expected http or https", u, parsed.Scheme)
	}
	return nil
}

// urlFile returns the last element of the path of URL u, as Python's
// urlsplit(u).path.split("/")[-1] gives it; u may still hold placeholders.
func urlFile(u string) string {
	if _, rest, ok := strings.Cut(u, "://"); ok {
		u = rest
		if i := strings.IndexByte(u, '/'); i >= 0 {
			u = u[i:]
		} else {
			u = ""
		}
	}
	if i := strings.IndexAny(u, "?#"); i >= 0 {
		u = u[:i]
	}
	return u[strings.LastIndexByte(u, '/')+1:]
}

// checkFileName rejects names that are not a single path element.
func checkFileName(f string) error {
	switch {
	case f == "":
		return errors.New("the name is empty")
	case f == "." || f == "..":
		return errors.New("not a file name")
	case strings.ContainsAny(f, "/\\\x00"):
		return errors.New("a file name cannot contain '/', '\\' or NUL")
	}
	return nil
}

// ResolveVersion follows version_from, through as many packages as it
// takes, to a package with a version, and sets the version of p and of its
// sources without their own, recomputing their file names and mirrors.
// lookup returns the package a "<tier>-<name>" reference names (see
// Lookup). Packages without version_from are left as they are. On error p
// is unchanged.
func (p *Package) ResolveVersion(lookup func(ref string) (*Package, error)) error {
	if p.VersionFrom == "" {
		return nil
	}
	chain := []string{p.ImageName()}
	version := ""
	for ref := p.VersionFrom; version == ""; {
		if slices.Contains(chain, ref) {
			return diag.Errorf(p.Path, p.versionFromLine, "version_from cycle: %s -> %s", strings.Join(chain, " -> "), ref)
		}
		chain = append(chain, ref)
		q, err := lookup(ref)
		if err != nil {
			return diag.Errorf(p.Path, p.versionFromLine, "version_from %q: %v", ref, err)
		}
		if q == nil {
			return diag.Errorf(p.Path, p.versionFromLine, "version_from %q: no such package", ref)
		}
		switch {
		case q.Version != "":
			version = q.Version
		case q.VersionFrom != "":
			ref = q.VersionFrom
		default:
			return diag.Errorf(p.Path, p.versionFromLine, "version_from %q: %s has neither version nor version_from", ref, ref)
		}
	}
	ps := &parser{path: p.Path, p: p}
	sources := slices.Clone(p.Sources)
	for i := range sources {
		s := &sources[i]
		if !s.InheritsVersion {
			continue
		}
		s.Version = version
		t := p.tmpl[s.ID]
		if t == nil {
			continue // not from Parse: nothing to recompute
		}
		if err := ps.expand(s, t); err != nil {
			return err
		}
	}
	p.Version, p.Sources = version, sources
	return nil
}

// BuildArgs returns the build arguments StageX passes to the package's
// Containerfile, as its src/targets.py computes them. Call ResolveVersion
// first for a package with version_from.
func (p *Package) BuildArgs() map[string]string {
	args := map[string]string{}
	forms := map[string]string{}
	if p.Version != "" {
		forms = VersionForms(p.Version)
		for arg, form := range map[string]string{
			"VERSION":              "version",
			"VERSION_UNDER":        "version_under",
			"VERSION_DASH":         "version_dash",
			"VERSION_MAJOR":        "version_major",
			"VERSION_MAJOR_MINOR":  "version_major_minor",
			"VERSION_STRIP_SUFFIX": "version_strip_suffix",
		} {
			args[arg] = forms[form]
		}
	}
	for _, s := range p.Sources {
		prefix := argPrefix(s.ID)
		if !s.InheritsVersion {
			args[prefix+"_VERSION"] = s.Version
			args[prefix+"_SOURCE"] = s.File
			if t := p.tmpl[s.ID]; t != nil {
				// The source's own version, but the package's dashed
				// and underscored forms: targets.py's choice, kept.
				args[prefix+"_SOURCE"] = t.argFile.expand(map[string]string{
					"version":       s.Version,
					"version_dash":  forms["version_dash"],
					"version_under": forms["version_under"],
					"format":        s.Format,
				})
			}
		}
		if s.GitSHA != "" {
			args[prefix+"_GIT_SHA"] = s.GitSHA
		}
	}
	return args
}
