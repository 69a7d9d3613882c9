package stagebuild

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stagex/stagex-bazel/tools/ociimage"
)

// want describes what a built image's new layer must hold.
type want struct {
	files   map[string]string      // path -> content of a regular file
	modes   map[string]os.FileMode // path -> permission bits
	dirs    []string               // directories
	links   map[string]string      // path -> symbolic link target
	owners  map[string][2]int      // path -> uid, gid
	absent  []string               // paths the layer must not hold
	noLayer bool                   // the image is its base, unchanged
}

func (w want) check(t *testing.T, b built) {
	t.Helper()
	if w.noLayer {
		got, err := ociimage.BaseLayers(b.opts.Out)
		if err != nil {
			t.Fatal(err)
		}
		base, err := ociimage.BaseLayers(b.opts.Base)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, layersAt(base, b.opts.Out)) {
			t.Errorf("layers = %v, want the base's %v", got, base)
		}
		return
	}
	top := b.topLayer(t)
	for p, data := range w.files {
		e, ok := top[p]
		switch {
		case !ok:
			t.Errorf("%s: not in the layer (layer holds %v)", p, names(top))
		case e.hdr.Typeflag != tar.TypeReg:
			t.Errorf("%s: type %q, want a regular file", p, e.hdr.Typeflag)
		case e.data != data:
			t.Errorf("%s: content %q, want %q", p, e.data, data)
		}
	}
	for p, m := range w.modes {
		if e, ok := top[p]; !ok {
			t.Errorf("%s: not in the layer", p)
		} else if got := os.FileMode(e.hdr.Mode & 0o7777); got != m {
			t.Errorf("%s: mode %04o, want %04o", p, got, m)
		}
	}
	for _, p := range w.dirs {
		if e, ok := top[p]; !ok || e.hdr.Typeflag != tar.TypeDir {
			t.Errorf("%s: not a directory in the layer", p)
		}
	}
	for p, target := range w.links {
		if e, ok := top[p]; !ok || e.hdr.Typeflag != tar.TypeSymlink || e.hdr.Linkname != target {
			t.Errorf("%s: want a symbolic link to %s", p, target)
		}
	}
	for p, o := range w.owners {
		if e, ok := top[p]; !ok {
			t.Errorf("%s: not in the layer", p)
		} else if e.hdr.Uid != o[0] || e.hdr.Gid != o[1] {
			t.Errorf("%s: owner %d:%d, want %d:%d", p, e.hdr.Uid, e.hdr.Gid, o[0], o[1])
		}
	}
	for _, p := range w.absent {
		if _, ok := top[p]; ok {
			t.Errorf("%s: in the layer, want it absent", p)
		}
	}
	// Whatever the step did, the layer is normalised.
	for p, e := range top {
		if e.hdr.ModTime.After(time.Unix(1, 0)) {
			t.Errorf("%s: mtime %v, want clamped to SOURCE_DATE_EPOCH=1", p, e.hdr.ModTime)
		}
		if e.hdr.Uname != "" || e.hdr.Gname != "" {
			t.Errorf("%s: user/group names %q/%q written", p, e.hdr.Uname, e.hdr.Gname)
		}
	}
}

// layersAt is base with each file where a copy of the layer sits in out.
func layersAt(base []ociimage.Layer, out string) []ociimage.Layer {
	var r []ociimage.Layer
	for _, l := range base {
		l.Path = filepath.Join(out, "blobs", "sha256", strings.TrimPrefix(l.Digest, "sha256:"))
		r = append(r, l)
	}
	return r
}

func names(m map[string]layerEntry) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// copyContext is the build context the COPY and ADD cases draw from.
func copyContext(t *testing.T) tree {
	return tree{
		"a.txt":       {data: "A\n", mode: 0o644},
		"b.txt":       {data: "B\n", mode: 0o644},
		"c.md":        {data: "C\n", mode: 0o644},
		"exe.sh":      {data: "#!/bin/sh\n", mode: 0o755},
		"dir/x":       {data: "X\n", mode: 0o644},
		"dir/sub/y":   {data: "Y\n", mode: 0o600},
		"dir/link":    {link: "x"},
		"arch.tar.gz": {data: string(tgz(t, tarEntry{name: "top/", typ: tar.TypeDir, mode: 0o755}, tarEntry{name: "top/f", body: "F\n", typ: tar.TypeReg, mode: 0o640}, tarEntry{name: "top/l", link: "f", typ: tar.TypeSymlink, mode: 0o777})), mode: 0o644},
		"arch.tar":    {data: string(makeTar(t, tarEntry{name: "plain/g", body: "G\n", typ: tar.TypeReg, mode: 0o644})), mode: 0o644},
		"notar.gz":    {data: string(gzipped(t, "just text\n")), mode: 0o644},
	}
}

func gzipped(t *testing.T, s string) []byte {
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	zw.Write([]byte(s))
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func TestCopyAndAdd(t *testing.T) {
	ctx := copyContext(t)
	for _, tt := range []struct {
		name string
		cf   string
		want want
	}{{
		name: "file into directory",
		cf:   "COPY a.txt /dst/",
		want: want{files: map[string]string{"dst/a.txt": "A\n"}, modes: map[string]os.FileMode{"dst/a.txt": 0o644}, dirs: []string{"dst"}},
	}, {
		name: "file to a new name",
		cf:   "COPY a.txt /dst/renamed",
		want: want{files: map[string]string{"dst/renamed": "A\n"}, absent: []string{"dst/a.txt"}},
	}, {
		name: "file into an existing directory named without slash",
		cf:   "COPY a.txt /base/dir",
		want: want{files: map[string]string{"base/dir/a.txt": "A\n"}},
	}, {
		name: "file to a relative destination under WORKDIR",
		cf:   "WORKDIR /w\nCOPY a.txt rel.txt",
		want: want{files: map[string]string{"w/rel.txt": "A\n"}},
	}, {
		name: "directory contents, not the directory",
		cf:   "COPY dir /d2/",
		want: want{
			// Context files reach the build as links into Bazel's
			// tree, so a link is copied as the file it points to.
			files: map[string]string{"d2/x": "X\n", "d2/sub/y": "Y\n", "d2/link": "X\n"},
			// Their modes are normalised as Git records them.
			modes:  map[string]os.FileMode{"d2/sub/y": 0o644, "d2/x": 0o644},
			absent: []string{"d2/dir", "d2/dir/x"},
		},
	}, {
		name: "glob",
		cf:   "COPY *.txt /g/",
		want: want{files: map[string]string{"g/a.txt": "A\n", "g/b.txt": "B\n"}, absent: []string{"g/c.md", "g/exe.sh"}},
	}, {
		name: "several sources",
		cf:   "COPY a.txt c.md /multi/",
		want: want{files: map[string]string{"multi/a.txt": "A\n", "multi/c.md": "C\n"}},
	}, {
		name: "whole context",
		cf:   "COPY . /all/",
		want: want{files: map[string]string{"all/a.txt": "A\n", "all/dir/x": "X\n", "all/dir/sub/y": "Y\n"}},
	}, {
		name: "keeps the executable bit",
		cf:   "COPY exe.sh /m/",
		want: want{modes: map[string]os.FileMode{"m/exe.sh": 0o755}},
	}, {
		name: "--chmod on a file",
		cf:   "COPY --chmod=0600 exe.sh /m/",
		want: want{modes: map[string]os.FileMode{"m/exe.sh": 0o600}},
	}, {
		name: "--chmod on a directory's files",
		cf:   "COPY --chmod=750 dir /cd/",
		want: want{modes: map[string]os.FileMode{"cd/x": 0o750, "cd/sub/y": 0o750}},
	}, {
		name: "--chown",
		cf:   "COPY --chown=1000:1000 a.txt /own/",
		want: want{owners: map[string][2]int{"own/a.txt": {1000, 1000}}},
	}, {
		name: "--chown uid only",
		cf:   "COPY --chown=7 a.txt /own/",
		want: want{owners: map[string][2]int{"own/a.txt": {7, 7}}},
	}, {
		name: "heredoc",
		cf:   "COPY <<EOF /etc/h.conf\nkey=value\nline two\nEOF",
		want: want{files: map[string]string{"etc/h.conf": "key=value\nline two\n"}, modes: map[string]os.FileMode{"etc/h.conf": 0o644}},
	}, {
		name: "heredoc with --chmod",
		cf:   "COPY --chmod=0755 <<EOF /usr/bin/tool\n#!/bin/sh\nEOF",
		want: want{modes: map[string]os.FileMode{"usr/bin/tool": 0o755}},
	}, {
		name: "ADD unpacks a local tar.gz",
		cf:   "ADD arch.tar.gz /x/",
		want: want{
			files:  map[string]string{"x/top/f": "F\n"},
			modes:  map[string]os.FileMode{"x/top/f": 0o640},
			links:  map[string]string{"x/top/l": "f"},
			absent: []string{"x/arch.tar.gz"},
		},
	}, {
		name: "ADD unpacks a plain tar",
		cf:   "ADD arch.tar /x/",
		want: want{files: map[string]string{"x/plain/g": "G\n"}, absent: []string{"x/arch.tar"}},
	}, {
		name: "ADD copies a file that is not an archive",
		cf:   "ADD a.txt /p/",
		want: want{files: map[string]string{"p/a.txt": "A\n"}},
	}, {
		name: "ADD copies gzip data that is not a tar",
		cf:   "ADD notar.gz /p/",
		want: want{files: map[string]string{"p/notar.gz": string(gzipped(t, "just text\n"))}},
	}, {
		name: "COPY does not unpack",
		cf:   "COPY arch.tar.gz /c/",
		want: want{files: map[string]string{"c/arch.tar.gz": ctx["arch.tar.gz"].data}, absent: []string{"c/top/f"}},
	}, {
		name: "WORKDIR is created",
		cf:   "WORKDIR /w/x/y",
		want: want{dirs: []string{"w", "w/x", "w/x/y"}},
	}, {
		name: "configuration only: no new layer",
		cf:   "ENV A=1\nLABEL l=v\nUSER 1000",
		want: want{noLayer: true},
	}} {
		t.Run(tt.name, func(t *testing.T) {
			b := stageTest{containerfile: "FROM stagex/core-base AS test\n" + tt.cf + "\n", context: ctx, base: lightBase(t)}.mustBuild(t)
			tt.want.check(t, b)
		})
	}
}

func TestCopyFromImage(t *testing.T) {
	dir := t.TempDir()
	other := writeLayout(t, dir, []ociimage.Layer{treeLayer(t, dir, tree{
		"usr/lib/libx.so":   {data: "lib\n", mode: 0o755},
		"usr/lib/libx.so.1": {link: "libx.so"},
		"usr/share/doc/r":   {data: "readme\n", mode: 0o644},
		"opt/t/a":           {data: "a\n", mode: 0o644},
		"lib64":             {link: "usr/lib"},
	})}, ociimage.Config{})
	images := map[string]string{"stagex/core-other": other}
	for _, tt := range []struct {
		name, cf string
		want     want
	}{{
		name: "file",
		cf:   "COPY --from=stagex/core-other /usr/lib/libx.so /lib/",
		want: want{files: map[string]string{"lib/libx.so": "lib\n"}, modes: map[string]os.FileMode{"lib/libx.so": 0o755}},
	}, {
		name: "a symbolic link named as the source is followed and keeps its name",
		cf:   "COPY --from=stagex/core-other /usr/lib/libx.so.1 /lib/",
		want: want{files: map[string]string{"lib/libx.so.1": "lib\n"}, absent: []string{"lib/libx.so"}},
	}, {
		name: "a file reached through a linked directory",
		cf:   "COPY --from=stagex/core-other /lib64/libx.so /l/",
		want: want{files: map[string]string{"l/libx.so": "lib\n"}},
	}, {
		name: "a symbolic link inside a copied directory stays a link",
		cf:   "COPY --from=stagex/core-other /usr/lib /ul/",
		want: want{links: map[string]string{"ul/libx.so.1": "libx.so"}, files: map[string]string{"ul/libx.so": "lib\n"}},
	}, {
		name: "directory contents",
		cf:   "COPY --from=stagex/core-other /usr /u",
		want: want{files: map[string]string{"u/lib/libx.so": "lib\n", "u/share/doc/r": "readme\n"}, absent: []string{"u/usr"}},
	}, {
		name: "whole image",
		cf:   "COPY --from=stagex/core-other . /",
		want: want{files: map[string]string{"opt/t/a": "a\n", "usr/share/doc/r": "readme\n"}},
	}, {
		name: "glob",
		cf:   "COPY --from=stagex/core-other /usr/lib/libx.* /g/",
		want: want{files: map[string]string{"g/libx.so": "lib\n"}, links: map[string]string{"g/libx.so.1": "libx.so"}},
	}} {
		t.Run(tt.name, func(t *testing.T) {
			b := stageTest{containerfile: "FROM stagex/core-base AS test\n" + tt.cf + "\n", images: images, base: lightBase(t)}.mustBuild(t)
			tt.want.check(t, b)
		})
	}
}

func TestImageConfig(t *testing.T) {
	cf := `FROM stagex/core-base AS test
ARG NOT_KEPT=1
ENV A=1 B="two words"
ENV PATH=/opt/bin:$PATH
WORKDIR /srv
WORKDIR app
USER 1000:1000
LABEL org.example.l=v
ENTRYPOINT ["/bin/probe"]
CMD ["true"]
`
	b := stageTest{containerfile: cf, args: map[string]string{"VERSION": "1.2.3"}, base: lightBase(t)}.mustBuild(t)
	c, err := ociimage.BaseConfig(b.opts.Out)
	if err != nil {
		t.Fatal(err)
	}
	wantEnv := []string{"PATH=/opt/bin:/bin", "A=1", "B=two words"}
	for _, e := range wantEnv {
		if !slices.Contains(c.Env, e) {
			t.Errorf("Env %q lacks %q", c.Env, e)
		}
	}
	for _, e := range c.Env {
		if strings.HasPrefix(e, "NOT_KEPT=") || strings.HasPrefix(e, "SOURCE_DATE_EPOCH=") {
			t.Errorf("Env has %q: build arguments and the fixed RUN variables stay out of the image", e)
		}
	}
	checks := []struct{ what, got, want string }{
		{"User", c.User, "1000:1000"},
		{"WorkingDir", c.WorkingDir, "/srv/app"},
		{"OS", c.OS, "linux"},
		{"Label", c.Labels["org.example.l"], "v"},
		{"Entrypoint", strings.Join(c.Entrypoint, " "), "/bin/probe"},
		{"Cmd", strings.Join(c.Cmd, " "), "true"},
	}
	for _, ck := range checks {
		if ck.got != ck.want {
			t.Errorf("%s = %q, want %q", ck.what, ck.got, ck.want)
		}
	}
	img, err := ociimage.ReadImage(b.opts.Out)
	if err != nil {
		t.Fatal(err)
	}
	m, err := img.Manifest()
	if err != nil {
		t.Fatal(err)
	}
	if v := m.Annotations[ociimage.AnnotationVersion]; v != "1.2.3" {
		t.Errorf("version annotation %q, want 1.2.3 (from the VERSION build argument)", v)
	}
	// WORKDIR made the directories.
	want{dirs: []string{"srv", "srv/app"}}.check(t, b)
}

func TestRunChangesBecomeTheLayer(t *testing.T) {
	requireSandbox(t)
	for _, tt := range []struct {
		name, cf string
		want     want
	}{{
		name: "exec form writes a file",
		cf:   `RUN ["/bin/probe", "write", "w", "/new.txt", "made"]`,
		want: want{files: map[string]string{"new.txt": "made", "results/w": "ok"}, owners: map[string][2]int{"new.txt": {0, 0}}},
	}, {
		name: "shell form",
		cf:   `RUN probe write w /new.txt made`,
		want: want{files: map[string]string{"new.txt": "made"}},
	}, {
		name: "heredoc",
		cf:   "RUN <<EOF\nset -eu\nprobe write w1 /one one\nprobe write w2 /two two\nEOF",
		want: want{files: map[string]string{"one": "one", "two": "two"}},
	}, {
		name: "heredoc with a shebang runs the script itself",
		cf:   "RUN <<EOF\n#!/bin/sh\nprobe write w /sb shebang\nEOF",
		want: want{files: map[string]string{"sb": "shebang"}, absent: []string{".stagex-run-1", ".stagex-run-1/script"}},
	}, {
		name: "deleting a base file leaves a whiteout",
		cf:   `RUN ["/bin/probe", "rm", "r", "/base/gone.txt"]`,
		want: want{files: map[string]string{"base/.wh.gone.txt": ""}, absent: []string{"base/keep.txt", "base/gone.txt"}},
	}, {
		name: "deleting a base directory leaves one whiteout",
		cf:   `RUN ["/bin/probe", "rm", "r", "/base/dir"]`,
		want: want{files: map[string]string{"base/.wh.dir": ""}, absent: []string{"base/dir", "base/dir/inner", "base/dir/.wh.inner"}},
	}, {
		name: "WORKDIR is the working directory and exists",
		cf:   "WORKDIR /work/here\nRUN [\"/bin/probe\", \"info\", \"i\"]",
		want: want{files: map[string]string{"results/i": "host=stagex cwd=/work/here uid=0"}},
	}, {
		name: "a file made and deleted in one build leaves nothing",
		cf:   "RUN probe write w /tmpfile x\nRUN probe rm r /tmpfile",
		want: want{absent: []string{"tmpfile", ".wh.tmpfile"}},
	}, {
		name: "a base file rewritten",
		cf:   "RUN probe write w /base/keep.txt changed",
		want: want{files: map[string]string{"base/keep.txt": "changed"}, absent: []string{"base/gone.txt"}},
	}} {
		t.Run(tt.name, func(t *testing.T) {
			b := stageTest{containerfile: "FROM stagex/core-base AS test\n" + tt.cf + "\n"}.mustBuild(t)
			tt.want.check(t, b)
		})
	}
}

// TestWhiteoutHidesBaseFiles checks the whole image: after unpacking all
// layers the deleted files are gone and the others are there.
func TestWhiteoutHidesBaseFiles(t *testing.T) {
	requireSandbox(t)
	b := stageTest{containerfile: "FROM stagex/core-base AS test\nRUN probe rm a /base/gone.txt\nRUN probe rm b /base/dir\n"}.mustBuild(t)
	root := b.rootfs(t)
	for p, exists := range map[string]bool{
		"base/keep.txt": true, "base/gone.txt": false, "base/dir": false, "bin/probe": true,
	} {
		_, err := os.Lstat(filepath.Join(root, p))
		if (err == nil) != exists {
			t.Errorf("%s: exists=%v, want %v", p, err == nil, exists)
		}
	}
}

// TestRunEnvironment checks that a RUN step sees exactly the stage's
// environment plus the fixed variables, whatever the host has.
func TestRunEnvironment(t *testing.T) {
	requireSandbox(t)
	t.Setenv("STAGEX_HOST_ONLY", "leak")
	t.Setenv("SOURCE_DATE_EPOCH", "999")
	cf := "FROM stagex/core-base AS test\nARG A=from-arg\nENV B=from-env TZ=Europe/Paris\nRUN [\"/bin/probe\", \"env\", \"e\"]\n"
	b := stageTest{containerfile: cf}.mustBuild(t)
	got := strings.Split(b.result(t, "e"), "\n")
	want := []string{"A=from-arg", "B=from-env", "LANG=C.UTF-8", "LC_ALL=C", "PATH=/bin", "SOURCE_DATE_EPOCH=1", "TZ=UTC"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("RUN environment = %q, want %q", got, want)
	}
}

// TestDeterministic builds the same stage twice with different context
// file times, scratch directories, umask and host environment: the digests
// must agree.
func TestDeterministic(t *testing.T) {
	requireSandbox(t)
	cf := "FROM stagex/core-base AS test\nWORKDIR /w/d\nCOPY a.txt dir /c/\nADD arch.tar.gz /x/\nRUN probe write w /r.txt x\n"
	ctx := copyContext(t)
	first := stageTest{containerfile: cf, context: ctx}.mustBuild(t)
	old := syscall.Umask(0o077)
	defer syscall.Umask(old)
	t.Setenv("TZ", "Asia/Tokyo")
	t.Setenv("LC_ALL", "de_DE.UTF-8")
	second := stageTest{containerfile: cf, context: ctx, ctxTime: time.Date(2020, 2, 2, 0, 0, 0, 0, time.UTC)}.mustBuild(t)
	if a, b := first.digest(t), second.digest(t); a != b {
		t.Errorf("two builds of one stage: %s and %s", a, b)
		want{modes: map[string]os.FileMode{"w": 0o755, "w/d": 0o755, "c": 0o755}}.check(t, second)
	}
}
