package stagebuild

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stagex/stagex-bazel/tools/internal/ociimage"
	"github.com/ulikunitz/xz"
)

// want describes what a built image's new layers must hold, applied in
// order over the base (see stageChanges): the net change of the stage.
type want struct {
	files   map[string]string      // path -> content of a regular file
	modes   map[string]os.FileMode // path -> permission bits
	dirs    []string               // directories
	links   map[string]string      // path -> symbolic link target
	hard    map[string]string      // path -> the path it is a hard link to
	owners  map[string][2]int      // path -> uid, gid
	absent  []string               // paths the layers must not leave
	noLayer bool                   // the image is its base's layers, unchanged
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
	top := b.stageChanges(t)
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
	for p, target := range w.hard {
		if e, ok := top[p]; !ok || e.hdr.Typeflag != tar.TypeLink || e.hdr.Linkname != target {
			t.Errorf("%s: want a hard link to %s", p, target)
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
	// Whatever the steps did, each layer is normalised.
	for i, l := range b.stageContents(t) {
		for p, e := range l {
			if e.hdr.ModTime.After(time.Unix(1, 0)) {
				t.Errorf("stage layer %d: %s: mtime %v, want clamped to SOURCE_DATE_EPOCH=1", i, p, e.hdr.ModTime)
			}
			if e.hdr.Uname != "" || e.hdr.Gname != "" {
				t.Errorf("stage layer %d: %s: user/group names %q/%q written", i, p, e.hdr.Uname, e.hdr.Gname)
			}
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
		"arch.tar.xz": {data: string(xzipped(t, string(makeTar(t, tarEntry{name: "xzd/h", body: "H\n", typ: tar.TypeReg, mode: 0o600})))), mode: 0o644},
		"v7.tar":      {data: string(v7Tar(t, "old/v", "V\n")), mode: 0o644},
		// A package's sources, as the translator gives them.
		"fetch/src.txt":   {data: "S\n", mode: 0o644},
		"fetch/p/1.patch": {data: "P\n", mode: 0o644},
	}
}

// v7Tar is a tar of one file in the format before POSIX: no "ustar" magic.
func v7Tar(t *testing.T, name, body string) []byte {
	b := makeTar(t, tarEntry{name: name, body: body, typ: tar.TypeReg, mode: 0o644})
	hdr := b[:512]
	copy(hdr[257:265], make([]byte, 8)) // magic and version
	copy(hdr[148:156], "        ")
	sum := 0
	for _, c := range hdr {
		sum += int(c)
	}
	copy(hdr[148:156], fmt.Sprintf("%06o\x00 ", sum))
	if _, err := tar.NewReader(bytes.NewReader(b)).Next(); err != nil {
		t.Fatalf("crafted v7 tar: %v", err)
	}
	return b
}

func xzipped(t *testing.T, s string) []byte {
	var b bytes.Buffer
	zw, err := xz.NewWriter(&b)
	if err != nil {
		t.Fatal(err)
	}
	zw.Write([]byte(s))
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
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
		name   string
		cf     string
		layers int // one per RUN, COPY, ADD and WORKDIR other than /
		want   want
	}{{
		name:   "file into directory",
		cf:     "COPY a.txt /dst/",
		layers: 1,
		want:   want{files: map[string]string{"dst/a.txt": "A\n"}, modes: map[string]os.FileMode{"dst/a.txt": 0o644}, dirs: []string{"dst"}},
	}, {
		name:   "file to a new name",
		cf:     "COPY a.txt /dst/renamed",
		layers: 1,
		want:   want{files: map[string]string{"dst/renamed": "A\n"}, absent: []string{"dst/a.txt"}},
	}, {
		name:   "file into an existing directory named without slash",
		cf:     "COPY a.txt /base/dir",
		layers: 1,
		want:   want{files: map[string]string{"base/dir/a.txt": "A\n"}},
	}, {
		name:   "file to a relative destination under WORKDIR",
		cf:     "WORKDIR /w\nCOPY a.txt rel.txt",
		layers: 2,
		want:   want{files: map[string]string{"w/rel.txt": "A\n"}},
	}, {
		name:   "directory contents, not the directory",
		cf:     "COPY dir /d2/",
		layers: 1,
		want: want{
			// Context files reach the build as links into Bazel's
			// tree, so a link is copied as the file it points to.
			files: map[string]string{"d2/x": "X\n", "d2/sub/y": "Y\n", "d2/link": "X\n"},
			// Their modes are normalised as Git records them.
			modes:  map[string]os.FileMode{"d2/sub/y": 0o644, "d2/x": 0o644},
			absent: []string{"d2/dir", "d2/dir/x"},
		},
	}, {
		name:   "glob",
		cf:     "COPY *.txt /g/",
		layers: 1,
		want:   want{files: map[string]string{"g/a.txt": "A\n", "g/b.txt": "B\n"}, absent: []string{"g/c.md", "g/exe.sh"}},
	}, {
		name:   "a wildcard matching a directory copies its contents",
		cf:     "COPY di* /wd/\nCOPY dir/s* /w2/",
		layers: 2,
		want: want{
			files:  map[string]string{"wd/x": "X\n", "wd/sub/y": "Y\n", "w2/y": "Y\n"},
			absent: []string{"wd/dir", "w2/sub"},
		},
	}, {
		name:   "ADD unpacks each archive a wildcard matches",
		cf:     "ADD arch.tar.* /ax/",
		layers: 1,
		want:   want{files: map[string]string{"ax/top/f": "F\n", "ax/xzd/h": "H\n"}, absent: []string{"ax/arch.tar.gz", "ax/arch.tar.xz"}},
	}, {
		name:   "COPY --from=fetch reads the package's fetch/ of the context",
		cf:     "COPY --from=fetch src.txt /f/\nCOPY --from=fetch /p/*.patch /g/\nCOPY --from=fetch . /h/",
		layers: 3,
		want: want{
			files:  map[string]string{"f/src.txt": "S\n", "g/1.patch": "P\n", "h/src.txt": "S\n", "h/p/1.patch": "P\n"},
			absent: []string{"h/fetch", "h/a.txt", "f/fetch"},
		},
	}, {
		name:   "a wildcard that matches nothing copies nothing, not even its destination",
		cf:     "COPY *.patch /np/\nCOPY dir/*.none a.txt /np2/\nCOPY --from=fetch *.patch /np3/\nADD *.zip /np4/",
		layers: 4,
		want:   want{files: map[string]string{"np2/a.txt": "A\n"}, absent: []string{"np", "np3", "np4", "np2/dir"}},
	}, {
		name:   "several sources",
		cf:     "COPY a.txt c.md /multi/",
		layers: 1,
		want:   want{files: map[string]string{"multi/a.txt": "A\n", "multi/c.md": "C\n"}},
	}, {
		name:   "whole context",
		cf:     "COPY . /all/",
		layers: 1,
		want:   want{files: map[string]string{"all/a.txt": "A\n", "all/dir/x": "X\n", "all/dir/sub/y": "Y\n"}},
	}, {
		name:   "keeps the executable bit",
		cf:     "COPY exe.sh /m/",
		layers: 1,
		want:   want{modes: map[string]os.FileMode{"m/exe.sh": 0o755}},
	}, {
		name:   "--chmod on a file",
		cf:     "COPY --chmod=0600 exe.sh /m/",
		layers: 1,
		want:   want{modes: map[string]os.FileMode{"m/exe.sh": 0o600}},
	}, {
		name:   "--chmod on a directory's files",
		cf:     "COPY --chmod=750 dir /cd/",
		layers: 1,
		want:   want{modes: map[string]os.FileMode{"cd/x": 0o750, "cd/sub/y": 0o750}},
	}, {
		name:   "--chown",
		cf:     "COPY --chown=1000:1000 a.txt /own/",
		layers: 1,
		want:   want{owners: map[string][2]int{"own/a.txt": {1000, 1000}}},
	}, {
		name:   "--chown uid only",
		cf:     "COPY --chown=7 a.txt /own/",
		layers: 1,
		want:   want{owners: map[string][2]int{"own/a.txt": {7, 7}}},
	}, {
		name:   "--chown owns the directories it creates, not those there",
		cf:     "COPY --chown=1000:1000 a.txt /new/deep/a.txt\nCOPY --chown=7 a.txt /new/deep/more/",
		layers: 2,
		want: want{
			owners: map[string][2]int{"new": {1000, 1000}, "new/deep": {1000, 1000}, "new/deep/a.txt": {1000, 1000}, "new/deep/more": {7, 7}, "new/deep/more/a.txt": {7, 7}},
			modes:  map[string]os.FileMode{"new": 0o755, "new/deep": 0o755, "new/deep/more": 0o755},
		},
	}, {
		name:   "--chmod applies to the directories it copies and creates",
		cf:     "COPY --chmod=0700 dir/ /cm/x/",
		layers: 1,
		want:   want{modes: map[string]os.FileMode{"cm": 0o700, "cm/x": 0o700, "cm/x/sub": 0o700, "cm/x/x": 0o700, "cm/x/sub/y": 0o700}},
	}, {
		name:   "--chmod's special bits reach what it copies, not the directories it creates",
		cf:     "COPY --chmod=2750 dir/ /sg/",
		layers: 1,
		want:   want{modes: map[string]os.FileMode{"sg": 0o750, "sg/sub": 0o2750, "sg/x": 0o2750}},
	}, {
		name:   "a directory copied over another gives its subdirectories its modes, not its top",
		cf:     "COPY --chmod=0700 dir /m/\nCOPY dir /m/",
		layers: 2,
		want:   want{modes: map[string]os.FileMode{"m": 0o700, "m/sub": 0o755, "m/x": 0o644, "m/sub/y": 0o644}},
	}, {
		name:   "heredoc",
		cf:     "COPY <<EOF /etc/h.conf\nkey=value\nline two\nEOF",
		layers: 1,
		want:   want{files: map[string]string{"etc/h.conf": "key=value\nline two\n"}, modes: map[string]os.FileMode{"etc/h.conf": 0o644}},
	}, {
		name:   "heredoc with --chmod",
		cf:     "COPY --chmod=0755 <<EOF /usr/bin/tool\n#!/bin/sh\nEOF",
		layers: 1,
		want:   want{modes: map[string]os.FileMode{"usr/bin/tool": 0o755}},
	}, {
		name:   "ADD unpacks a local tar.gz",
		cf:     "ADD arch.tar.gz /x/",
		layers: 1,
		want: want{
			files:  map[string]string{"x/top/f": "F\n"},
			modes:  map[string]os.FileMode{"x/top/f": 0o640},
			links:  map[string]string{"x/top/l": "f"},
			absent: []string{"x/arch.tar.gz"},
		},
	}, {
		name:   "ADD unpacks a local tar.xz",
		cf:     "ADD arch.tar.xz /x/",
		layers: 1,
		want: want{
			files:  map[string]string{"x/xzd/h": "H\n"},
			modes:  map[string]os.FileMode{"x/xzd/h": 0o600},
			absent: []string{"x/arch.tar.xz"},
		},
	}, {
		name:   "ADD unpacks an old tar without the ustar magic, as BuildKit",
		cf:     "ADD v7.tar /x/",
		layers: 1,
		want:   want{files: map[string]string{"x/old/v": "V\n"}, absent: []string{"x/v7.tar"}},
	}, {
		name:   "ADD unpacks a plain tar",
		cf:     "ADD arch.tar /x/",
		layers: 1,
		want:   want{files: map[string]string{"x/plain/g": "G\n"}, absent: []string{"x/arch.tar"}},
	}, {
		name:   "ADD copies a file that is not an archive",
		cf:     "ADD a.txt /p/",
		layers: 1,
		want:   want{files: map[string]string{"p/a.txt": "A\n"}},
	}, {
		name:   "ADD copies gzip data that is not a tar",
		cf:     "ADD notar.gz /p/",
		layers: 1,
		want:   want{files: map[string]string{"p/notar.gz": string(gzipped(t, "just text\n"))}},
	}, {
		name:   "COPY does not unpack",
		cf:     "COPY arch.tar.gz /c/",
		layers: 1,
		want:   want{files: map[string]string{"c/arch.tar.gz": ctx["arch.tar.gz"].data}, absent: []string{"c/top/f"}},
	}, {
		name:   "WORKDIR is created",
		cf:     "WORKDIR /w/x/y",
		layers: 1,
		want:   want{dirs: []string{"w", "w/x", "w/x/y"}},
	}, {
		name:   "configuration only: no new layer",
		cf:     "ENV A=1\nLABEL l=v\nUSER 1000",
		layers: 0,
		want:   want{noLayer: true},
	}} {
		t.Run(tt.name, func(t *testing.T) {
			b := stageTest{containerfile: "FROM stagex/core-base AS test\n" + tt.cf + "\n", context: ctx, base: lightBase(t), layers: tt.layers}.mustBuild(t)
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
		"opt/t":             dirNode(0o750),
		"opt/t/a":           {data: "a\n", mode: 0o644},
		"opt/t/h":           {hard: "opt/t/a"},
		"opt/t/s":           dirNode(0o700),
		"lib64":             {link: "usr/lib"},
	})}, ociimage.Config{})
	images := map[string]string{"stagex/core-other": other}
	for _, tt := range []struct {
		name, cf string
		layers   int // one per RUN, COPY, ADD and WORKDIR other than /
		want     want
	}{{
		name:   "file",
		cf:     "COPY --from=stagex/core-other /usr/lib/libx.so /lib/",
		layers: 1,
		want:   want{files: map[string]string{"lib/libx.so": "lib\n"}, modes: map[string]os.FileMode{"lib/libx.so": 0o755}},
	}, {
		name:   "a symbolic link named as the source is followed and keeps its name",
		cf:     "COPY --from=stagex/core-other /usr/lib/libx.so.1 /lib/",
		layers: 1,
		want:   want{files: map[string]string{"lib/libx.so.1": "lib\n"}, absent: []string{"lib/libx.so"}},
	}, {
		name:   "a file reached through a linked directory",
		cf:     "COPY --from=stagex/core-other /lib64/libx.so /l/",
		layers: 1,
		want:   want{files: map[string]string{"l/libx.so": "lib\n"}},
	}, {
		name:   "a symbolic link inside a copied directory stays a link",
		cf:     "COPY --from=stagex/core-other /usr/lib /ul/",
		layers: 1,
		want:   want{links: map[string]string{"ul/libx.so.1": "libx.so"}, files: map[string]string{"ul/libx.so": "lib\n"}},
	}, {
		name:   "directory contents",
		cf:     "COPY --from=stagex/core-other /usr /u",
		layers: 1,
		want:   want{files: map[string]string{"u/lib/libx.so": "lib\n", "u/share/doc/r": "readme\n"}, absent: []string{"u/usr"}},
	}, {
		name:   "a new destination directory is 0755, its subdirectories keep their modes, hard links stay links",
		cf:     "COPY --from=stagex/core-other /opt/t /t2",
		layers: 1,
		want: want{
			modes: map[string]os.FileMode{"t2": 0o755, "t2/s": 0o700},
			files: map[string]string{"t2/a": "a\n"},
			hard:  map[string]string{"t2/h": "t2/a"},
		},
	}, {
		name:   "names of one file given as two sources are two files",
		cf:     "COPY --from=stagex/core-other /opt/t/a /opt/t/h /two/",
		layers: 1,
		want:   want{files: map[string]string{"two/a": "a\n", "two/h": "a\n"}},
	}, {
		name:   "whole image",
		cf:     "COPY --from=stagex/core-other . /",
		layers: 1,
		want:   want{files: map[string]string{"opt/t/a": "a\n", "usr/share/doc/r": "readme\n"}},
	}, {
		name:   "glob",
		cf:     "COPY --from=stagex/core-other /usr/lib/libx.* /g/",
		layers: 1,
		want:   want{files: map[string]string{"g/libx.so": "lib\n"}, links: map[string]string{"g/libx.so.1": "libx.so"}},
	}, {
		name:   "a wildcard that matches nothing copies nothing",
		cf:     "COPY --from=stagex/core-other /usr/lib/*.a /g/",
		layers: 1,
		want:   want{absent: []string{"g"}},
	}} {
		t.Run(tt.name, func(t *testing.T) {
			b := stageTest{containerfile: "FROM stagex/core-base AS test\n" + tt.cf + "\n", images: images, base: lightBase(t), layers: tt.layers}.mustBuild(t)
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
	// WORKDIR /srv and WORKDIR app add a layer each.
	b := stageTest{containerfile: cf, args: map[string]string{"VERSION": "1.2.3"}, base: lightBase(t), imageName: "core-test", layers: 2}.mustBuild(t)
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
	// StageX's exporter annotations, and only those: with ImageName set,
	// the version is the VERSION build argument, else "latest"; without
	// it the manifest has none.
	for _, tt := range []struct {
		name string
		b    built
		want map[string]string
	}{{
		name: "ImageName and VERSION",
		b:    b,
		want: map[string]string{
			ociimage.AnnotationSource:  "stagex/core-test",
			ociimage.AnnotationVersion: "1.2.3",
			ociimage.AnnotationCreated: "1970-01-01T00:00:01Z",
		},
	}, {
		name: "ImageName without VERSION",
		b:    stageTest{containerfile: cf, base: lightBase(t), imageName: "core-test", layers: 2}.mustBuild(t),
		want: map[string]string{
			ociimage.AnnotationSource:  "stagex/core-test",
			ociimage.AnnotationVersion: "latest",
			ociimage.AnnotationCreated: "1970-01-01T00:00:01Z",
		},
	}, {
		name: "VERSION without ImageName",
		b:    stageTest{containerfile: cf, args: map[string]string{"VERSION": "1.2.3"}, base: lightBase(t), layers: 2}.mustBuild(t),
		want: nil,
	}} {
		img, err := ociimage.ReadImage(tt.b.opts.Out)
		if err != nil {
			t.Fatal(err)
		}
		m, err := img.Manifest()
		if err != nil {
			t.Fatal(err)
		}
		if len(m.Annotations) != 0 || len(tt.want) != 0 {
			if !reflect.DeepEqual(m.Annotations, tt.want) {
				t.Errorf("%s: manifest annotations %q, want %q", tt.name, m.Annotations, tt.want)
			}
		}
		if _, ok := m.Annotations["org.opencontainers.image.title"]; ok {
			t.Errorf("%s: manifest has a title annotation", tt.name)
		}
	}
	// WORKDIR made the directories.
	want{dirs: []string{"srv", "srv/app"}}.check(t, b)
}

func TestRunChangesBecomeTheLayer(t *testing.T) {
	requireSandbox(t)
	for _, tt := range []struct {
		name, cf string
		layers   int // one per RUN, COPY, ADD and WORKDIR other than /
		want     want
	}{{
		name:   "exec form writes a file",
		cf:     `RUN ["/bin/probe", "write", "w", "/new.txt", "made"]`,
		layers: 1,
		want:   want{files: map[string]string{"new.txt": "made", "results/w": "ok"}, owners: map[string][2]int{"new.txt": {0, 0}}},
	}, {
		name:   "shell form",
		cf:     `RUN probe write w /new.txt made`,
		layers: 1,
		want:   want{files: map[string]string{"new.txt": "made"}},
	}, {
		name:   "heredoc",
		cf:     "RUN <<EOF\nset -eu\nprobe write w1 /one one\nprobe write w2 /two two\nEOF",
		layers: 1,
		want:   want{files: map[string]string{"one": "one", "two": "two"}},
	}, {
		name:   "heredoc with a shebang runs the script itself",
		cf:     "RUN <<EOF\n#!/bin/sh\nprobe write w /sb shebang\nprobe read self /dev/pipes/EOF\nprobe write w2 /dev/pipes/EOF x\nEOF",
		layers: 1,
		want: want{
			// From a read-only /dev/pipes/EOF, as BuildKit runs it.
			files:  map[string]string{"sb": "shebang", "results/self": "ok:#!/bin/sh\nprobe write w /sb shebang\nprobe read self /dev/pipes/EOF\nprobe write w2 /dev/pipes/EOF x\n", "results/w2": "EROFS"},
			absent: []string{"dev/pipes", "dev/pipes/EOF"},
		},
	}, {
		// gpg-agent leaves its socket behind; BuildKit's layers leave
		// sockets out (containerd's change writer skips them).
		name:   "a socket left behind is not in the layer",
		cf:     "RUN <<EOF\nprobe mkwrite d /run/agent/keep x\nprobe listen l /run/agent/S.gpg-agent\nEOF",
		layers: 1,
		want:   want{files: map[string]string{"run/agent/keep": "x", "results/l": "ok"}, absent: []string{"run/agent/S.gpg-agent"}},
	}, {
		name:   "deleting a base file leaves a whiteout",
		cf:     `RUN ["/bin/probe", "rm", "r", "/base/gone.txt"]`,
		layers: 1,
		want:   want{files: map[string]string{"base/.wh.gone.txt": ""}, absent: []string{"base/keep.txt", "base/gone.txt"}},
	}, {
		name:   "deleting a base directory leaves one whiteout",
		cf:     `RUN ["/bin/probe", "rm", "r", "/base/dir"]`,
		layers: 1,
		want:   want{files: map[string]string{"base/.wh.dir": ""}, absent: []string{"base/dir", "base/dir/inner", "base/dir/.wh.inner"}},
	}, {
		name:   "WORKDIR is the working directory and exists",
		cf:     "WORKDIR /work/here\nRUN [\"/bin/probe\", \"info\", \"i\"]",
		layers: 2,
		want:   want{files: map[string]string{"results/i": "host=stagex cwd=/work/here uid=0"}},
	}, {
		name:   "a file made and deleted in one build leaves nothing",
		cf:     "RUN probe write w /tmpfile x\nRUN probe rm r /tmpfile",
		layers: 2,
		want:   want{absent: []string{"tmpfile", ".wh.tmpfile"}},
	}, {
		name:   "a base file rewritten",
		cf:     "RUN probe write w /base/keep.txt changed",
		layers: 1,
		want:   want{files: map[string]string{"base/keep.txt": "changed"}, absent: []string{"base/gone.txt"}},
	}} {
		t.Run(tt.name, func(t *testing.T) {
			b := stageTest{containerfile: "FROM stagex/core-base AS test\n" + tt.cf + "\n", layers: tt.layers}.mustBuild(t)
			tt.want.check(t, b)
		})
	}
}

// TestSocketDeletedLater: a socket a step leaves is not in its layer, yet
// it is in the root the next step starts from, as in BuildKit's snapshot.
// A later step that deletes it therefore leaves a whiteout, as
// containerd's change writer does for every deleted path.
func TestSocketDeletedLater(t *testing.T) {
	requireSandbox(t)
	b := stageTest{containerfile: "FROM stagex/core-base AS test\n" +
		"RUN <<EOF\nprobe mkwrite d /run/agent/keep x\nprobe listen l /run/agent/S.gpg-agent\nEOF\n" +
		"RUN probe rm r /run/agent/S.gpg-agent\n", layers: 2}.mustBuild(t)
	layers := b.stageContents(t)
	if len(layers) != 2 {
		t.Fatalf("%d stage layers, want 2", len(layers))
	}
	for i, tt := range []struct {
		present, absent string
	}{
		{present: "run/agent/keep", absent: "run/agent/S.gpg-agent"},
		{present: "run/agent/.wh.S.gpg-agent", absent: "run/agent/S.gpg-agent"},
	} {
		if _, ok := layers[i][tt.present]; !ok {
			t.Errorf("layer %d: %s missing (layer holds %v)", i+1, tt.present, names(layers[i]))
		}
		if _, ok := layers[i][tt.absent]; ok {
			t.Errorf("layer %d: %s present, want it left out", i+1, tt.absent)
		}
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
	b := stageTest{containerfile: cf, layers: 1}.mustBuild(t)
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
	// WORKDIR, COPY, ADD and RUN: a layer each.
	first := stageTest{containerfile: cf, context: ctx, layers: 4}.mustBuild(t)
	old := syscall.Umask(0o077)
	defer syscall.Umask(old)
	t.Setenv("TZ", "Asia/Tokyo")
	t.Setenv("LC_ALL", "de_DE.UTF-8")
	second := stageTest{containerfile: cf, context: ctx, ctxTime: time.Date(2020, 2, 2, 0, 0, 0, 0, time.UTC), layers: 4}.mustBuild(t)
	if a, b := first.digest(t), second.digest(t); a != b {
		t.Errorf("two builds of one stage: %s and %s", a, b)
		want{modes: map[string]os.FileMode{"w": 0o755, "w/d": 0o755, "c": 0o755}}.check(t, second)
		diffStageLayers(t, first, second)
	}
	// Layers are compressed in the background, as many at a time as there
	// are processors: one at a time gives the same image.
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))
	serial := stageTest{containerfile: cf, context: ctx, layers: 4}.mustBuild(t)
	if a, b := first.digest(t), serial.digest(t); a != b {
		t.Errorf("layers compressed %d at a time and one at a time: %s and %s", max(1, runtime.NumCPU()), a, b)
		diffStageLayers(t, first, serial)
	}
}

func headerText(e layerEntry) string {
	h := e.hdr
	return fmt.Sprintf("type %q mode %04o owner %d:%d mtime %d link %q %d bytes", h.Typeflag, h.Mode, h.Uid, h.Gid, h.ModTime.Unix(), h.Linkname, len(e.data))
}

// diffStageLayers reports how the stage layers of two builds of one stage
// differ, entry by entry.
func diffStageLayers(t *testing.T, x, y built) {
	t.Helper()
	xl, yl := x.stageContents(t), y.stageContents(t)
	for i := range xl {
		for p, e := range xl[i] {
			f, ok := yl[i][p]
			switch {
			case !ok:
				t.Errorf("stage layer %d: %s only in the first build", i, p)
			case e.hdr.Typeflag != f.hdr.Typeflag || e.hdr.Mode != f.hdr.Mode || e.hdr.Uid != f.hdr.Uid || e.hdr.Gid != f.hdr.Gid ||
				!e.hdr.ModTime.Equal(f.hdr.ModTime) || e.hdr.Linkname != f.hdr.Linkname || e.data != f.data:
				t.Errorf("stage layer %d: %s: %s, then %s", i, p, headerText(e), headerText(f))
			}
		}
		for p := range yl[i] {
			if _, ok := xl[i][p]; !ok {
				t.Errorf("stage layer %d: %s only in the second build", i, p)
			}
		}
	}
}

// TestOneLayerPerInstruction checks the image's layers and history
// against BuildKit's: one layer per RUN, COPY, ADD and WORKDIR other than
// /, in order after the base's, even for a step that changed nothing (an
// empty layer); one history entry per instruction, after the base's, with
// the created_by text BuildKit's Dockerfile frontend gives and
// empty_layer for those that add no layer.
func TestOneLayerPerInstruction(t *testing.T) {
	requireSandbox(t)
	_, sharedLayers := sharedBase(t)
	baseHistory := []ociimage.History{{Created: ociimage.CreatedText, CreatedBy: "COPY / / # base", Comment: ociimage.HistoryComment}}
	base := writeLayout(t, t.TempDir(), sharedLayers, ociimage.Config{Env: []string{"PATH=/bin"}, History: baseHistory})
	type entry struct {
		createdBy  string
		emptyLayer bool
	}
	for _, tt := range []struct {
		name   string
		cf     string
		layers [][]string // the entries of each new layer, in order
		// history is the stage's entries, after the base's.
		history []entry
	}{{
		name: "WORKDIR, COPY, ENV, a RUN that writes and one that changes nothing",
		cf:   "WORKDIR /w\nCOPY a.txt /c/\nENV X=1\nRUN [\"/bin/probe\", \"write\", \"w\", \"/f\", \"x\"]\nRUN probe true",
		layers: [][]string{
			{"w"},
			{"c", "c/a.txt"},
			// The first RUN leaves the mount points runc makes, as
			// in BuildKit's layers.
			{"dev", "f", "proc", "results", "results/w", "sys"},
			{}, // RUN probe true changed nothing
		},
		history: []entry{
			{"WORKDIR /w", false},
			{"COPY a.txt /c/ # buildkit", false},
			{"ENV X=1", true},
			{"RUN /bin/probe write w /f x # buildkit", false},
			{"RUN /bin/sh -c probe true # buildkit", false},
		},
	}, {
		name: "configuration steps and WORKDIR / add no layer; WORKDIR of an existing directory an empty one",
		cf:   "ARG V=1\nWORKDIR /\nUSER 1000\nLABEL l=v\nWORKDIR /base\nCMD [\"true\"]\nADD a.txt /a/",
		layers: [][]string{
			{}, // WORKDIR /base: the directory is the base's
			{"a", "a/a.txt"},
		},
		history: []entry{
			{"ARG V=1", true},
			{"WORKDIR /", true},
			{"USER 1000", true},
			{"LABEL l=v", true},
			{"WORKDIR /base", false},
			{`CMD ["true"]`, true},
			{"ADD a.txt /a/ # buildkit", false},
		},
	}, {
		name: "a RUN records the ARGs in scope; COPY its flags and heredocs",
		cf:   "ARG V=1\nRUN probe write w /g $V\nCOPY --chown=7 --chmod=0600 <<EOF /h\nh\nEOF\nRUN [\"/bin/probe\", \"rm\", \"r\", \"/g\"]",
		layers: [][]string{
			{"dev", "g", "proc", "results", "results/w", "sys"},
			{"h"},
			{".wh.g", "results", "results/r"},
		},
		history: []entry{
			{"ARG V=1", true},
			{"RUN |1 V=1 /bin/sh -c probe write w /g $V # buildkit", false},
			{"COPY --chown=7 --chmod=0600 <<EOF /h # buildkit", false},
			{"RUN |1 V=1 /bin/probe rm r /g # buildkit", false},
		},
	}} {
		t.Run(tt.name, func(t *testing.T) {
			b := stageTest{
				containerfile: "FROM stagex/core-base AS test\n" + tt.cf + "\n",
				context:       tree{"a.txt": {data: "A\n", mode: 0o644}},
				base:          base,
				layers:        len(tt.layers),
			}.mustBuild(t)
			for i, l := range b.stageContents(t) {
				got := names(l)
				if !slices.Equal(got, tt.layers[i]) {
					t.Errorf("stage layer %d holds %q, want %q", i, got, tt.layers[i])
				}
			}
			c, err := ociimage.BaseConfig(b.opts.Out)
			if err != nil {
				t.Fatal(err)
			}
			var want []ociimage.History
			want = append(want, baseHistory...)
			for _, e := range tt.history {
				want = append(want, ociimage.History{Created: ociimage.CreatedText, CreatedBy: e.createdBy, Comment: ociimage.HistoryComment, EmptyLayer: e.emptyLayer})
			}
			if !reflect.DeepEqual(c.History, want) {
				t.Errorf("history:\n%s\nwant:\n%s", historyText(c.History), historyText(want))
			}
		})
	}
}

func historyText(h []ociimage.History) string {
	var b strings.Builder
	for _, e := range h {
		fmt.Fprintf(&b, "\t%+v\n", e)
	}
	return b.String()
}
