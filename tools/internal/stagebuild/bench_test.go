package stagebuild

import (
	"context"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
)

// benchBuild returns a function that builds a stage of n empty RUN steps
// on a small base (a 132-byte /bin/true on amd64; the probe elsewhere).
func benchBuild(b *testing.B, n int) func() {
	b.Helper()
	requireSandbox(b)
	base, run := lightBase(b), `RUN ["/bin/true"]`
	if runtime.GOARCH != "amd64" {
		base, _ = sharedBase(b)
		run = `RUN ["/bin/probe", "true"]`
	}
	dir := b.TempDir()
	cf := filepath.Join(dir, "Containerfile")
	text := "FROM stagex/core-base AS test\n" + strings.Repeat(run+"\n", n)
	if err := os.WriteFile(cf, []byte(text), 0o644); err != nil {
		b.Fatal(err)
	}
	o := Options{
		Containerfile: cf, Stage: "test", Platform: "linux/" + runtime.GOARCH, Base: base,
		Out: filepath.Join(dir, "out.oci"), DigestOut: filepath.Join(dir, "out.digest"), WorkDir: dir,
	}
	return func() {
		if err := Build(context.Background(), o); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkBuildNoRun is a whole stage build without a RUN step: parse,
// unpack the base, snapshot, write the image.
func BenchmarkBuildNoRun(b *testing.B) {
	build := benchBuild(b, 0)
	for b.Loop() {
		build()
	}
}

// BenchmarkBuildEmptyRun is a whole stage build around one empty RUN.
func BenchmarkBuildEmptyRun(b *testing.B) {
	build := benchBuild(b, 1)
	for b.Loop() {
		build()
	}
}

// BenchmarkEmptyRun reports what one empty RUN step adds to a build
// (namespaces, mount points, pivot_root, /proc and /dev, the command, and
// the step's share of the layer diff) as ms/RUN: the time of a stage of 11
// RUN steps less that of a stage of 1, divided by 10.
func BenchmarkEmptyRun(b *testing.B) {
	one, eleven := benchBuild(b, 1), benchBuild(b, 11)
	var t1, t11 time.Duration
	for b.Loop() {
		start := time.Now()
		one()
		t1 += time.Since(start)
		start = time.Now()
		eleven()
		t11 += time.Since(start)
	}
	b.ReportMetric(float64(t11-t1)/10/float64(b.N)/1e6, "ms/RUN")
}
