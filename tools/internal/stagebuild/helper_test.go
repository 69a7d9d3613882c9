package stagebuild

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"debug/elf"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stagex/stagex-bazel/tools/internal/layer"
	"github.com/stagex/stagex-bazel/tools/internal/ociimage"
	"github.com/stagex/stagex-bazel/tools/internal/sandbox"
)

// The test binary doubles as the program RUN steps execute: installed in a
// base image as /bin/probe (and as /bin/sh, a shell that knows only probe
// commands), it is re-executed inside the sandbox and dispatches on its
// name.
const (
	probeName = "probe"
	shellName = "sh"
	// resultsDir is where probes record what they saw, one file per label,
	// so that tests read the findings back from the built image.
	resultsDir = "/results"
)

var sharedDir string // removed after the tests; holds the shared base image

func TestMain(m *testing.M) {
	sandbox.Init()
	switch filepath.Base(os.Args[0]) {
	case probeName:
		os.Exit(probeMain(os.Args[1:]))
	case shellName:
		os.Exit(shellMain(os.Args[1:]))
	}
	dir, err := os.MkdirTemp("", "stagebuild-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	sharedDir = dir
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// probeMain runs one probe command: MODE [LABEL] ARGS...
func probeMain(args []string) int {
	if len(args) == 0 {
		fmt.Fprintln(os.Stderr, "probe: no mode")
		return 2
	}
	mode, args := args[0], args[1:]
	need := func(n int) bool {
		if len(args) < n {
			fmt.Fprintf(os.Stderr, "probe %s: want %d arguments, got %q\n", mode, n, args)
			return false
		}
		return true
	}
	var result string
	switch mode {
	case "true":
		return 0
	case "fail": // fail CODE LINES: print LINES numbered lines, exit CODE
		if !need(2) {
			return 2
		}
		code, _ := strconv.Atoi(args[0])
		n, _ := strconv.Atoi(args[1])
		for i := 1; i <= n; i++ {
			fmt.Printf("output line %d\n", i)
		}
		fmt.Fprint(os.Stderr, "unfinished last line")
		return code
	case "sleep": // sleep DURATION
		if !need(1) {
			return 2
		}
		d, _ := time.ParseDuration(args[0])
		time.Sleep(d)
		return 0
	case "spawn": // spawn N: start N sleeping children (left running), failing at the first that cannot start
		if !need(1) {
			return 2
		}
		n, _ := strconv.Atoi(args[0])
		for i := 1; i <= n; i++ {
			c := exec.Command("/proc/self/exe", "sleep", "1m")
			c.Args[0] = probeName
			if err := c.Start(); err != nil {
				fmt.Fprintf(os.Stderr, "probe spawn: starting process %d of %d: %v\n", i, n, err)
				return 1
			}
		}
		return 0
	case "dial": // dial LABEL ADDR: TCP connect
		if !need(2) {
			return 2
		}
		c, err := net.DialTimeout("tcp", args[1], 2*time.Second)
		if err == nil {
			c.Close()
		}
		result = errName(err)
	case "route": // route LABEL ADDR: UDP connect, which only asks for a route
		if !need(2) {
			return 2
		}
		c, err := net.Dial("udp", args[1])
		if err == nil {
			c.Close()
		}
		result = errName(err)
	case "resolve": // resolve LABEL NAME
		if !need(2) {
			return 2
		}
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		defer cancel()
		addrs, err := (&net.Resolver{PreferGo: true}).LookupHost(ctx, args[1])
		result = errName(err)
		if err == nil {
			result += ":" + strings.Join(addrs, ",")
		}
	case "read": // read LABEL PATH
		if !need(2) {
			return 2
		}
		b, err := os.ReadFile(args[1])
		result = errName(err)
		if err == nil {
			result += ":" + string(b)
		}
	case "write": // write LABEL PATH CONTENT
		if !need(3) {
			return 2
		}
		result = errName(os.WriteFile(args[1], []byte(args[2]), 0o644))
	case "listen": // listen LABEL PATH: leaves a unix socket at PATH, as gpg-agent does
		if !need(2) {
			return 2
		}
		l, err := net.Listen("unix", args[1])
		if err == nil {
			l.(*net.UnixListener).SetUnlinkOnClose(false)
			err = l.Close()
		}
		result = errName(err)
	case "mkwrite": // mkwrite LABEL PATH CONTENT: with parent directories
		if !need(3) {
			return 2
		}
		err := os.MkdirAll(filepath.Dir(args[1]), 0o755)
		if err == nil {
			err = os.WriteFile(args[1], []byte(args[2]), 0o644)
		}
		result = errName(err)
	case "replace": // replace LABEL PATH CONTENT: a new file renamed over PATH, as sed -i does
		if !need(3) {
			return 2
		}
		tmp := args[1] + ".new"
		err := os.WriteFile(tmp, []byte(args[2]), 0o644)
		if err == nil {
			err = os.Rename(tmp, args[1])
		}
		result = errName(err)
	case "chown": // chown LABEL PATH UID GID: following a symbolic link
		if !need(4) {
			return 2
		}
		uid, uerr := strconv.Atoi(args[2])
		gid, gerr := strconv.Atoi(args[3])
		if uerr != nil || gerr != nil {
			fmt.Fprintln(os.Stderr, "probe chown: want numeric ids")
			return 2
		}
		result = errName(os.Chown(args[1], uid, gid))
	case "rm": // rm LABEL PATH
		if !need(2) {
			return 2
		}
		result = errName(os.RemoveAll(args[1]))
	case "env": // env LABEL
		if !need(1) {
			return 2
		}
		env := os.Environ()
		sort.Strings(env)
		result = strings.Join(env, "\n")
	case "info": // info LABEL
		if !need(1) {
			return 2
		}
		h, _ := os.Hostname()
		wd, _ := os.Getwd()
		result = fmt.Sprintf("host=%s cwd=%s uid=%d", h, wd, os.Getuid())
	case "ids": // ids LABEL
		if !need(1) {
			return 2
		}
		result = fmt.Sprintf("uid=%d gid=%d", os.Getuid(), os.Getgid())
	default:
		fmt.Fprintf(os.Stderr, "probe: unknown mode %q\n", mode)
		return 2
	}
	fmt.Printf("%s %s: %s\n", mode, args[0], result)
	if err := os.WriteFile(filepath.Join(resultsDir, args[0]), []byte(result), 0o644); err != nil {
		fmt.Fprintln(os.Stderr, "probe: recording the result:", err)
		return 3
	}
	return 0
}

// shellMain is a stand-in /bin/sh: "sh -c SCRIPT" runs each line of SCRIPT
// that is not blank, a comment or "set ..." as "probe ARGS" (split on
// blanks after expanding $VAR and ${VAR}), stopping at the first that
// fails. "sh FILE" does the same with
// a script file.
func shellMain(args []string) int {
	var script string
	switch {
	case len(args) >= 2 && args[0] == "-c":
		script = args[1]
	case len(args) >= 1:
		b, err := os.ReadFile(args[0])
		if err != nil {
			fmt.Fprintln(os.Stderr, "sh:", err)
			return 127
		}
		script = string(b)
	default:
		fmt.Fprintln(os.Stderr, "sh: want -c SCRIPT or FILE")
		return 2
	}
	for _, line := range strings.Split(script, "\n") {
		f := strings.Fields(os.ExpandEnv(line))
		if len(f) == 0 || strings.HasPrefix(f[0], "#") || f[0] == "set" {
			continue
		}
		if f[0] != probeName {
			fmt.Fprintf(os.Stderr, "sh: %s: not found\n", f[0])
			return 127
		}
		if code := probeMain(f[1:]); code != 0 {
			return code
		}
	}
	return 0
}

// errName is "ok" for nil, the errno's name when err wraps one, and the
// error text otherwise.
func errName(err error) string {
	if err == nil {
		return "ok"
	}
	var errno syscall.Errno
	if errors.As(err, &errno) {
		return errnoNames[errno]
	}
	return err.Error()
}

var errnoNames = map[syscall.Errno]string{
	syscall.ENOENT: "ENOENT", syscall.EACCES: "EACCES", syscall.EPERM: "EPERM",
	syscall.ECONNREFUSED: "ECONNREFUSED", syscall.ENETUNREACH: "ENETUNREACH",
	syscall.EROFS: "EROFS", syscall.EXDEV: "EXDEV", syscall.EHOSTUNREACH: "EHOSTUNREACH",
}

// requireSandbox skips a test that runs RUN steps where the kernel does not
// let this process make the sandbox's namespaces, and fails it instead
// where sandbox.RequireEnv is 1.
func requireSandbox(tb testing.TB) {
	tb.Helper()
	if err := sandbox.Supported(); err != nil {
		if os.Getenv(sandbox.RequireEnv) == "1" {
			tb.Fatalf("%s=1 but RUN steps cannot run here: %v", sandbox.RequireEnv, err)
		}
		tb.Skipf("skipping: RUN steps cannot run here: %v", err)
	}
}

// tree is a file tree to put in a layer: path -> entry.
type tree map[string]node

// node is one file, directory or symbolic link of a tree.
type node struct {
	data string // file content
	mode os.FileMode
	link string // symbolic link target
	dir  bool
	src  string // file on disk to copy instead of data
	hard string // path in the tree this is a hard link to
}

func dirNode(mode os.FileMode) node { return node{dir: true, mode: mode} }

// materialize writes t below dir.
func (t tree) materialize(tb testing.TB, dir string) {
	tb.Helper()
	paths := make([]string, 0, len(t))
	for p := range t {
		paths = append(paths, p)
	}
	// Hard links after everything else, so that their targets exist.
	sort.Slice(paths, func(i, j int) bool {
		hi, hj := t[paths[i]].hard != "", t[paths[j]].hard != ""
		if hi != hj {
			return hj
		}
		return paths[i] < paths[j]
	})
	for _, p := range paths {
		n := t[p]
		host := filepath.Join(dir, p)
		if err := os.MkdirAll(filepath.Dir(host), 0o755); err != nil {
			tb.Fatal(err)
		}
		var err error
		switch {
		case n.dir:
			if err = os.MkdirAll(host, 0o755); err == nil {
				err = os.Chmod(host, n.mode)
			}
		case n.link != "":
			err = os.Symlink(n.link, host)
		case n.hard != "":
			err = os.Link(filepath.Join(dir, n.hard), host)
		case n.src != "":
			err = copyFile(n.src, host, n.mode)
		default:
			if err = os.WriteFile(host, []byte(n.data), n.mode); err == nil {
				err = os.Chmod(host, n.mode)
			}
		}
		if err != nil {
			tb.Fatal(err)
		}
	}
}

func copyFile(src, dst string, mode os.FileMode) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, mode)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// treeLayer writes t as a layer file in dir with layer.WriteFull.
func treeLayer(tb testing.TB, dir string, t tree) ociimage.Layer {
	tb.Helper()
	src, err := os.MkdirTemp(dir, "tree-")
	if err != nil {
		tb.Fatal(err)
	}
	defer os.RemoveAll(src)
	t.materialize(tb, src)
	f, err := os.CreateTemp(dir, "layer-*.tar.gz")
	if err != nil {
		tb.Fatal(err)
	}
	res, err := layer.WriteFull(f, src, layer.WriteOptions{})
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		tb.Fatal(err)
	}
	return ociimage.Layer{Path: f.Name(), Digest: res.Digest, DiffID: res.DiffID, Size: res.Size}
}

// rawLayer stores a crafted tar stream, gzip-compressed, as a layer file.
func rawLayer(tb testing.TB, dir string, tarBytes []byte) ociimage.Layer {
	tb.Helper()
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	if _, err := zw.Write(tarBytes); err != nil {
		tb.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		tb.Fatal(err)
	}
	f, err := os.CreateTemp(dir, "raw-*.tar.gz")
	if err != nil {
		tb.Fatal(err)
	}
	if _, err := f.Write(gz.Bytes()); err != nil {
		tb.Fatal(err)
	}
	if err := f.Close(); err != nil {
		tb.Fatal(err)
	}
	return ociimage.Layer{Path: f.Name(), Digest: sha256Of(gz.Bytes()), DiffID: sha256Of(tarBytes), Size: int64(gz.Len())}
}

func sha256Of(b []byte) string {
	s := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(s[:])
}

// writeLayout writes an image layout of layers (bottom first) in a new
// directory under dir.
func writeLayout(tb testing.TB, dir string, layers []ociimage.Layer, cfg ociimage.Config) string {
	tb.Helper()
	if cfg.OS == "" {
		cfg.OS, cfg.Architecture = "linux", runtime.GOARCH
	}
	out, err := os.MkdirTemp(dir, "layout-")
	if err != nil {
		tb.Fatal(err)
	}
	out = filepath.Join(out, "image.oci")
	if _, err := ociimage.WriteImage(out, ociimage.Image{Layers: layers, Config: cfg}); err != nil {
		tb.Fatal(err)
	}
	return out
}

// tarEntry is one crafted tar member.
type tarEntry struct {
	name, body, link string
	typ              byte
	mode             int64
	uid, gid         int
}

func makeTar(tb testing.TB, entries ...tarEntry) []byte {
	tb.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range entries {
		hdr := &tar.Header{Name: e.name, Typeflag: e.typ, Mode: e.mode, Linkname: e.link,
			Uid: e.uid, Gid: e.gid, ModTime: time.Unix(1, 0), Format: tar.FormatPAX}
		if e.typ == tar.TypeReg {
			hdr.Size = int64(len(e.body))
		}
		if e.typ == tar.TypeChar || e.typ == tar.TypeBlock {
			hdr.Devmajor, hdr.Devminor = 1, 3
		}
		if err := tw.WriteHeader(hdr); err != nil {
			tb.Fatal(err)
		}
		if _, err := tw.Write([]byte(e.body)); err != nil {
			tb.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		tb.Fatal(err)
	}
	return buf.Bytes()
}

func tgz(tb testing.TB, entries ...tarEntry) []byte {
	tb.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if _, err := zw.Write(makeTar(tb, entries...)); err != nil {
		tb.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		tb.Fatal(err)
	}
	return buf.Bytes()
}

var (
	lightOnce   sync.Once
	lightLayout string
	lightErr    error
)

// lightBase returns the layout of an image of baseTree alone, without the
// probe: quick to unpack, for builds that run nothing.
func lightBase(tb testing.TB) string {
	tb.Helper()
	lightOnce.Do(func() {
		lightErr = errors.New("an earlier test failed to build it")
		dir := filepath.Join(sharedDir, "light")
		if err := os.MkdirAll(dir, 0o755); err != nil {
			lightErr = err
			return
		}
		l := treeLayer(tb, dir, baseTree())
		lightLayout = writeLayout(tb, dir, []ociimage.Layer{l}, ociimage.Config{Env: []string{"PATH=/bin"}})
		lightErr = nil
	})
	if lightErr != nil {
		tb.Fatalf("building the light base image: %v", lightErr)
	}
	return lightLayout
}

var (
	baseOnce   sync.Once
	baseLayout string
	baseLayers []ociimage.Layer
	baseErr    error
)

// baseTree is the content of the shared base image apart from the probe:
// a passwd and group file, a /results directory anyone may write, and a few
// files for RUN and COPY to change.
func baseTree() tree {
	t := tree{
		"bin":               dirNode(0o755),
		"etc":               dirNode(0o755),
		"etc/passwd":        {data: "root:x:0:0:root:/root:/bin/sh\nbuilder:x:1000:1000::/home/builder:/bin/sh\n", mode: 0o644},
		"etc/group":         {data: "root:x:0:\nbuilder:x:1000:\n", mode: 0o644},
		"etc/resolv.conf":   {data: "nameserver 127.0.0.1\noptions timeout:1 attempts:1\n", mode: 0o644},
		"results":           dirNode(0o777),
		"base":              dirNode(0o755),
		"base/keep.txt":     {data: "keep\n", mode: 0o644},
		"base/gone.txt":     {data: "gone\n", mode: 0o644},
		"base/dir":          dirNode(0o755),
		"base/dir/inner":    {data: "inner\n", mode: 0o644},
		"base/dir/sub":      dirNode(0o755),
		"base/dir/sub/leaf": {data: "leaf\n", mode: 0o600},
	}
	if runtime.GOARCH == "amd64" {
		t["bin/true"] = node{data: string(tinyTrue()), mode: 0o755}
	}
	return t
}

// sharedBase returns the layout of the shared base image: baseTree plus the
// test binary as /bin/probe and /bin/sh, with its loader and libraries if it
// is dynamic. Its config sets PATH=/bin. It is built once per test binary.
func sharedBase(tb testing.TB) (string, []ociimage.Layer) {
	tb.Helper()
	baseOnce.Do(func() {
		// Stays set if a helper below ends the test with Fatal.
		baseErr = errors.New("an earlier test failed to build it")
		baseErr = func() error {
			exe, err := os.Executable()
			if err != nil {
				return err
			}
			t := baseTree()
			t["bin/"+probeName] = node{src: exe, mode: 0o755}
			t["bin/"+shellName] = node{hard: "bin/" + probeName}
			libs, err := dynamicDeps(exe)
			if err != nil {
				return err
			}
			for _, lib := range libs {
				t[strings.TrimPrefix(lib, "/")] = node{src: lib, mode: 0o755}
			}
			dir := filepath.Join(sharedDir, "base")
			if err := os.MkdirAll(dir, 0o755); err != nil {
				return err
			}
			l := treeLayer(tb, dir, t)
			baseLayout = writeLayout(tb, dir, []ociimage.Layer{l}, ociimage.Config{Env: []string{"PATH=/bin"}})
			baseLayers, err = ociimage.BaseLayers(baseLayout)
			return err
		}()
	})
	if baseErr != nil {
		tb.Fatalf("building the base image: %v", baseErr)
	}
	return baseLayout, baseLayers
}

// dynamicDeps lists the loader and shared libraries exe needs (none for a
// static executable), asking the loader its PT_INTERP names.
func dynamicDeps(exe string) ([]string, error) {
	f, err := elf.Open(exe)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var interp string
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			b, err := io.ReadAll(p.Open())
			if err != nil {
				return nil, err
			}
			interp = strings.TrimRight(string(b), "\x00")
		}
	}
	if interp == "" {
		return nil, nil
	}
	out, err := exec.Command(interp, "--list", exe).Output()
	if err != nil {
		return nil, fmt.Errorf("listing the libraries of %s: %v", exe, err)
	}
	deps := []string{interp}
	for _, f := range strings.Fields(string(out)) {
		if strings.HasPrefix(f, "/") && !slices.Contains(deps, f) {
			deps = append(deps, f)
		}
	}
	// The names are kept as the binary asks for them (the loader by its
	// PT_INTERP path); copying follows symbolic links to the files.
	return deps, nil
}

// tinyTrue is a 132-byte static x86-64 executable that calls exit(0).
func tinyTrue() []byte {
	const base = 0x400000
	code := []byte{0xb8, 60, 0, 0, 0, 0x31, 0xff, 0x0f, 0x05} // mov eax,60; xor edi,edi; syscall
	const hdrs = 64 + 56
	var b bytes.Buffer
	put := func(v any) { _ = binary.Write(&b, binary.LittleEndian, v) }
	b.Write([]byte{0x7f, 'E', 'L', 'F', 2, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0})
	put(uint16(2))           // ET_EXEC
	put(uint16(62))          // EM_X86_64
	put(uint32(1))           // EV_CURRENT
	put(uint64(base + hdrs)) // entry
	put(uint64(64))          // phoff
	put(uint64(0))           // shoff
	put(uint32(0))           // flags
	put([]uint16{64, 56, 1, 0, 0, 0})
	put(uint32(1))            // PT_LOAD
	put(uint32(5))            // R+X
	put(uint64(0))            // offset
	put([]uint64{base, base}) // vaddr, paddr
	put([]uint64{hdrs + uint64(len(code)), hdrs + uint64(len(code))})
	put(uint64(0x1000)) // align
	b.Write(code)
	return b.Bytes()
}

// stageTest is one stage build in a test.
type stageTest struct {
	containerfile string
	context       tree              // build context files
	images        map[string]string // COPY --from references
	base          string            // "" for the shared base
	args          map[string]string // build arguments
	tail          int
	ctxTime       time.Time     // modification time of the context files
	singleID      bool          // force the sandbox's single-id mode
	imageName     string        // Options.ImageName
	stepTimeout   time.Duration // Options.StepTimeout
	maxProcesses  int           // Options.MaxProcesses
	// layers is how many layers the build must add to its base, one per
	// RUN, COPY, ADD and WORKDIR other than / (as BuildKit, even for a
	// step that changed nothing); the helpers that read them check it.
	layers int
}

// built is the outcome of a stage build.
type built struct {
	opts   Options
	err    error
	log    string
	layers int // stageTest.layers
}

// build writes the Containerfile and context to a new directory and builds
// the stage named "test".
func (st stageTest) build(tb testing.TB) built {
	tb.Helper()
	dir := tb.TempDir()
	cf := filepath.Join(dir, "Containerfile")
	if err := os.WriteFile(cf, []byte(st.containerfile), 0o644); err != nil {
		tb.Fatal(err)
	}
	ctxFiles := map[string]string{}
	if len(st.context) > 0 {
		ctxDir := filepath.Join(dir, "context")
		st.context.materialize(tb, ctxDir)
		if !st.ctxTime.IsZero() {
			for p := range st.context {
				if err := os.Chtimes(filepath.Join(ctxDir, p), st.ctxTime, st.ctxTime); err != nil && st.context[p].link == "" {
					tb.Fatal(err)
				}
			}
		}
		for p, n := range st.context {
			if !n.dir {
				ctxFiles[p] = filepath.Join(ctxDir, p)
			}
		}
	}
	base := st.base
	if base == "" {
		base, _ = sharedBase(tb)
	}
	var log bytes.Buffer
	o := Options{
		Containerfile: cf,
		Stage:         "test",
		Platform:      "linux/" + runtime.GOARCH,
		BuildArgs:     st.args,
		Base:          base,
		Images:        st.images,
		Context:       ctxFiles,
		Out:           filepath.Join(dir, "out.oci"),
		DigestOut:     filepath.Join(dir, "out.digest"),
		WorkDir:       dir,
		Log:           &log,
		TailLines:     st.tail,
		ImageName:     st.imageName,
		StepTimeout:   st.stepTimeout,
		MaxProcesses:  st.maxProcesses,
		singleID:      st.singleID,
	}
	err := Build(context.Background(), o)
	return built{opts: o, err: err, log: log.String(), layers: st.layers}
}

// mustBuild builds and fails the test on error.
func (st stageTest) mustBuild(tb testing.TB) built {
	tb.Helper()
	b := st.build(tb)
	if b.err != nil {
		tb.Fatalf("Build: %v\nlog:\n%s", b.err, b.log)
	}
	return b
}

// digest is the digest Build wrote, which must be the layout's.
func (b built) digest(tb testing.TB) string {
	tb.Helper()
	data, err := os.ReadFile(b.opts.DigestOut)
	if err != nil {
		tb.Fatal(err)
	}
	got := strings.TrimSpace(string(data))
	want, err := ociimage.LayoutDigest(b.opts.Out)
	if err != nil {
		tb.Fatal(err)
	}
	if got != want {
		tb.Fatalf("digest file says %s, layout holds %s", got, want)
	}
	return got
}

// layerEntry is a member of a layer as read back.
type layerEntry struct {
	hdr  *tar.Header
	data string
}

// stageLayers returns the layers the stage added: those after the base's,
// which the image must reuse unchanged. As BuildKit, a build adds one
// layer per RUN, COPY, ADD and WORKDIR other than /, even when the step
// changed nothing; it fails the test unless there are exactly b.layers.
func (b built) stageLayers(tb testing.TB) []ociimage.Layer {
	tb.Helper()
	layers, err := ociimage.BaseLayers(b.opts.Out)
	if err != nil {
		tb.Fatal(err)
	}
	var base []ociimage.Layer
	if b.opts.Base != "" {
		if base, err = ociimage.BaseLayers(b.opts.Base); err != nil {
			tb.Fatal(err)
		}
	}
	if len(layers) != len(base)+b.layers {
		tb.Fatalf("image has %d layers, want base's %d + %d (one per RUN, COPY, ADD and WORKDIR other than /)", len(layers), len(base), b.layers)
	}
	for i := range base {
		if layers[i].Digest != base[i].Digest {
			tb.Fatalf("layer %d is %s, base has %s", i, layers[i].Digest, base[i].Digest)
		}
	}
	return layers[len(base):]
}

// stageContents reads each of the stage's layers, bottom first.
func (b built) stageContents(tb testing.TB) []map[string]layerEntry {
	tb.Helper()
	var out []map[string]layerEntry
	for _, l := range b.stageLayers(tb) {
		out = append(out, readLayer(tb, l.Path))
	}
	return out
}

// stageChanges is the net change the stage made to its base: its layers
// applied in order and squashed into one. A later layer's entry replaces
// an earlier one's; a whiteout removes what earlier stage layers put at
// its path (and below) and stays only where it hides a path of the base.
func (b built) stageChanges(tb testing.TB) map[string]layerEntry {
	tb.Helper()
	return squash(b.basePaths(tb), b.stageContents(tb))
}

// basePaths are the paths of the base image's file system, with the
// directories leading to them.
func (b built) basePaths(tb testing.TB) map[string]bool {
	tb.Helper()
	paths := map[string]bool{}
	if b.opts.Base == "" {
		return paths
	}
	layers, err := ociimage.BaseLayers(b.opts.Base)
	if err != nil {
		tb.Fatal(err)
	}
	for _, l := range layers {
		names := layerNames(tb, l.Path)
		for _, n := range names {
			if target, ok := whiteoutTarget(n); ok {
				removeTree(paths, target)
			}
		}
		for _, n := range names {
			if _, ok := whiteoutTarget(n); ok {
				continue
			}
			for p := n; p != "." && p != "/" && p != ""; p = path.Dir(p) {
				paths[p] = true
			}
		}
	}
	return paths
}

// whiteoutTarget is the path a whiteout entry hides ("d/" below for an
// opaque whiteout of d, whose contents it hides), and whether name is one.
func whiteoutTarget(name string) (string, bool) {
	dir, base := path.Split(name)
	switch {
	case base == ".wh..wh..opq":
		return dir, true
	case strings.HasPrefix(base, ".wh."):
		return dir + strings.TrimPrefix(base, ".wh."), true
	}
	return "", false
}

// removeTree deletes p and everything below it from m; a p ending in /
// deletes only what is below.
func removeTree[V any](m map[string]V, p string) {
	below := strings.TrimSuffix(p, "/") + "/"
	for k := range m {
		if (k == p && !strings.HasSuffix(p, "/")) || strings.HasPrefix(k, below) {
			delete(m, k)
		}
	}
}

// squash applies layers, bottom first, over a base holding lower and
// returns the single layer that makes the same change.
func squash(lower map[string]bool, layers []map[string]layerEntry) map[string]layerEntry {
	out := map[string]layerEntry{}
	for _, l := range layers {
		// A layer's whiteouts apply to the layers below it.
		for name, e := range l {
			target, ok := whiteoutTarget(name)
			if !ok {
				continue
			}
			removeTree(out, target)
			if hidesLower(lower, target) {
				out[name] = e
			}
		}
		for name, e := range l {
			if _, ok := whiteoutTarget(name); ok {
				continue
			}
			out[name] = e
			dir, base := path.Split(name)
			delete(out, dir+".wh."+base)
		}
	}
	return out
}

func hidesLower(lower map[string]bool, target string) bool {
	if !strings.HasSuffix(target, "/") {
		return lower[target]
	}
	for p := range lower {
		if strings.HasPrefix(p, target) {
			return true
		}
	}
	return false
}

// layerNames lists the members of a layer file, cleaned of a leading /
// or ./ and a trailing /.
func layerNames(tb testing.TB, file string) []string {
	tb.Helper()
	f, err := os.Open(file)
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		tb.Fatal(err)
	}
	tr := tar.NewReader(zr)
	var out []string
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			return out
		}
		if err != nil {
			tb.Fatal(err)
		}
		if n := path.Clean("/" + hdr.Name); n != "/" {
			out = append(out, strings.TrimPrefix(n, "/"))
		}
	}
}

func readLayer(tb testing.TB, file string) map[string]layerEntry {
	tb.Helper()
	f, err := os.Open(file)
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		tb.Fatal(err)
	}
	tr := tar.NewReader(zr)
	out := map[string]layerEntry{}
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			tb.Fatal(err)
		}
		data, err := io.ReadAll(tr)
		if err != nil {
			tb.Fatal(err)
		}
		out[strings.TrimSuffix(hdr.Name, "/")] = layerEntry{hdr: hdr, data: string(data)}
	}
	return out
}

// rootfs unpacks every layer of the built image into a new directory.
func (b built) rootfs(tb testing.TB) string {
	tb.Helper()
	layers, err := ociimage.BaseLayers(b.opts.Out)
	if err != nil {
		tb.Fatal(err)
	}
	root := tb.TempDir()
	if err := unpackLayers(root, layers, map[string]layer.Owner{}); err != nil {
		tb.Fatal(err)
	}
	return root
}

// result is what probe recorded under label in the built image: in the
// stage's layers, the last that holds it.
func (b built) result(tb testing.TB, label string) string {
	tb.Helper()
	e, ok := b.stageChanges(tb)["results/"+label]
	if !ok {
		tb.Fatalf("the image holds no probe result %q; build log:\n%s", label, b.log)
	}
	return e.data
}

// assertNoOutput checks that a failed build left neither image nor digest.
func (b built) assertNoOutput(tb testing.TB) {
	tb.Helper()
	for _, p := range []string{b.opts.Out, b.opts.DigestOut} {
		if _, err := os.Lstat(p); !errors.Is(err, os.ErrNotExist) {
			tb.Errorf("failed build left %s behind (%v)", p, err)
		}
	}
}
