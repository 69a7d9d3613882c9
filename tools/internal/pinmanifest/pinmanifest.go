// Package pinmanifest reads what the digest tests say about the published
// images: each stagex_digest_test writes, in its output group stagex_pins,
// a `<test>.stagex-pin.json` naming the image, the exec path of its built
// layout and the pin file the test checks it against
// (rules/private/digest_test.bzl). `bazel run //:update_digests` and
// `//:sign` build that output group for some target patterns and read the
// entries here, instead of guessing each image's source tree from its
// label.
package pinmanifest

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"sort"
	"strings"
)

// Suffix ends the name of every manifest file a digest test writes.
const Suffix = ".stagex-pin.json"

// OutputGroup is the output group that holds the manifests and the layouts.
const OutputGroup = "stagex_pins"

// Entry is one published image as its digest test sees it.
type Entry struct {
	// Image is the published name, `<tier>-<name>`.
	Image string `json:"image"`
	// Index is true for a multi-platform image (a stagex_image_index).
	Index bool `json:"index"`
	// Label is the digest test's label.
	Label string `json:"label"`
	// Layout is the exec path of the built OCI layout; Read makes it
	// absolute.
	Layout string `json:"layout"`
	// Manifest is the exec path of the manifest itself, which tells Read
	// where the execution root is.
	Manifest string `json:"manifest"`
	// Pins is the pin file's path inside its repository.
	Pins string `json:"pins"`
	// PinsRepository is the canonical name of the repository that owns the
	// pin file; empty for the main repository (the workspace).
	PinsRepository string `json:"pins_repository"`
}

// Tree returns the directory of the pin file's source tree, relative to
// its repository: the parent of the digests/ directory the pin file is in
// ("." for the workspace's own digests/).
func (e Entry) Tree() string { return path.Dir(path.Dir(e.Pins)) }

// Read reads the manifest at file (an absolute path under the execution
// root) and makes its layout path absolute. A manifest that is not what a
// digest test writes is an error naming the file and what is wrong.
func Read(file string) (Entry, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return Entry{}, err
	}
	var e Entry
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&e); err != nil {
		return Entry{}, fmt.Errorf("%s: %v; expected the JSON object a stagex_digest_test writes", file, err)
	}
	for _, f := range []struct{ name, value string }{{"image", e.Image}, {"label", e.Label}, {"layout", e.Layout}, {"manifest", e.Manifest}, {"pins", e.Pins}} {
		if f.value == "" {
			return Entry{}, fmt.Errorf("%s: no %q; expected the JSON object a stagex_digest_test writes", file, f.name)
		}
	}
	if path.Base(path.Dir(e.Pins)) != "digests" || path.IsAbs(e.Pins) || strings.HasPrefix(e.Pins, "../") {
		return Entry{}, fmt.Errorf("%s: pin file %q of %s: expected <tree>/digests/<tier>.txt", file, e.Pins, e.Label)
	}
	slashed := filepath.ToSlash(file)
	if !strings.HasSuffix(slashed, "/"+e.Manifest) {
		return Entry{}, fmt.Errorf("%s: says it is %s; expected a path ending so", file, e.Manifest)
	}
	execroot := strings.TrimSuffix(slashed, e.Manifest)
	e.Layout = filepath.FromSlash(execroot + e.Layout)
	return e, nil
}

// FromBuildEvents returns the manifest files a build reported, sorted: the
// files ending in Suffix among the named sets of files of a build event
// protocol stream in JSON (`bazel build --build_event_json_file`).
func FromBuildEvents(r io.Reader) ([]string, error) {
	seen := map[string]bool{}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 64<<20)
	n := 0
	for sc.Scan() {
		n++
		var ev struct {
			NamedSetOfFiles *struct {
				Files []struct {
					URI string `json:"uri"`
				} `json:"files"`
			} `json:"namedSetOfFiles"`
		}
		if err := json.Unmarshal(sc.Bytes(), &ev); err != nil {
			return nil, fmt.Errorf("build event %d: %v; expected one JSON object per line", n, err)
		}
		if ev.NamedSetOfFiles == nil {
			continue
		}
		for _, f := range ev.NamedSetOfFiles.Files {
			if !strings.HasSuffix(f.URI, Suffix) {
				continue
			}
			u, err := url.Parse(f.URI)
			if err != nil || u.Scheme != "file" {
				return nil, fmt.Errorf("build event %d: %q: expected a file:// URI (outputs downloaded to this machine)", n, f.URI)
			}
			seen[u.Path] = true
		}
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	out := make([]string, 0, len(seen))
	for f := range seen {
		out = append(out, f)
	}
	sort.Strings(out)
	return out, nil
}

// Build builds the output group OutputGroup of the targets under patterns
// with Bazel (the program bazel, run in workspace, its output going to
// stderr), and returns the entries of the digest tests among them, sorted
// by image name. No digest test under the patterns is an error.
func Build(bazel, workspace string, patterns []string, stderr io.Writer) ([]Entry, error) {
	events, err := os.CreateTemp("", "stagex-build-events-*.json")
	if err != nil {
		return nil, err
	}
	events.Close()
	defer os.Remove(events.Name())
	args := append([]string{"build", "--output_groups=" + OutputGroup, "--build_event_json_file=" + events.Name(), "--"}, patterns...)
	cmd := exec.Command(bazel, args...)
	cmd.Dir = workspace
	cmd.Stdout, cmd.Stderr = stderr, stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("%s %s: %v", bazel, strings.Join(args, " "), err)
	}
	f, err := os.Open(events.Name())
	if err != nil {
		return nil, err
	}
	defer f.Close()
	files, err := FromBuildEvents(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", events.Name(), err)
	}
	var entries []Entry
	for _, file := range files {
		e, err := Read(file)
		if err != nil {
			return nil, err
		}
		entries = append(entries, e)
	}
	if len(entries) == 0 {
		return nil, fmt.Errorf("no published image (no stagex_digest_test) under %s", strings.Join(patterns, " "))
	}
	sort.Slice(entries, func(i, j int) bool {
		if entries[i].Image != entries[j].Image {
			return entries[i].Image < entries[j].Image
		}
		return entries[i].Label < entries[j].Label
	})
	return entries, nil
}

// ByTree groups entries by the source tree of their pin files (Tree), and
// fails on entries whose pins belong to another repository, which cannot
// be rewritten or signed from this workspace, naming them.
func ByTree(entries []Entry) (map[string][]Entry, error) {
	out := map[string][]Entry{}
	var foreign []string
	for _, e := range entries {
		if e.PinsRepository != "" {
			foreign = append(foreign, fmt.Sprintf("%s (pins in @%s//%s)", e.Label, e.PinsRepository, e.Pins))
			continue
		}
		out[e.Tree()] = append(out[e.Tree()], e)
	}
	if len(foreign) > 0 {
		return nil, fmt.Errorf("these images are pinned by another repository, whose maintainers re-pin and sign them: %s; leave their patterns out", strings.Join(foreign, ", "))
	}
	return out, nil
}

// Bazel returns the Bazel program to run: $BAZEL, else bazel on PATH.
func Bazel() string {
	if b := os.Getenv("BAZEL"); b != "" {
		return b
	}
	return "bazel"
}

// Query says which published images to collect, and how.
type Query struct {
	Bazel     string   // the Bazel program; default Bazel()
	Workspace string   // where to run it
	Patterns  []string // target patterns; default Defaults
	Defaults  []string
	Prog      string    // the command's name, for the log line
	Log       io.Writer // Bazel's output and the log line
}

// Trees builds the digest tests' manifests under the query's patterns
// (Build) and groups them by the source tree of their pin files (ByTree).
func Trees(q Query) (map[string][]Entry, error) {
	patterns := q.Patterns
	if len(patterns) == 0 {
		patterns = q.Defaults
	}
	bazel := q.Bazel
	if bazel == "" {
		bazel = Bazel()
	}
	fmt.Fprintf(q.Log, "%s: building %s\n", q.Prog, strings.Join(patterns, " "))
	entries, err := Build(bazel, q.Workspace, patterns, q.Log)
	if err != nil {
		return nil, err
	}
	return ByTree(entries)
}
