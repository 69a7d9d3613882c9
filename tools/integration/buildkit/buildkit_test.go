// Differential tests against the real BuildKit: every package of the tree
// tools/integration/buildkit/packages, built by this project's rules, must be the image
// BuildKit builds from the same Containerfile with StageX's options, byte
// for byte.
//
// The test runs BuildKit itself: buildkitd and buildctl from the directory
// STAGEX_BUILDKIT names (tools/scripts/buildkit.sh builds them from the BuildKit Go
// module this project uses), with runc, as root. Where any of that is
// missing it skips and says why; with STAGEX_REQUIRE_BUILDKIT=1 (CI) it
// fails instead.
package buildkit_test

import (
	"archive/tar"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/stagex/stagex-bazel/tools/internal/cli"
	"github.com/stagex/stagex-bazel/tools/internal/containerfile"
	"github.com/stagex/stagex-bazel/tools/internal/imagediff"
	"github.com/stagex/stagex-bazel/tools/internal/ociimage"
	"github.com/stagex/stagex-bazel/tools/internal/pkgspec"
)

var (
	tree      = flag.String("tree", "tools/integration/buildkit/packages", "the package tree, relative to the runfiles root")
	contextFl cli.Strings
)

func init() {
	flag.Var(&contextFl, "context", "PKGDIR:PATH=FILE: a context file Bazel builds (repeatable)")
}

// skip skips the test, or fails it where BuildKit is required.
func skip(t *testing.T, format string, args ...any) {
	t.Helper()
	msg := fmt.Sprintf(format, args...)
	if os.Getenv("STAGEX_REQUIRE_BUILDKIT") == "1" {
		t.Fatalf("STAGEX_REQUIRE_BUILDKIT=1 but %s", msg)
	}
	t.Skip(msg)
}

type daemon struct {
	buildctl, addr string
}

func startBuildKit(t *testing.T) *daemon {
	t.Helper()
	dir := os.Getenv("STAGEX_BUILDKIT")
	if dir == "" {
		skip(t, "STAGEX_BUILDKIT is not set (a directory with buildkitd and buildctl; tools/scripts/buildkit.sh builds them)")
	}
	if os.Geteuid() != 0 {
		skip(t, "BuildKit's OCI worker needs root")
	}
	if _, err := exec.LookPath("runc"); err != nil {
		skip(t, "runc is not installed (BuildKit's OCI worker runs RUN steps with it)")
	}
	for _, b := range []string{"buildkitd", "buildctl"} {
		if _, err := os.Stat(filepath.Join(dir, b)); err != nil {
			skip(t, "%s: %v", b, err)
		}
	}
	state, err := os.MkdirTemp("", "buildkit-state-")
	if err != nil {
		t.Fatal(err)
	}
	sock := filepath.Join(state, "buildkitd.sock")
	d := &daemon{buildctl: filepath.Join(dir, "buildctl"), addr: "unix://" + sock}
	log, err := os.Create(filepath.Join(state, "buildkitd.log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(filepath.Join(dir, "buildkitd"), "--root", filepath.Join(state, "root"), "--addr", d.addr,
		"--oci-worker=true", "--containerd-worker=false", "--oci-worker-snapshotter=overlayfs")
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
		os.RemoveAll(state)
	})
	deadline := time.Now().Add(30 * time.Second)
	for {
		if out, err := exec.Command(d.buildctl, "--addr", d.addr, "debug", "workers").CombinedOutput(); err == nil {
			break
		} else if time.Now().After(deadline) {
			logText, _ := os.ReadFile(log.Name())
			t.Fatalf("buildkitd did not answer within 30 s: %v\n%s\nits log:\n%s", err, out, logText)
		}
		time.Sleep(200 * time.Millisecond)
	}
	return d
}

// testCase is one published image of the tree.
type testCase struct {
	pkg       *pkgspec.Package
	dir       string // the package directory (sources)
	rel       string // <tier>/<name>
	image     string // <tier>-<name>
	target    string // the Containerfile stage BuildKit builds; "" for the last
	layout    string // our build of it
	platforms []string
}

// sourceTree is the package tree in the source checkout: Bazel's runfiles
// hold the built layouts under *tree, but not the files of the packages
// (each is a Bazel package of its own), so the test finds them through its
// own BUILD.bazel, a link into the checkout (the test runs locally).
func sourceTree(t *testing.T) string {
	t.Helper()
	if _, err := os.Stat(filepath.Join(*tree, "core", "box", "package.toml")); err == nil {
		return *tree
	}
	build, err := filepath.EvalSymlinks(filepath.Join(filepath.Dir(*tree), "BUILD.bazel"))
	if err != nil {
		t.Fatalf("finding the package tree's sources: %v", err)
	}
	return filepath.Join(filepath.Dir(build), filepath.Base(*tree))
}

func cases(t *testing.T, src string) []testCase {
	t.Helper()
	var cs []testCase
	pkgs, _ := filepath.Glob(filepath.Join(src, "*", "*", "package.toml"))
	sort.Strings(pkgs)
	for _, f := range pkgs {
		dir := filepath.Dir(f)
		rel, _ := filepath.Rel(src, dir)
		out := filepath.Join(*tree, rel)
		p, err := pkgspec.ParseFile(f)
		if err != nil {
			t.Fatal(err)
		}
		platforms := p.Platforms
		if len(platforms) == 0 {
			platforms = []string{"linux/amd64"}
		}
		// As src/targets.py: a package with subpackages publishes only
		// its package-<sub> stages (--target package-<sub>); one without
		// publishes the Containerfile's last stage (no --target).
		if len(p.Subpackages) == 0 {
			cs = append(cs, testCase{pkg: p, dir: dir, rel: rel, image: p.ImageName(), layout: layoutOf(out, p.Name, platforms), platforms: platforms})
		}
		for _, sub := range p.Subpackages {
			cs = append(cs, testCase{pkg: p, dir: dir, rel: rel, image: p.SubpackageImageName(sub), target: "package-" + sub, layout: layoutOf(out, sub, platforms), platforms: platforms})
		}
	}
	if len(cs) == 0 {
		t.Fatalf("no packages under %s", src)
	}
	return cs
}

// layoutOf is our build of a published image: the image index of a
// multi-platform package, else the stage's layout.
func layoutOf(dir, name string, platforms []string) string {
	if len(platforms) > 1 {
		return filepath.Join(dir, name+"_index.oci")
	}
	return filepath.Join(dir, name+".oci")
}

// contextDir copies a package directory (runfiles are symbolic links) and
// the Bazel-built context files given with --context into a fresh
// directory for BuildKit.
func contextDir(t *testing.T, c testCase) string {
	t.Helper()
	out := t.TempDir()
	err := filepath.Walk(c.dir, func(p string, info os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(c.dir, p)
		if rel == "." || strings.HasSuffix(rel, ".oci") || strings.HasSuffix(rel, ".digest") || rel == "BUILD.bazel" {
			if info.IsDir() && rel != "." {
				return filepath.SkipDir
			}
			return nil
		}
		if info.IsDir() {
			return os.MkdirAll(filepath.Join(out, rel), 0o755)
		}
		return copyFile(p, filepath.Join(out, rel))
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, spec := range contextFl {
		pkgDir, rest, _ := strings.Cut(spec, ":")
		path, file, ok := strings.Cut(rest, "=")
		if !ok {
			t.Fatalf("--context %q: expected PKGDIR:PATH=FILE", spec)
		}
		if filepath.Clean(pkgDir) == filepath.Join(*tree, c.rel) {
			if err := copyFile(file, filepath.Join(out, path)); err != nil {
				t.Fatal(err)
			}
		}
	}
	return out
}

func copyFile(from, to string) error {
	info, err := os.Stat(from)
	if err != nil {
		return err
	}
	in, err := os.Open(from)
	if err != nil {
		return err
	}
	defer in.Close()
	if err := os.MkdirAll(filepath.Dir(to), 0o755); err != nil {
		return err
	}
	// Modes as a git checkout gives them (Bazel's outputs are read-only).
	mode := os.FileMode(0o644)
	if info.Mode()&0o111 != 0 {
		mode = 0o755
	}
	out, err := os.OpenFile(to, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, mode)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	if err := out.Close(); err != nil {
		return err
	}
	if err := os.Chmod(to, mode); err != nil {
		return err
	}
	// BuildKit sends a context file's modification time along; make it
	// the source's, as a checkout gives.
	return os.Chtimes(to, info.ModTime(), info.ModTime())
}

// build runs StageX's build of one image with BuildKit (src/targets.py's
// options, in buildctl's words) and returns the extracted layout.
func (d *daemon) build(t *testing.T, c testCase, ctxDir string) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(c.dir, "Containerfile"))
	if err != nil {
		t.Fatal(err)
	}
	version := c.pkg.Version
	if version == "" {
		version = "latest"
	}
	args := []string{"--addr", d.addr, "build", "--frontend", "dockerfile.v0",
		"--local", "context=" + ctxDir, "--local", "dockerfile=" + ctxDir, "--opt", "filename=Containerfile",
		"--opt", "platform=" + strings.Join(c.platforms, ","), "--opt", "multi-platform=true",
		"--opt", "build-arg:SOURCE_DATE_EPOCH=1", "--opt", "build-arg:BUILDKIT_MULTI_PLATFORM=1"}
	if c.target != "" {
		args = append(args, "--opt", "target="+c.target)
	}
	for k, v := range c.pkg.BuildArgs() {
		args = append(args, "--opt", "build-arg:"+k+"="+v)
	}
	cf, err := containerfile.Parse(filepath.Join(c.dir, "Containerfile"), data, containerfile.Options{BuildArgs: c.pkg.BuildArgs()})
	if err != nil {
		t.Fatal(err)
	}
	for _, ref := range cf.PackageDeps() {
		stage, name, _ := strings.Cut(ref.Package(), "/")
		dep := filepath.Join(*tree, stage, name, name+".oci")
		top, err := ociimage.TopDescriptor(dep)
		if err != nil {
			t.Fatalf("%s needs %s: %v", c.image, ref.Raw, err)
		}
		args = append(args, "--oci-layout", ref.Raw+"="+dep, "--opt", "context:"+ref.Raw+"=oci-layout://"+ref.Raw+"@"+top.Digest.String())
	}
	out := filepath.Join(t.TempDir(), "image.tar")
	args = append(args, "--output", "name="+c.image+",type=oci,rewrite-timestamp=true,force-compression=true,"+
		"annotation.containerd.io/distribution.source.docker.io=stagex/"+c.image+","+
		"annotation.org.opencontainers.image.version="+version+","+
		"annotation.org.opencontainers.image.created=1970-01-01T00:00:01Z,tar=true,dest="+out)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	if b, err := exec.CommandContext(ctx, d.buildctl, args...).CombinedOutput(); err != nil {
		t.Fatalf("BuildKit failed to build %s: %v\n%s", c.image, err, tail(b, 40))
	}
	dir := filepath.Join(t.TempDir(), "layout")
	if err := untar(out, dir); err != nil {
		t.Fatal(err)
	}
	return dir
}

func tail(b []byte, n int) string {
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

func untar(file, dir string) error {
	f, err := os.Open(file)
	if err != nil {
		return err
	}
	defer f.Close()
	tr := tar.NewReader(f)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		name := filepath.Join(dir, filepath.Clean("/"+h.Name))
		switch h.Typeflag {
		case tar.TypeDir:
			if err := os.MkdirAll(name, 0o755); err != nil {
				return err
			}
		case tar.TypeReg:
			if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
				return err
			}
			w, err := os.Create(name)
			if err != nil {
				return err
			}
			if _, err := io.Copy(w, tr); err != nil {
				w.Close()
				return err
			}
			if err := w.Close(); err != nil {
				return err
			}
		default:
			return fmt.Errorf("%s: unexpected entry %q of type %q", file, h.Name, h.Typeflag)
		}
	}
}

func TestIdenticalToBuildKit(t *testing.T) {
	// Under Bazel, paths are relative to the runfiles root.
	if root, ws := os.Getenv("TEST_SRCDIR"), os.Getenv("TEST_WORKSPACE"); root != "" && ws != "" {
		if err := os.Chdir(filepath.Join(root, ws)); err != nil {
			t.Fatal(err)
		}
	}
	d := startBuildKit(t)
	for _, c := range cases(t, sourceTree(t)) {
		t.Run(c.image, func(t *testing.T) {
			theirs := d.build(t, c, contextDir(t, c))
			ours := c.layout
			want, err := ociimage.LayoutDigest(theirs)
			if err != nil {
				t.Fatal(err)
			}
			got, err := ociimage.LayoutDigest(ours)
			if err != nil {
				t.Fatal(err)
			}
			diff, err := imagediff.Compare(ours, theirs)
			if err != nil {
				t.Fatal(err)
			}
			if diff != "" {
				t.Fatalf("%s: our image %s, BuildKit's %s\n%s", c.image, got, want, diff)
			}
			// The image index too (index.json points at it).
			ti, err := ociimage.TopDescriptor(theirs)
			if err != nil {
				t.Fatal(err)
			}
			oi, err := ociimage.TopDescriptor(ours)
			if err != nil {
				t.Fatal(err)
			}
			if ti.Digest != oi.Digest {
				t.Fatalf("%s: same first manifest %s, but our image index %s, BuildKit's %s\n%s",
					c.image, got, oi.Digest, ti.Digest, indexDiff(t, ours, oi, theirs, ti))
			}
			t.Logf("%s: %s, identical to BuildKit's", c.image, got)
		})
	}
}

// indexDiff names the first field in which two image indexes differ (the
// digest of another platform's manifest, say) and, where both are image
// manifests, the first difference between those.
func indexDiff(t *testing.T, ours string, od v1.Descriptor, theirs string, td v1.Descriptor) string {
	t.Helper()
	var raw [2][]byte
	var idx [2]v1.IndexManifest
	for i, l := range []struct {
		dir string
		d   v1.Descriptor
	}{{ours, od}, {theirs, td}} {
		b, err := ociimage.ReadBlob(ociimage.BlobPath(l.dir, l.d.Digest), l.d.Digest, l.d.Size)
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(b, &idx[i]); err != nil {
			t.Fatalf("%s: image index %s: %v", l.dir, l.d.Digest, err)
		}
		raw[i] = b
	}
	out := "image index: " + imagediff.JSONDiff(raw[0], raw[1])
	for i := 0; i < len(idx[0].Manifests) && i < len(idx[1].Manifests); i++ {
		a, b := idx[0].Manifests[i], idx[1].Manifests[i]
		if a.Digest == b.Digest || !a.MediaType.IsImage() || !b.MediaType.IsImage() {
			continue
		}
		var ma, mb []byte
		var err error
		if ma, err = ociimage.ReadBlob(ociimage.BlobPath(ours, a.Digest), a.Digest, a.Size); err == nil {
			mb, err = ociimage.ReadBlob(ociimage.BlobPath(theirs, b.Digest), b.Digest, b.Size)
		}
		if err != nil {
			t.Fatal(err)
		}
		out += fmt.Sprintf("\nmanifest %d (%v): ours %s, BuildKit's %s: %s", i, a.Platform, a.Digest, b.Digest, imagediff.JSONDiff(ma, mb))
		break
	}
	return out
}
