// Package stagebuild executes one stage of a Containerfile inside a Bazel
// action: it assembles the root filesystem from the base image, runs each
// step (RUN in an isolated sandbox, COPY and ADD from declared inputs),
// records the change as one deterministic layer and writes the resulting
// OCI image layout.
//
// Every file it reads is named on its command line: the Containerfile, the
// context files, and the image layouts of the base and of each COPY --from
// source. Nothing from the host reaches a RUN step.
package stagebuild

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"path"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/stagex/stagex-bazel/tools/internal/containerfile"
	"github.com/stagex/stagex-bazel/tools/internal/diag"
	"github.com/stagex/stagex-bazel/tools/internal/layer"
	"github.com/stagex/stagex-bazel/tools/internal/ociimage"
	"github.com/stagex/stagex-bazel/tools/internal/sandbox"
	"github.com/stagex/stagex-bazel/tools/internal/stagex"
)

// FixedEnv is set for every RUN step, over whatever the Containerfile says.
var FixedEnv = []string{"SOURCE_DATE_EPOCH=" + strconv.Itoa(stagex.SourceDateEpoch), "TZ=UTC", "LANG=C.UTF-8", "LC_ALL=C"}

// Options describe one stage build.
type Options struct {
	Containerfile string            // path of the Containerfile
	Stage         string            // stage name or index
	Platform      string            // os/arch[/variant] built for
	BuildArgs     map[string]string // --build-arg values
	Base          string            // image layout of the stage's base; "" for scratch
	Images        map[string]string // COPY --from reference (and package bases) -> image layout
	Context       map[string]string // path in the build context -> file
	Out           string            // OCI layout directory to write
	DigestOut     string            // file to write the manifest digest to
	ImageName     string            // published name, <tier>-<name>, for the annotations and index.json
	Annotations   map[string]string // extra manifest annotations
	WorkDir       string            // scratch space; removed afterwards
	Log           io.Writer         // progress and RUN output; nil discards
	TailLines     int               // lines of RUN output kept for errors
	StepTimeout   time.Duration     // longest a RUN step may take; 0 means DefaultStepTimeout
	MaxProcesses  int               // most processes and threads of a RUN step at once; 0 means sandbox.DefaultMaxProcesses

	// singleID forces the sandbox's single-id mode, for tests that check,
	// as root, how a build runs under Bazel's linux-sandbox.
	singleID bool
}

// DefaultStepTimeout is how long one RUN step may take unless the stage
// says otherwise (stagex_stage's step_timeout): generous, as StageX's
// longest steps (compilers, kernels) take hours on small machines, but a
// step that hangs still ends.
const DefaultStepTimeout = 24 * time.Hour

// Build runs the stage and writes its image. On error nothing is left at
// Out or DigestOut.
func Build(ctx context.Context, o Options) (err error) {
	if o.Log == nil {
		o.Log = io.Discard
	}
	if o.TailLines == 0 {
		o.TailLines = 40
	}
	if o.StepTimeout == 0 {
		o.StepTimeout = DefaultStepTimeout
	}
	defer func() {
		if err != nil {
			os.RemoveAll(o.Out)
			os.Remove(o.DigestOut)
		}
	}()
	data, err := os.ReadFile(o.Containerfile)
	if err != nil {
		return err
	}
	platform, err := stagex.NormalizePlatform(o.Platform)
	if err != nil {
		return fmt.Errorf("--platform: %w", err)
	}
	opts := containerfile.Options{
		BuildArgs:      o.BuildArgs,
		TargetPlatform: platform,
		BuildPlatform:  platform,
		// A package a stage starts from: the translator passes the images
		// of every package at the start of this stage's chain of bases, so
		// that their configuration carries over as in BuildKit. Other
		// stages' bases do not matter here; they get the stage's own base.
		BaseImage: func(ref containerfile.Ref) (*containerfile.ImageConfig, error) {
			dir, ok := o.Images[ref.Raw]
			if !ok {
				dir = o.Base
			}
			if dir == "" {
				return nil, nil
			}
			return baseImageConfig(dir)
		},
	}
	cf, err := containerfile.Parse(o.Containerfile, data, opts)
	if err != nil {
		return err
	}
	stage, ok := cf.Stage(o.Stage)
	if !ok {
		return fmt.Errorf("%s: no stage %q", o.Containerfile, o.Stage)
	}

	work, err := os.MkdirTemp(o.WorkDir, "stage-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(work)
	b := &builder{o: o, file: cf, stage: stage, work: work, roots: map[string]fromRoot{}, owners: map[string]layer.Owner{}}
	return b.run(ctx)
}

type builder struct {
	o     Options
	file  *containerfile.File
	stage *containerfile.Stage
	work  string
	root  string
	roots map[string]fromRoot // image layout -> its unpacked root
	// owners holds the ownership Apply could not give files of the stage
	// root (an unprivileged runner cannot chown), that of files an
	// emulated non-root USER created, and the owners root steps gave
	// with an emulated chown (see owners.go).
	owners map[string]layer.Owner
	single *bool // see singleID
}

// ownersForWrite is the ownership the layer records for changed paths.
// As root, files on disk are right and only Apply's misses are added. An
// unprivileged runner owns every file it made; those are written as 0:0.
func (b *builder) ownersForWrite(changes []layer.Change) map[string]layer.Owner {
	out := make(map[string]layer.Owner, len(b.owners))
	for k, v := range b.owners {
		out[k] = v
	}
	if os.Geteuid() != 0 {
		for _, c := range changes {
			if _, ok := out[c.Path]; !ok {
				out[c.Path] = layer.Owner{}
			}
		}
	}
	return out
}

func (b *builder) run(ctx context.Context) error {
	b.root = filepath.Join(b.work, "root")
	if err := os.Mkdir(b.root, 0o755); err != nil {
		return err
	}
	var layers []ociimage.Layer
	var history []ociimage.History
	if b.o.Base != "" {
		var err error
		if layers, err = ociimage.BaseLayers(b.o.Base); err != nil {
			return err
		}
		if err := unpackLayers(b.root, layers, b.owners); err != nil {
			return err
		}
		// BuildKit does not rewrite a base image's layers, and lists them
		// without the rewritten-timestamp annotation they had.
		for i := range layers {
			layers[i].Annotations = nil
		}
		base, err := ociimage.BaseConfig(b.o.Base)
		if err != nil {
			return err
		}
		history = base.History
		// A base image whose history does not account for its layers
		// (made by another tool) gets entries for them, first, so that
		// the history matches the layers.
		if missing := len(layers) - layeredEntries(history); missing > 0 {
			pad := make([]ociimage.History, missing)
			for i := range pad {
				pad[i] = ociimage.History{Created: ociimage.CreatedText, Comment: "buildkit.exporter.image.v0"}
			}
			history = append(pad, history...)
		}
	} else if b.stage.Base.Kind != containerfile.Scratch {
		return diag.Errorf(b.file.Path, b.stage.Line, "stage %q starts FROM %s, but no base image was given (--base)", b.o.Stage, b.stage.Base.Raw)
	}
	// As BuildKit: one layer per instruction that changes files (even
	// when it changed none), one history entry per instruction it records.
	// Recorded owners count as the files' own (see owners.go).
	before, err := layer.SnapshotOwners(b.root, b.owners)
	if err != nil {
		return err
	}
	queue := newLayerQueue()
	defer queue.wg.Wait()
	for i := range b.stage.Steps {
		step := &b.stage.Steps[i]
		fmt.Fprintf(b.o.Log, "#%d %s\n", i+1, step.Original)
		if err := b.step(ctx, step); err != nil {
			return err
		}
		if step.Layer {
			changes, now, err := layer.DiffSnapshotOwners(b.root, before, b.owners)
			if err != nil {
				return err
			}
			if err := b.queueLayer(queue, step, changes, len(layers)+len(queue.jobs)); err != nil {
				return b.fail(step, "writing its layer: %v", err)
			}
			before = now
		}
		if step.Recorded {
			history = append(history, ociimage.History{
				Created:    ociimage.CreatedText,
				CreatedBy:  step.History,
				Comment:    ociimage.HistoryComment,
				EmptyLayer: !step.Layer,
			})
		}
	}
	own, failed := queue.wait()
	if failed != nil {
		return b.fail(failed.step, "writing its layer: %v", failed.err)
	}
	return b.writeImage(append(layers, own...), history)
}

// layeredEntries counts the history entries that stand for a layer.
func layeredEntries(h []ociimage.History) int {
	n := 0
	for _, e := range h {
		if !e.EmptyLayer {
			n++
		}
	}
	return n
}

func (b *builder) step(ctx context.Context, s *containerfile.Step) error {
	switch s.Kind {
	case "RUN":
		return b.runStep(ctx, s)
	case "COPY", "ADD":
		return b.copyStep(s)
	case "WORKDIR":
		// BuildKit creates the working directory.
		return b.mkdirInRoot(s.Workdir)
	default:
		// ENV, ARG, USER, SHELL, LABEL, ENTRYPOINT, CMD and the like only
		// change the configuration, which the parsed model carries.
		return nil
	}
}

func (b *builder) fail(s *containerfile.Step, format string, args ...any) error {
	return diag.Errorf(b.file.Path, s.Line, "%s: %s", s.Original, fmt.Sprintf(format, args...))
}

func (b *builder) mkdirInRoot(dir string) error {
	if dir == "" {
		return nil
	}
	host, err := layer.ResolvePath(b.root, dir)
	if err != nil {
		return err
	}
	return mkdirAll(host, 0o755)
}

// mkdirAll is os.MkdirAll giving the directories it creates exactly perm,
// whatever the umask: the modes end up in the layer.
func mkdirAll(dir string, perm os.FileMode) error {
	if info, err := os.Stat(dir); err == nil {
		if !info.IsDir() {
			return fmt.Errorf("%s: not a directory", dir)
		}
		return nil
	}
	if parent := filepath.Dir(dir); parent != dir {
		if err := mkdirAll(parent, perm); err != nil {
			return err
		}
	}
	if err := os.Mkdir(dir, perm); err != nil {
		if info, serr := os.Stat(dir); serr == nil && info.IsDir() {
			return nil
		}
		return err
	}
	return os.Chmod(dir, perm)
}

func (b *builder) runStep(ctx context.Context, s *containerfile.Step) error {
	switch {
	case s.Network == "host":
		return b.fail(s, "RUN --network=host is not allowed: stages build without network")
	case s.Security == "insecure":
		return b.fail(s, "RUN --security=insecure is not allowed")
	case len(s.Mounts) > 0:
		return b.fail(s, "RUN --mount is not supported: declare the files as inputs and COPY them")
	case len(s.Devices) > 0:
		return b.fail(s, "RUN --device is not supported")
	}
	argv := s.Argv()
	var pipes []sandbox.PipeFile
	if s.Shebang {
		// As BuildKit: the script is a read-only file in /dev/pipes,
		// which never reaches the root.
		if path.Dir(s.ScriptPath) != sandbox.PipesDir {
			return b.fail(s, "the script of a heredoc with #! runs from %s, not %s", sandbox.PipesDir, path.Dir(s.ScriptPath))
		}
		pipes = []sandbox.PipeFile{{Name: path.Base(s.ScriptPath), Data: []byte(s.Script), Mode: 0o755}}
	}
	if len(argv) == 0 {
		return b.fail(s, "nothing to run")
	}
	if err := b.mkdirInRoot(s.Workdir); err != nil {
		return err
	}
	owner, emulated, err := b.emulatedOwner(s)
	if err != nil {
		return err
	}
	var before map[string]uint64
	if emulated {
		if before, err = pathSet(b.root); err != nil {
			return err
		}
	}
	recorded, err := b.recordedFiles()
	if err != nil {
		return err
	}
	tail := newTail(b.o.TailLines)
	out := io.MultiWriter(b.o.Log, tail)
	var chowns []sandbox.Chown
	var recordChown func(sandbox.Chown)
	if !emulated && b.singleID() {
		recordChown = func(c sandbox.Chown) { chowns = append(chowns, c) }
	}
	stepCtx, cancel := context.WithTimeout(ctx, b.o.StepTimeout)
	defer cancel()
	err = sandbox.Run(stepCtx, sandbox.Spec{
		Root:     b.root,
		Args:     argv,
		Env:      runEnv(s.Env),
		Dir:      orRoot(s.Workdir),
		User:     s.User,
		Hostname: stagex.Hostname,
		SingleID: b.o.singleID,
		// 0 is the sandbox's default.
		MaxProcesses: b.o.MaxProcesses,
		Pipes:        pipes,
		// Where the sandbox cannot chown, it records what the step asked.
		RecordChown: recordChown,
		// BuildKit's layers hold the mount points runc made.
		KeepMountPoints: true,
		Stdin:           bytes.NewReader(nil),
		Stdout:          out,
		Stderr:          out,
	})
	if err != nil && ctx.Err() == nil && errors.Is(stepCtx.Err(), context.DeadlineExceeded) {
		return fmt.Errorf("step %d (%s:%d) exceeded %v: %s\nlast lines of its output:\n%s", b.stepNumber(s), b.file.Path, s.Line, b.o.StepTimeout, s.Original, tail.String())
	}
	if err != nil {
		return fmt.Errorf("%s:%d: %s failed: %v\nlast lines of its output:\n%s", b.file.Path, s.Line, s.Original, err, tail.String())
	}
	if err := b.dropReplaced(recorded); err != nil {
		return err
	}
	if emulated {
		return b.ownNewPaths(before, owner)
	}
	return b.recordChowns(chowns)
}

// stepNumber is s's number in its stage, from 1, as the build log counts.
func (b *builder) stepNumber(s *containerfile.Step) int {
	for i := range b.stage.Steps {
		if &b.stage.Steps[i] == s {
			return i + 1
		}
	}
	return 0
}

func orRoot(dir string) string {
	if dir == "" {
		return "/"
	}
	return dir
}

// runEnv is a step's environment with the fixed variables forced and a
// default PATH.
func runEnv(env []string) []string {
	fixed := map[string]bool{}
	for _, kv := range FixedEnv {
		k, _, _ := strings.Cut(kv, "=")
		fixed[k] = true
	}
	var out []string
	hasPath := false
	for _, kv := range env {
		k, _, _ := strings.Cut(kv, "=")
		if fixed[k] {
			continue
		}
		if k == "PATH" {
			hasPath = true
		}
		out = append(out, kv)
	}
	if !hasPath {
		out = append(out, "PATH="+containerfile.DefaultPath)
	}
	out = append(out, FixedEnv...)
	sort.Strings(out)
	return out
}

func (b *builder) copyStep(s *containerfile.Step) error {
	opts := copyOptions{}
	if s.Chmod != "" {
		m, err := strconv.ParseUint(s.Chmod, 8, 32)
		if err != nil || m > 0o7777 {
			return b.fail(s, "--chmod=%s: expected an octal mode such as 0755", s.Chmod)
		}
		opts.mode, opts.hasMode = os.FileMode(m), true
	}
	if s.Chown != "" {
		uid, gid, err := b.parseChown(s.Chown)
		if err != nil {
			return b.fail(s, "--chown=%s: %v", s.Chown, err)
		}
		opts.chown = &layer.Owner{UID: uid, GID: gid}
	}
	dest := s.Dest
	if !path.IsAbs(dest) {
		dest = path.Join(orRoot(s.Workdir), dest)
	}
	// The directory COPY makes sure of before copying: the destination
	// when it names a directory ("." does), else its parent.
	destDir := path.Dir(dest)
	if strings.HasSuffix(s.Dest, "/") || s.Dest == "." || s.Dest == "" {
		destDir = dest
	}
	nsrc := len(s.Srcs) + len(s.Files)
	intoDir := strings.HasSuffix(s.Dest, "/") || nsrc > 1 || b.isDirInRoot(dest)

	// As BuildKit: the sources in order, then the heredocs.
	for _, src := range s.Srcs {
		var got []copySource
		var err error
		switch {
		case s.From != nil && s.From.Kind == containerfile.ContextRef:
			var in string
			if in, err = b.inNamedContext(s, src); err == nil {
				got, err = b.fromContext(s, in, containerfile.FetchContext, dest, intoDir || isGlob(src))
			}
		case s.From != nil:
			got, err = b.fromImage(s, src, dest, intoDir || isGlob(src))
		default:
			if strings.Contains(src, "://") {
				return b.fail(s, "%s: ADD from a URL is not allowed; make it a source in package.toml", src)
			}
			got, err = b.fromContext(s, src, "", dest, intoDir || isGlob(src))
		}
		if err != nil {
			return err
		}
		for _, c := range got {
			if err := b.applySource(s, destDir, c, opts); err != nil {
				return err
			}
		}
	}
	for _, h := range s.Files {
		e := copyEntry{dest: destFor(dest, h.Name, intoDir), data: []byte(h.Content), info: heredocInfo(int64(len(h.Content)))}
		if err := b.applySource(s, destDir, copySource{entries: []copyEntry{e}}, opts); err != nil {
			return err
		}
	}
	return nil
}

// copySource is what one source of a COPY copies: its entries and, for a
// directory, where its contents go; or, for ADD, an archive to unpack.
type copySource struct {
	entries []copyEntry
	top     string // the destination of a directory's contents, or ""
	archive string // a local archive ADD unpacks into top
}

// applySource copies one source: the missing directories of destDir and
// of the source's top, then its entries.
func (b *builder) applySource(s *containerfile.Step, destDir string, c copySource, opts copyOptions) error {
	if c.archive != "" {
		return b.addArchive(s, c.archive, c.top)
	}
	var entries []copyEntry
	made := map[string]bool{}
	for _, dir := range []string{destDir, c.top} {
		if dir == "" {
			continue
		}
		dirs, err := missingDirs(b.root, dir, opts)
		if err != nil {
			return b.fail(s, "%v", err)
		}
		for _, d := range dirs {
			if !made[d.dest] {
				made[d.dest] = true
				entries = append(entries, d)
			}
		}
	}
	entries = append(entries, c.entries...)
	return b.applyEntries(s, entries, opts)
}

func (b *builder) applyEntries(s *containerfile.Step, entries []copyEntry, opts copyOptions) error {
	if len(entries) == 0 {
		return nil
	}
	pr, pw := io.Pipe()
	go func() { pw.CloseWithError(writeTar(pw, entries, opts)) }()
	err := layer.Apply(b.root, pr, layer.ApplyOptions{Name: fmt.Sprintf("%s:%d", b.file.Path, s.Line), Chown: true, Owners: b.owners})
	pr.CloseWithError(err)
	if err != nil {
		return b.fail(s, "%v", err)
	}
	return nil
}

func (b *builder) isDirInRoot(p string) bool {
	host, err := layer.ResolvePath(b.root, p)
	if err != nil {
		return false
	}
	info, err := os.Stat(host)
	return err == nil && info.IsDir()
}

// inNamedContext is the main-context path of src in the named build
// context COPY --from names. StageX's fetch context is the directory its
// build also copies into the package's fetch/, so the translator gives
// those files as fetch/<file> of the main context; src cannot leave it
// (as in BuildKit, ".." stops at the context's root).
func (b *builder) inNamedContext(s *containerfile.Step, src string) (string, error) {
	if s.From.Raw != containerfile.FetchContext {
		return "", b.fail(s, "build context %q is not one the runner knows (only %q)", s.From.Raw, containerfile.FetchContext)
	}
	return path.Join(containerfile.FetchContext, path.Clean("/"+src)), nil
}

// fromContext selects context files for one COPY/ADD source: the file or
// directory it names, or each file or directory a wildcard matches, as
// many components deep as the wildcard (BuildKit's matching). A local
// archive that ADD unpacks is a source of its own. root is the path of
// the context src is read from: "" for the main one.
func (b *builder) fromContext(s *containerfile.Step, src, root, dest string, intoDir bool) ([]copySource, error) {
	clean := path.Clean(strings.TrimPrefix(src, "/"))
	depth := strings.Count(clean, "/") + 1
	matches := map[string][]string{} // match -> the context files under it
	for p := range b.o.Context {
		m := ""
		switch {
		case clean == ".":
			m = "."
		case isGlob(clean):
			if parts := strings.Split(p, "/"); len(parts) >= depth {
				if ok, _ := path.Match(clean, strings.Join(parts[:depth], "/")); ok {
					m = strings.Join(parts[:depth], "/")
				}
			}
		case p == clean || strings.HasPrefix(p, clean+"/"):
			m = clean
		}
		if m != "" {
			matches[m] = append(matches[m], p)
		}
	}
	if len(matches) == 0 {
		// As BuildKit (the Dockerfile frontend allows an empty wildcard):
		// a wildcard that matches nothing copies nothing, not even the
		// destination directory, but the directory it searches must
		// exist; a path without a wildcard must. BuildKit is sent only
		// the context files the Containerfile's sources match (and their
		// directories), as the runner is given them: a directory with no
		// such file is missing in both.
		if base := wildcardBase(clean); isGlob(clean) && (base == root || b.inContext(base)) {
			return nil, nil
		}
		return nil, b.fail(s, "%s: no such file in the build context", src)
	}
	entry := func(p, to string) (copyEntry, error) {
		info, err := os.Stat(b.o.Context[p]) // context inputs are symlinks into Bazel's tree
		if err != nil {
			return copyEntry{}, err
		}
		return copyEntry{src: b.o.Context[p], dest: to, info: contextInfo{info}}, nil
	}
	var sources []copySource
	for _, m := range slices.Sorted(maps.Keys(matches)) {
		files := matches[m]
		sort.Strings(files)
		if len(files) == 1 && files[0] == m {
			// A file.
			if s.Kind == "ADD" && s.Unpack != "false" {
				ok, err := isTarArchive(b.o.Context[m])
				if err != nil {
					return nil, err
				}
				if ok {
					sources = append(sources, copySource{archive: b.o.Context[m], top: dest})
					continue
				}
			}
			to := destFor(dest, path.Base(m), intoDir)
			if isGlob(clean) {
				to = path.Join(dest, path.Base(m))
			}
			e, err := entry(m, to)
			if err != nil {
				return nil, err
			}
			sources = append(sources, copySource{entries: []copyEntry{e}})
			continue
		}
		// A directory (or the whole context): its contents go to dest.
		dir := m
		if dir == "." {
			dir = ""
		}
		c := copySource{top: dest, entries: contextDirs(dir, dest, files)}
		for _, p := range files {
			e, err := entry(p, path.Join(dest, strings.TrimPrefix(p, dir+"/")))
			if err != nil {
				return nil, err
			}
			c.entries = append(c.entries, e)
		}
		sort.SliceStable(c.entries, func(i, j int) bool { return c.entries[i].dest < c.entries[j].dest })
		sources = append(sources, c)
	}
	return sources, nil
}

// wildcardBase is the directory a wildcard path searches: its components
// before the first with a wildcard ("" for the context's root).
func wildcardBase(p string) string {
	parts := strings.Split(p, "/")
	for i, part := range parts {
		if isGlob(part) {
			return strings.Join(parts[:i], "/")
		}
	}
	return p
}

// inContext says whether the context holds the file or directory p ("" is
// its root).
func (b *builder) inContext(p string) bool {
	if p == "" {
		return true
	}
	for f := range b.o.Context {
		if f == p || strings.HasPrefix(f, p+"/") {
			return true
		}
	}
	return false
}

// addArchive unpacks a local tar archive (plain, gzip, bzip2, xz, zstd)
// into dest, as ADD does.
func (b *builder) addArchive(s *containerfile.Step, file, dest string) error {
	f, err := os.Open(file)
	if err != nil {
		return err
	}
	defer f.Close()
	r, err := layer.OpenArchive(f)
	if err != nil {
		return b.fail(s, "%v", err)
	}
	if err := b.mkdirInRoot(dest); err != nil {
		return err
	}
	if err := extractUnder(b.root, dest, r, filepath.Base(file), b.owners); err != nil {
		return b.fail(s, "%v", err)
	}
	return nil
}

// fromImage selects files from another image for COPY --from: one source
// per match of a wildcard.
func (b *builder) fromImage(s *containerfile.Step, src, dest string, intoDir bool) ([]copySource, error) {
	layout, ok := b.o.Images[s.From.Raw]
	if !ok {
		return nil, b.fail(s, "image %q was not given to the build (--image %s=DIR)", s.From.Raw, s.From.Raw)
	}
	root, owners, err := b.unpacked(layout)
	if err != nil {
		return nil, err
	}
	var hosts []string
	if isGlob(src) {
		host, err := layer.ResolvePath(root, path.Dir(src))
		if err != nil {
			return nil, err
		}
		hosts, err = filepath.Glob(filepath.Join(host, path.Base(src)))
		if err != nil {
			return nil, b.fail(s, "%s: %v", src, err)
		}
	} else {
		host, err := layer.ResolvePath(root, src)
		if err != nil {
			return nil, err
		}
		hosts = []string{host}
	}
	var out []copySource
	for _, host := range hosts {
		info, err := os.Lstat(host)
		if err != nil {
			return nil, b.fail(s, "%s: not found in %s", src, s.From.Raw)
		}
		rel, err := filepath.Rel(root, host)
		if err != nil {
			return nil, err
		}
		rel = filepath.ToSlash(rel)
		c := copySource{}
		to := dest
		if info.IsDir() {
			// Its contents go to dest, also for a wildcard's match.
			c.top = dest
		} else {
			// A source that is a symbolic link was followed (as BuildKit
			// does); the copy keeps the name the Containerfile gave.
			name := filepath.Base(host)
			if !isGlob(src) {
				name = path.Base(src)
			}
			to = destFor(dest, name, intoDir)
		}
		if c.entries, err = treeEntries(host, rel, to, diskOwners(owners)); err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	if len(out) == 0 {
		// An empty wildcard copies nothing (see fromContext) where the
		// directory it searches exists.
		if host, err := layer.ResolvePath(root, path.Dir(src)); err == nil && !isGlob(path.Dir(src)) {
			if _, err := os.Stat(host); err == nil {
				return nil, nil
			}
		}
		return nil, b.fail(s, "%s matches nothing in %s", src, s.From.Raw)
	}
	return out, nil
}

// fromRoot is an image unpacked for COPY --from, with the owners its
// layers recorded where the runner could not give them.
type fromRoot struct {
	dir    string
	owners map[string]layer.Owner
}

// unpacked returns the root filesystem of an image layout, unpacking it
// once per build.
func (b *builder) unpacked(layout string) (string, map[string]layer.Owner, error) {
	if r, ok := b.roots[layout]; ok {
		return r.dir, r.owners, nil
	}
	r := fromRoot{dir: filepath.Join(b.work, fmt.Sprintf("from-%d", len(b.roots))), owners: map[string]layer.Owner{}}
	if err := os.Mkdir(r.dir, 0o755); err != nil {
		return "", nil, err
	}
	layers, err := ociimage.BaseLayers(layout)
	if err != nil {
		return "", nil, err
	}
	if err := unpackLayers(r.dir, layers, r.owners); err != nil {
		return "", nil, err
	}
	b.roots[layout] = r
	return r.dir, r.owners, nil
}

// unpackLayers applies layers in order onto root. Each layer file is
// checked against the digest and size its manifest gives before anything
// uses what it unpacked: a damaged or substituted blob stops the build.
func unpackLayers(root string, layers []ociimage.Layer, owners map[string]layer.Owner) error {
	for _, l := range layers {
		if err := unpackLayer(root, l, owners); err != nil {
			return err
		}
	}
	return nil
}

func unpackLayer(root string, l ociimage.Layer, owners map[string]layer.Owner) error {
	h, err := v1.NewHash(l.Digest)
	if err != nil {
		return fmt.Errorf("%s: layer digest: %w", l.Path, err)
	}
	r, err := ociimage.OpenBlob(l.Path, h, l.Size)
	if err != nil {
		return err
	}
	defer r.Close()
	// An image layer: its whiteouts apply, and its uncompressed bytes
	// must be those the config's diff_ids name.
	aerr := layer.Apply(root, r, layer.ApplyOptions{Name: l.Digest, Chown: true, Owners: owners, Whiteouts: true, DiffID: l.DiffID})
	// Apply may stop reading at the end of the compressed stream, or at
	// damage in it: read to the end so that the blob's digest and size are
	// always checked. A blob that does not match is the cause of whatever
	// Apply made of it, so its error comes first.
	if _, err := io.Copy(io.Discard, r); err != nil {
		return err
	}
	return aerr
}

func (b *builder) writeImage(layers []ociimage.Layer, history []ociimage.History) error {
	c := b.stage.Config
	p, _ := stagex.NormalizePlatform(b.o.Platform)
	cfg := ociimage.Config{
		OS:           p.OS,
		Architecture: p.Arch,
		Variant:      p.Variant,
		User:         c.User,
		ExposedPorts: c.ExposedPorts,
		Env:          c.Env,
		Entrypoint:   c.Entrypoint,
		Cmd:          c.Cmd,
		Volumes:      c.Volumes,
		WorkingDir:   c.WorkingDir,
		Labels:       c.Labels,
		StopSignal:   c.StopSignal,
		ArgsEscaped:  c.ArgsEscaped,
		Shell:        c.Shell,
		History:      history,
	}
	if cfg.WorkingDir == "" {
		cfg.WorkingDir = "/" // BuildKit's empty image
	}
	img := ociimage.Image{Layers: layers, Config: cfg, Name: b.o.ImageName}
	if b.o.ImageName != "" {
		// StageX's exporter options.
		version := b.o.BuildArgs["VERSION"]
		if version == "" {
			version = "latest"
		}
		img.Annotations = map[string]string{
			ociimage.AnnotationSource:  stagex.Repository(b.o.ImageName),
			ociimage.AnnotationVersion: version,
			ociimage.AnnotationCreated: ociimage.CreatedText,
		}
	}
	for k, v := range b.o.Annotations {
		if img.Annotations == nil {
			img.Annotations = map[string]string{}
		}
		img.Annotations[k] = v
	}
	digest, err := ociimage.WriteImage(b.o.Out, img)
	if err != nil {
		return err
	}
	if b.o.DigestOut != "" {
		return os.WriteFile(b.o.DigestOut, []byte(digest+"\n"), 0o644)
	}
	return nil
}

func (b *builder) parseChown(spec string) (uid, gid int, err error) {
	u, g, hasGroup := strings.Cut(spec, ":")
	if uid, err = strconv.Atoi(u); err != nil {
		return 0, 0, errors.New("expected numeric uid[:gid]")
	}
	gid = uid
	if hasGroup {
		if gid, err = strconv.Atoi(g); err != nil {
			return 0, 0, errors.New("expected numeric uid[:gid]")
		}
	}
	return uid, gid, nil
}

// baseImageConfig reads the configuration of an image layout in the form
// the Containerfile model inherits.
func baseImageConfig(dir string) (*containerfile.ImageConfig, error) {
	c, err := ociimage.BaseConfig(dir)
	if err != nil {
		return nil, err
	}
	return &containerfile.ImageConfig{
		Env:          c.Env,
		WorkingDir:   c.WorkingDir,
		User:         c.User,
		Shell:        c.Shell,
		Entrypoint:   c.Entrypoint,
		Cmd:          c.Cmd,
		Labels:       c.Labels,
		ExposedPorts: c.ExposedPorts,
		Volumes:      c.Volumes,
		StopSignal:   c.StopSignal,
		ArgsEscaped:  c.ArgsEscaped,
	}, nil
}
