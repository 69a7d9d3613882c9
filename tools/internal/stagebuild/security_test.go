package stagebuild

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stagex/stagex-bazel/tools/internal/ociimage"
	"github.com/stagex/stagex-bazel/tools/internal/sandbox"
)

// hostDir returns an empty directory on the host that no build input
// names; tests check that it stays empty.
func hostDir(t *testing.T) string {
	t.Helper()
	d := filepath.Join(t.TempDir(), "host-only")
	if err := os.Mkdir(d, 0o755); err != nil {
		t.Fatal(err)
	}
	return d
}

func assertEmpty(t *testing.T, dir string) {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatalf("host directory %s: %v", dir, err)
	}
	for _, e := range ents {
		t.Errorf("the build wrote %s on the host", filepath.Join(dir, e.Name()))
	}
}

// withBase returns a layout of the shared base's layers plus extra ones.
func withBase(t *testing.T, extra ...ociimage.Layer) string {
	t.Helper()
	_, layers := sharedBase(t)
	return writeLayout(t, t.TempDir(), append(append([]ociimage.Layer(nil), layers...), extra...),
		ociimage.Config{Env: []string{"PATH=/bin"}})
}

func TestRunHasNoNetwork(t *testing.T) {
	requireSandbox(t)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	var accepted atomic.Int32
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			accepted.Add(1)
			c.Close()
		}
	}()
	// The listener works from the host's side.
	c, err := net.DialTimeout("tcp", l.Addr().String(), time.Second)
	if err != nil {
		t.Fatalf("control: dialling the host listener from the test: %v", err)
	}
	c.Close()
	for deadline := time.Now().Add(2 * time.Second); accepted.Load() == 0 && time.Now().Before(deadline); {
		time.Sleep(5 * time.Millisecond)
	}
	if accepted.Load() != 1 {
		t.Fatalf("control: listener accepted %d connections, want 1", accepted.Load())
	}

	cf := `FROM stagex/core-base AS test
ARG ADDR
RUN probe dial host-loopback $ADDR
RUN probe route route-out 192.0.2.1:9
RUN probe resolve resolve example.com
`
	b := stageTest{containerfile: cf, args: map[string]string{"ADDR": l.Addr().String()}, layers: 3}.mustBuild(t)
	for label, want := range map[string]string{
		"host-loopback": "ECONNREFUSED", // the sandbox's own loopback has no listener
		"route-out":     "ENETUNREACH",  // no interface but lo: no route anywhere
	} {
		if got := b.result(t, label); got != want {
			t.Errorf("%s: %q, want %q", label, got, want)
		}
	}
	if got := b.result(t, "resolve"); got == "ok" || strings.HasPrefix(got, "ok:") {
		t.Errorf("resolving a name inside RUN succeeded: %q", got)
	}
	if n := accepted.Load(); n != 1 {
		t.Errorf("the host listener accepted %d connections from the build", n-1)
	}
}

func TestRunSeesNoHostFiles(t *testing.T) {
	requireSandbox(t)
	host := hostDir(t)
	secret := filepath.Join(host, "secret")
	if err := os.WriteFile(secret, []byte("top secret"), 0o644); err != nil {
		t.Fatal(err)
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	base, _ := sharedBase(t)
	paths := map[string]string{
		"secret":        secret,
		"via-proc-1":    "/proc/1/root" + secret,
		"via-proc-self": "/proc/self/root" + secret,
		"dotdot":        "/../../../../../../.." + secret,
		"test-binary":   exe,                               // a host path of the very program that runs
		"base-layout":   filepath.Join(base, "index.json"), // an input of the build, not of RUN
	}
	var cf strings.Builder
	cf.WriteString("FROM stagex/core-base AS test\n")
	for label, p := range paths {
		if _, err := os.Stat(p); err != nil && !strings.HasPrefix(p, "/proc/") && !strings.HasPrefix(p, "/..") {
			t.Fatalf("control: %s is not readable on the host: %v", p, err)
		}
		cf.WriteString("RUN probe read " + label + " " + p + "\n")
	}
	// A layer per RUN.
	b := stageTest{containerfile: cf.String(), layers: len(paths)}.mustBuild(t)
	for label, p := range paths {
		got := b.result(t, label)
		// Through /proc/1/root, pid 1 (the sandbox's init, whose root is
		// the stage root anyway) may also refuse access.
		if got != "ENOENT" && !(label == "via-proc-1" && got == "EACCES") {
			t.Errorf("reading %s inside RUN: %q, want ENOENT", p, got)
		}
	}
}

func TestRunWritesStayInRoot(t *testing.T) {
	requireSandbox(t)
	host := hostDir(t)
	cf := `FROM stagex/core-base AS test
ARG H
RUN probe write plain $H/w1 x
RUN probe write dotdot /../../../../../../../..$H/w2 x
RUN probe mkwrite made $H/w3 x
RUN probe write self /proc/self/root$H/w4 x
RUN probe write proc /proc/1/root$H/w5 x
`
	b := stageTest{containerfile: cf, args: map[string]string{"H": host}, layers: 5}.mustBuild(t)
	assertEmpty(t, host)
	rel := strings.TrimPrefix(host, "/")
	for label, want := range map[string]string{
		"plain":  "ENOENT", // the directory exists on the host only
		"dotdot": "ENOENT",
		"made":   "ok",
		"self":   "ok",     // the process's own root is the stage root
		"proc":   "EACCES", // pid 1, the sandbox's init, is not the step's to inspect
	} {
		if got := b.result(t, label); got != want {
			t.Errorf("%s: %q, want %q", label, got, want)
		}
	}
	want{files: map[string]string{rel + "/w3": "x", rel + "/w4": "x"}}.check(t, b)
}

// TestLinksInTheRootStayInTheRoot gives the stage symbolic links that
// point out of the root, on the host's terms, and writes through them with
// every kind of step.
func TestLinksInTheRootStayInTheRoot(t *testing.T) {
	requireSandbox(t)
	host := hostDir(t)
	dir := t.TempDir()
	base := withBase(t, treeLayer(t, dir, tree{
		"hostlink": {link: host},
		"up":       {link: "../../../../../../../../../.."},
	}))
	cf := `FROM stagex/core-base AS test
ARG H
COPY <<EOF /hostlink/heredoc
x
EOF
COPY a.txt /up$H/copied
COPY a.txt /hostlink/sub/
ADD arch.tar.gz /hostlink/added/
WORKDIR /hostlink/wd
WORKDIR /up$H/wd2
RUN probe mkwrite ran /hostlink/ran x
RUN probe write ran2 /up$H/ran2 x
`
	// Three COPY, an ADD, two WORKDIR and two RUN: a layer each.
	b := stageTest{containerfile: cf, base: base, context: copyContext(t), args: map[string]string{"H": host}, layers: 8}.mustBuild(t)
	assertEmpty(t, host)
	rel := strings.TrimPrefix(host, "/")
	want{
		files: map[string]string{
			rel + "/heredoc": "x\n", rel + "/copied": "A\n", rel + "/sub/a.txt": "A\n",
			rel + "/added/top/f": "F\n", rel + "/ran": "x", rel + "/ran2": "x",
		},
		dirs: []string{rel + "/wd", rel + "/wd2"},
	}.check(t, b)
}

// TestAddArchiveStaysInDest feeds ADD crafted archives.
func TestAddArchiveStaysInDest(t *testing.T) {
	host := hostDir(t)
	rel := strings.TrimPrefix(host, "/")
	for _, tt := range []struct {
		name    string
		entries []tarEntry
		wantErr string
		want    want
	}{{
		name:    "dot-dot",
		entries: []tarEntry{{name: "../../../../../../.." + host + "/f", body: "x", typ: tar.TypeReg, mode: 0o644}},
		wantErr: `".." component`,
	}, {
		name:    "absolute name lands under the destination",
		entries: []tarEntry{{name: host + "/abs", body: "x", typ: tar.TypeReg, mode: 0o644}},
		want:    want{files: map[string]string{"x/" + rel + "/abs": "x"}},
	}, {
		name: "link out of the root, then a file through it",
		entries: []tarEntry{
			{name: "l", link: host, typ: tar.TypeSymlink, mode: 0o777},
			{name: "l/f", body: "x", typ: tar.TypeReg, mode: 0o644},
		},
		want: want{links: map[string]string{"x/l": host}, files: map[string]string{rel + "/f": "x"}},
	}, {
		name: "relative link out of the root, then a file through it",
		entries: []tarEntry{
			{name: "r", link: "../../../../../../../../..", typ: tar.TypeSymlink, mode: 0o777},
			{name: "r" + host + "/f", body: "x", typ: tar.TypeReg, mode: 0o644},
		},
		want: want{files: map[string]string{rel + "/f": "x"}},
	}, {
		name:    "hard link out of the root",
		entries: []tarEntry{{name: "h", link: "../../../../../../etc/passwd", typ: tar.TypeLink}},
		wantErr: `".." component`,
	}, {
		name:    "device node",
		entries: []tarEntry{{name: "null", typ: tar.TypeChar, mode: 0o666}},
		wantErr: "device node",
	}} {
		t.Run(tt.name, func(t *testing.T) {
			ctx := tree{"evil.tar.gz": {data: string(tgz(t, tt.entries...)), mode: 0o644}}
			b := stageTest{containerfile: "FROM stagex/core-base AS test\n\nADD evil.tar.gz /x/\n", context: ctx, base: lightBase(t), layers: 1}.build(t)
			assertEmpty(t, host)
			if tt.wantErr != "" {
				if b.err == nil {
					t.Fatalf("Build succeeded, want an error saying %q", tt.wantErr)
				}
				for _, s := range []string{tt.wantErr, "Containerfile:3:", "ADD evil.tar.gz /x/"} {
					if !strings.Contains(b.err.Error(), s) {
						t.Errorf("error %q does not say %q", b.err, s)
					}
				}
				b.assertNoOutput(t)
				return
			}
			if b.err != nil {
				t.Fatal(b.err)
			}
			tt.want.check(t, b)
		})
	}
}

// TestCraftedBaseImage gives Build base images whose layers try to reach
// out of the root. They fail cleanly or land inside the root.
func TestCraftedBaseImage(t *testing.T) {
	requireSandbox(t)
	host := hostDir(t)
	for _, tt := range []struct {
		name    string
		entries []tarEntry
		wantErr string
		check   string // a path a RUN step must read as "ok:x"
	}{{
		name:    "dot-dot",
		entries: []tarEntry{{name: "../../../../../../.." + host + "/f", body: "x", typ: tar.TypeReg, mode: 0o644}},
		wantErr: `".." component`,
	}, {
		name:    "absolute name",
		entries: []tarEntry{{name: host + "/abs", body: "x", typ: tar.TypeReg, mode: 0o644}},
		check:   host + "/abs",
	}, {
		name: "absolute link, then a file through it",
		entries: []tarEntry{
			{name: "esc", link: host, typ: tar.TypeSymlink, mode: 0o777},
			{name: "esc/f", body: "x", typ: tar.TypeReg, mode: 0o644},
		},
		check: host + "/f",
	}, {
		name: "relative link, then a file through it",
		entries: []tarEntry{
			{name: "esc", link: "../../../../../../../../../../..", typ: tar.TypeSymlink, mode: 0o777},
			{name: "esc" + host + "/f", body: "x", typ: tar.TypeReg, mode: 0o644},
		},
		check: host + "/f",
	}, {
		name:    "hard link climbing out",
		entries: []tarEntry{{name: "h", link: "../../../../../../../etc/passwd", typ: tar.TypeLink}},
		wantErr: `".." component`,
	}, {
		name: "absolute hard link is to the root's file",
		entries: []tarEntry{
			{name: host + "/t", body: "x", typ: tar.TypeReg, mode: 0o644},
			{name: "h", link: host + "/t", typ: tar.TypeLink},
		},
		check: "/h",
	}, {
		name:    "character device",
		entries: []tarEntry{{name: "dev-null", typ: tar.TypeChar, mode: 0o666}},
		wantErr: "device node",
	}, {
		name:    "block device",
		entries: []tarEntry{{name: "disk", typ: tar.TypeBlock, mode: 0o660}},
		wantErr: "device node",
	}} {
		t.Run(tt.name, func(t *testing.T) {
			crafted := rawLayer(t, t.TempDir(), makeTar(t, tt.entries...))
			base := withBase(t, crafted)
			cf := "FROM stagex/core-base AS test\nRUN probe write ran /ran x\n"
			layers := 1
			if tt.check != "" {
				cf += "RUN probe read check " + tt.check + "\n"
				layers++
			}
			b := stageTest{containerfile: cf, base: base, layers: layers}.build(t)
			assertEmpty(t, host)
			if tt.wantErr != "" {
				if b.err == nil {
					t.Fatalf("Build succeeded, want an error saying %q", tt.wantErr)
				}
				for _, s := range []string{tt.wantErr, crafted.Digest} {
					if !strings.Contains(b.err.Error(), s) {
						t.Errorf("error %q does not say %q", b.err, s)
					}
				}
				if strings.Contains(b.log, "#1 RUN") {
					t.Errorf("a RUN step ran on a base that failed to unpack:\n%s", b.log)
				}
				b.assertNoOutput(t)
				return
			}
			if b.err != nil {
				t.Fatal(b.err)
			}
			if got := b.result(t, "check"); got != "ok:x" {
				t.Errorf("reading %s in the stage: %q, want ok:x", tt.check, got)
			}
		})
	}
}

// TestBrokenBaseLayout gives Build base layouts that are damaged. Each
// damage returns what the error must say. The layer holds a file of
// random bytes, so that its blob is larger than what Apply reads ahead:
// a damaged gzip header makes Apply fail long before the end of the blob,
// and the digest mismatch must still be what the error says.
func TestBrokenBaseLayout(t *testing.T) {
	// corrupt changes the byte at index i (negative: from the end) of
	// the layer blob, keeping its length: the error names the file and
	// shows the digest the manifest gives and the one the file has.
	noise := make([]byte, 512<<10)
	rand.NewChaCha8([32]byte{1}).Read(noise)
	corrupt := func(i int) func(t *testing.T, layout string, l ociimage.Layer) []string {
		return func(t *testing.T, layout string, l ociimage.Layer) []string {
			data := readBlob(t, layout, l)
			if i < 0 {
				i += len(data)
			}
			data[i] ^= 0x55
			replaceBlob(t, layout, l, data)
			return []string{blobPath(layout, l), "expected " + l.Digest, "got " + sha256Of(data)}
		}
	}
	// sizeProblem is what the error says when the blob has n bytes
	// instead of the manifest's.
	sizeProblem := func(layout string, l ociimage.Layer, n int) []string {
		return []string{blobPath(layout, l), "size mismatch", fmt.Sprintf("expected %d bytes, the file has %d", l.Size, n)}
	}
	for _, tt := range []struct {
		name   string
		damage func(t *testing.T, layout string, l ociimage.Layer) []string
	}{{
		name:   "layer blob corrupted in its gzip header",
		damage: corrupt(0),
	}, {
		name:   "layer blob corrupted near the start",
		damage: corrupt(200),
	}, {
		name:   "layer blob corrupted in the middle",
		damage: corrupt(len(noise) / 2),
	}, {
		name:   "layer blob corrupted in its last byte",
		damage: corrupt(-1),
	}, {
		name: "layer blob replaced",
		damage: func(t *testing.T, layout string, l ociimage.Layer) []string {
			other := rawLayer(t, t.TempDir(), makeTar(t, tarEntry{name: "evil", body: "y", typ: tar.TypeReg, mode: 0o644}))
			data, err := os.ReadFile(other.Path)
			if err != nil {
				t.Fatal(err)
			}
			if len(data) == int(l.Size) {
				t.Fatalf("the replacement has the length of the layer (%d bytes): change it", len(data))
			}
			replaceBlob(t, layout, l, data)
			return sizeProblem(layout, l, len(data))
		},
	}, {
		name: "layer blob truncated",
		damage: func(t *testing.T, layout string, l ociimage.Layer) []string {
			data := readBlob(t, layout, l)
			replaceBlob(t, layout, l, data[:len(data)/2])
			return sizeProblem(layout, l, len(data)/2)
		},
	}, {
		name: "layer blob with bytes appended",
		damage: func(t *testing.T, layout string, l ociimage.Layer) []string {
			data := append(readBlob(t, layout, l), 0)
			replaceBlob(t, layout, l, data)
			return sizeProblem(layout, l, len(data))
		},
	}, {
		name: "layer blob missing",
		damage: func(t *testing.T, layout string, l ociimage.Layer) []string {
			if err := os.Remove(blobPath(layout, l)); err != nil {
				t.Fatal(err)
			}
			return []string{blobPath(layout, l), "no such file"}
		},
	}, {
		name: "index.json garbage",
		damage: func(t *testing.T, layout string, l ociimage.Layer) []string {
			p := filepath.Join(layout, "index.json")
			os.Chmod(p, 0o644)
			if err := os.WriteFile(p, []byte("{not json"), 0o644); err != nil {
				t.Fatal(err)
			}
			return []string{"index.json"}
		},
	}} {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			l := rawLayer(t, dir, makeTar(t, tarEntry{name: "etc/", typ: tar.TypeDir, mode: 0o755}, tarEntry{name: "etc/f", body: "x", typ: tar.TypeReg, mode: 0o644},
				tarEntry{name: "etc/noise", body: string(noise), typ: tar.TypeReg, mode: 0o644}))
			if l.Size < 2*64<<10 {
				t.Fatalf("the layer blob has only %d bytes", l.Size)
			}
			layout := writeLayout(t, dir, []ociimage.Layer{l}, ociimage.Config{})
			want := tt.damage(t, layout, l)
			b := stageTest{containerfile: "FROM stagex/core-base AS test\nCOPY <<EOF /new\nn\nEOF\n", base: layout}.build(t)
			if strings.Contains(b.log, "#1 COPY") {
				t.Errorf("a step ran on a base that failed to unpack:\n%s", b.log)
			}
			if b.err == nil {
				t.Fatal("Build succeeded on a damaged base layout")
			}
			for _, w := range want {
				if !strings.Contains(b.err.Error(), w) {
					t.Errorf("error %q does not say %q", b.err, w)
				}
			}
			t.Logf("the build failed as it should: %v", b.err)
			b.assertNoOutput(t)
		})
	}
}

func readBlob(t *testing.T, layout string, l ociimage.Layer) []byte {
	t.Helper()
	data, err := os.ReadFile(blobPath(layout, l))
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func blobPath(layout string, l ociimage.Layer) string {
	return filepath.Join(layout, "blobs", "sha256", strings.TrimPrefix(l.Digest, "sha256:"))
}

func replaceBlob(t *testing.T, layout string, l ociimage.Layer, data []byte) {
	t.Helper()
	p := blobPath(layout, l)
	if err := os.Remove(p); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, data, 0o444); err != nil {
		t.Fatal(err)
	}
}

// TestFailuresLeaveNoOutput checks the message and the outputs of builds
// that fail, at each kind of step.
func TestFailuresLeaveNoOutput(t *testing.T) {
	requireSandbox(t)
	for _, tt := range []struct {
		name  string
		cf    string // after "FROM ...\n" (line 1) and "COPY a.txt /a\n" (line 2)
		line  int
		want  []string
		avoid []string
	}{{
		name: "RUN exits non-zero",
		cf:   `RUN ["/bin/probe", "fail", "3", "30"]`,
		line: 3,
		want: []string{`RUN ["/bin/probe", "fail", "3", "30"]`, "exited with status 3",
			"output line 26", "output line 30", "unfinished last line"},
		avoid: []string{"output line 25"},
	}, {
		name: "a line of a heredoc script fails",
		cf:   "RUN <<EOF\nprobe write w /w x\nprobe fail 4 1\nprobe write never /never x\nEOF",
		line: 3,
		want: []string{"RUN <<EOF", "exited with status 4", "output line 1", "write w: ok"},
	}, {
		name: "RUN of a missing command",
		cf:   `RUN ["/bin/missing"]`,
		line: 3,
		want: []string{"/bin/missing"},
	}, {
		name: "RUN as an unknown user",
		cf:   "USER nosuchuser\nRUN probe true",
		line: 4,
		want: []string{"nosuchuser"},
	}, {
		name: "RUN --network=host",
		cf:   "RUN --network=host probe true",
		line: 3,
		want: []string{"not allowed", "network"},
	}, {
		name: "RUN --mount",
		cf:   "RUN --mount=type=cache,target=/c probe true",
		line: 3,
		want: []string{"--mount is not supported"},
	}, {
		name: "RUN --security=insecure",
		cf:   "RUN --security=insecure probe true",
		line: 3,
		want: []string{"not allowed"},
	}, {
		name: "COPY of a file not in the context",
		cf:   "RUN probe true\nCOPY missing.txt /m",
		line: 4,
		want: []string{"missing.txt", "no such file in the build context"},
	}, {
		name: "COPY --from=fetch of a file not fetched",
		cf:   "COPY --from=fetch missing.tar /m",
		line: 3,
		want: []string{"fetch/missing.tar", "no such file in the build context"},
	}, {
		name: "COPY --from=fetch cannot reach the context above fetch/",
		cf:   "COPY --from=fetch ../a.txt /m",
		line: 3,
		want: []string{"fetch/a.txt", "no such file in the build context"},
	}, {
		name: "COPY of a wildcard in a directory not in the context",
		cf:   "COPY nodir/*.patch /m/",
		line: 3,
		want: []string{"nodir/*.patch", "no such file in the build context"},
	}, {
		name: "COPY of a wildcard in a directory not in the context",
		cf:   "COPY nodir/*.patch /m/",
		line: 3,
		want: []string{"nodir/*.patch", "no such file in the build context"},
	}, {
		name: "COPY of a wildcard in fetch/ with nothing fetched",
		cf:   "COPY fetch/*.patch /m/",
		line: 3,
		want: []string{"fetch/*.patch", "no such file in the build context"},
	}, {
		name: "ADD of a URL",
		cf:   "ADD https://example.com/x.tar.gz /x/",
		line: 3,
		want: []string{"URL is not allowed"},
	}, {
		name: "COPY --from an image not given",
		cf:   "COPY --from=stagex/core-absent /x /x",
		line: 3,
		want: []string{"stagex/core-absent", "was not given"},
	}, {
		name: "COPY --from a path the image lacks",
		cf:   "COPY --from=stagex/core-other /nothing /x",
		line: 3,
		want: []string{"/nothing", "not found in stagex/core-other"},
	}, {
		name: "COPY --from a wildcard in a directory the image lacks",
		cf:   "COPY --from=stagex/core-other /nothing/*.a /x/",
		line: 3,
		want: []string{"/nothing/*.a", "matches nothing in stagex/core-other"},
	}, {
		name: "COPY --chown with names",
		cf:   "COPY --chown=builder:builder a.txt /b",
		line: 3,
		want: []string{"--chown=builder:builder", "numeric"},
	}} {
		t.Run(tt.name, func(t *testing.T) {
			other := lightBase(t)
			st := stageTest{
				containerfile: "FROM stagex/core-base AS test\nCOPY a.txt /a\n" + tt.cf + "\n",
				context:       tree{"a.txt": {data: "A\n", mode: 0o644}},
				images:        map[string]string{"stagex/core-other": other},
				tail:          5,
			}
			b := st.build(t)
			if b.err == nil {
				t.Fatal("Build succeeded")
			}
			msg := b.err.Error()
			want := append([]string{b.opts.Containerfile + ":" + strconv.Itoa(tt.line) + ":"}, tt.want...)
			for _, s := range want {
				if !strings.Contains(msg, s) {
					t.Errorf("error does not say %q:\n%s", s, msg)
				}
			}
			for _, s := range tt.avoid {
				if strings.Contains(msg, s) {
					t.Errorf("error says %q, beyond the last lines kept:\n%s", s, msg)
				}
			}
			b.assertNoOutput(t)
		})
	}
}

// TestFailureRemovesStaleOutput runs a failing build where an earlier
// build left an image and digest: neither may survive.
func TestFailureRemovesStaleOutput(t *testing.T) {
	requireSandbox(t)
	st := stageTest{containerfile: "FROM stagex/core-base AS test\nRUN probe write w /w x\n"}
	ok := st.mustBuild(t)
	o := ok.opts
	o.Containerfile = filepath.Join(t.TempDir(), "Containerfile")
	if err := os.WriteFile(o.Containerfile, []byte("FROM stagex/core-base AS test\nRUN probe fail 1 1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	err := Build(context.Background(), o)
	if err == nil {
		t.Fatal("Build succeeded")
	}
	built{opts: o, err: err}.assertNoOutput(t)
}

// TestCancelStopsRun cancels a build while a RUN step sleeps.
func TestCancelStopsRun(t *testing.T) {
	requireSandbox(t)
	dir := t.TempDir()
	cf := filepath.Join(dir, "Containerfile")
	if err := os.WriteFile(cf, []byte("FROM stagex/core-base AS test\nRUN probe sleep 60s\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	base, _ := sharedBase(t)
	o := Options{Containerfile: cf, Stage: "test", Platform: "linux/amd64", Base: base,
		Out: filepath.Join(dir, "out.oci"), DigestOut: filepath.Join(dir, "out.digest"), WorkDir: dir}
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	start := time.Now()
	err := Build(ctx, o)
	if err == nil {
		t.Fatal("Build succeeded")
	}
	if !errors.Is(err, context.DeadlineExceeded) && !strings.Contains(err.Error(), "deadline") && !strings.Contains(err.Error(), "killed") {
		t.Errorf("error %q does not say the build was stopped", err)
	}
	if d := time.Since(start); d > 20*time.Second {
		t.Errorf("Build took %v after its context ended", d)
	}
	built{opts: o, err: err}.assertNoOutput(t)
	ents, _ := os.ReadDir(dir)
	for _, e := range ents {
		if e.Name() != "Containerfile" {
			t.Errorf("scratch left behind: %s", e.Name())
		}
	}
}

// TestStepTimeout checks that a RUN step that outlives the stage's step
// timeout is ended, with every process it started, and fails the build
// naming the step, its line and the limit; a step within it is unaffected.
func TestStepTimeout(t *testing.T) {
	requireSandbox(t)
	cf := "FROM stagex/core-base AS test\nRUN probe write w /first x\nRUN probe sleep 1h\n"
	start := time.Now()
	b := stageTest{containerfile: cf, stepTimeout: time.Second}.build(t)
	if took := time.Since(start); took > 30*time.Second {
		t.Errorf("the build took %v; the step should have ended after 1s", took)
	}
	if b.err == nil {
		t.Fatal("a step sleeping an hour passed a 1s step timeout")
	}
	for _, w := range []string{"step 2 (", "Containerfile:3) exceeded 1s", "RUN probe sleep 1h"} {
		if !strings.Contains(b.err.Error(), w) {
			t.Errorf("error %q does not say %q", b.err, w)
		}
	}
	if _, err := os.Stat(b.opts.Out); err == nil {
		t.Errorf("a failed build left %s", b.opts.Out)
	}
	ok := stageTest{containerfile: "FROM stagex/core-base AS test\nRUN probe sleep 10ms\n", stepTimeout: 20 * time.Second, layers: 1}.build(t)
	if ok.err != nil {
		t.Errorf("a step within its timeout failed: %v", ok.err)
	}
}

// TestProcessLimit checks that a RUN step that starts processes without
// bound (a fork bomb, bounded here) fails at the stage's process limit
// with the error the fork gave, under Bazel's single-id mode too, and
// that the default limit lets a step start many.
func TestProcessLimit(t *testing.T) {
	requireSandbox(t)
	if !sandbox.ProcessLimitEnforced() {
		t.Skip("skipping: this kernel keeps pid_max for the whole machine (per pid namespace since Linux 6.14), so there is no process limit")
	}
	for _, single := range []bool{false, true} {
		t.Run(fmt.Sprintf("singleID=%v", single), func(t *testing.T) {
			cf := "FROM stagex/core-base AS test\nRUN probe spawn 600\n"
			b := stageTest{containerfile: cf, maxProcesses: 300, singleID: single}.build(t)
			if b.err == nil {
				t.Fatal("a step starting 600 processes passed a limit of 300")
			}
			for _, w := range []string{"Containerfile:2: RUN probe spawn 600 failed", "near the process limit of 300", "resource temporarily unavailable"} {
				if !strings.Contains(b.err.Error(), w) {
					t.Errorf("error %q does not say %q", b.err, w)
				}
			}
			t.Logf("the build failed as it should: %v", b.err)
			b.assertNoOutput(t)
		})
	}
	ok := stageTest{containerfile: "FROM stagex/core-base AS test\nRUN probe spawn 100\n", singleID: true, layers: 1}.build(t)
	if ok.err != nil {
		t.Errorf("100 processes under the default limit: %v", ok.err)
	}
}
