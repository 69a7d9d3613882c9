package stagebuild

import (
	"archive/tar"
	"os"
	"strings"
	"testing"

	"github.com/stagex/stagex-bazel/tools/internal/sandbox"
)

// TestEmulatedUser builds stages in forced single-id mode, as Bazel's
// linux-sandbox runs them: a non-root USER is emulated, and what its steps
// create is recorded as its own.
func TestEmulatedUser(t *testing.T) {
	requireSandbox(t)
	// A base with a set-group-ID directory of group 50 that anyone may
	// write.
	sgidBase := withBase(t, rawLayer(t, t.TempDir(), makeTar(t,
		tarEntry{name: "shared/", typ: tar.TypeDir, mode: 0o2777, gid: 50})))
	for _, tt := range []struct {
		name    string
		cf      string
		base    string
		context tree
		layers  int // one per RUN, COPY, ADD and WORKDIR other than /
		want    want
	}{{
		name:   "the step runs as the USER",
		cf:     "USER 1000:1000\nRUN probe ids i",
		layers: 1,
		want: want{files: map[string]string{"results/i": "uid=1000 gid=1000"},
			owners: map[string][2]int{"results/i": {1000, 1000}}},
	}, {
		name:   "a USER by name, its group from passwd",
		cf:     "USER builder\nRUN probe ids i",
		layers: 1,
		want: want{files: map[string]string{"results/i": "uid=1000 gid=1000"},
			owners: map[string][2]int{"results/i": {1000, 1000}}},
	}, {
		name:   "a uid alone has group 0",
		cf:     "USER 4242\nRUN probe ids i",
		layers: 1,
		want: want{files: map[string]string{"results/i": "uid=4242 gid=0"},
			owners: map[string][2]int{"results/i": {4242, 0}}},
	}, {
		name:   "new directories and files are the USER's",
		cf:     "USER 1000:1000\nRUN probe mkwrite m /home/b/f x",
		layers: 1,
		want: want{files: map[string]string{"home/b/f": "x"},
			owners: map[string][2]int{"home": {1000, 1000}, "home/b": {1000, 1000}, "home/b/f": {1000, 1000}}},
	}, {
		name:   "a base file the USER changes keeps its owner",
		cf:     "USER 1000:1000\nRUN probe write w /base/keep.txt changed",
		layers: 1,
		want: want{files: map[string]string{"base/keep.txt": "changed"},
			owners: map[string][2]int{"base": {0, 0}, "base/keep.txt": {0, 0}, "results/w": {1000, 1000}}},
	}, {
		name:   "a base file the USER replaces (a new file renamed over it) becomes the USER's",
		cf:     "USER 1000:1000\nRUN probe replace p /base/keep.txt new",
		layers: 1,
		want: want{files: map[string]string{"base/keep.txt": "new"},
			owners: map[string][2]int{"base": {0, 0}, "base/keep.txt": {1000, 1000}, "results/p": {1000, 1000}}},
	}, {
		name:   "root steps of the same stage stay root's",
		cf:     "RUN probe write r1 /by-root x\nUSER 1000:1000\nRUN probe write u /by-user x\nUSER root\nRUN probe write r2 /by-root-after x",
		layers: 3,
		want: want{owners: map[string][2]int{
			"by-root": {0, 0}, "results/r1": {0, 0},
			"by-user": {1000, 1000}, "results/u": {1000, 1000},
			"by-root-after": {0, 0}, "results/r2": {0, 0},
		}},
	}, {
		name:   "a set-group-ID directory gives its group",
		cf:     "USER 1000:1000\nRUN probe mkwrite m /shared/sub/f x",
		layers: 1,
		base:   sgidBase,
		want: want{owners: map[string][2]int{"shared": {0, 50}, "shared/sub": {1000, 50}, "shared/sub/f": {1000, 50}},
			modes: map[string]os.FileMode{"shared/sub": 0o2755}},
	}, {
		name:    "COPY over a file the USER made gives it COPY's owner",
		cf:      "USER 1000:1000\nRUN probe write u /f x\nRUN probe write v /g x\nUSER root\nCOPY a.txt /f",
		layers:  3,
		context: tree{"a.txt": {data: "A\n", mode: 0o644}},
		want: want{files: map[string]string{"f": "A\n"},
			owners: map[string][2]int{"f": {0, 0}, "g": {1000, 1000}}},
	}} {
		t.Run(tt.name, func(t *testing.T) {
			b := stageTest{containerfile: "FROM stagex/core-base AS test\n" + tt.cf + "\n",
				base: tt.base, context: tt.context, singleID: true, layers: tt.layers}.mustBuild(t)
			tt.want.check(t, b)
		})
	}
}

// TestEmulatedUserErrors checks the USER values single-id mode refuses.
func TestEmulatedUserErrors(t *testing.T) {
	requireSandbox(t)
	for _, tt := range []struct {
		user, wantErr string
	}{
		{"0:1000", "uid 0 with gid 1000, but this sandbox maps only id 0"},
		{"70000", "uid 70000, which is outside"},
		{"ghost", `no user "ghost"`},
	} {
		t.Run(tt.user, func(t *testing.T) {
			b := stageTest{containerfile: "FROM stagex/core-base AS test\nUSER " + tt.user + "\nRUN probe true\n", singleID: true}.build(t)
			if b.err == nil || !strings.Contains(b.err.Error(), tt.wantErr) {
				t.Fatalf("Build as %q: %v, want an error containing %q", tt.user, b.err, tt.wantErr)
			}
			b.assertNoOutput(t)
		})
	}
}

// TestSingleIDMatchesRangeMode builds one stage as root with a range of ids
// and in single-id mode: emulation must give the same image.
func TestSingleIDMatchesRangeMode(t *testing.T) {
	requireSandbox(t)
	if sandbox.SingleIDMode() {
		t.Skip("skipping: this process cannot map a range of ids")
	}
	for _, tt := range []struct {
		name, cf string
		layers   int
		want     want
	}{{
		// Only what a real uid 1000 may do: /results is writable by anyone.
		name: "a non-root USER",
		cf: "RUN probe write r /by-root x\n" +
			"USER builder\nRUN probe mkwrite m /results/d/f x\n" +
			"USER root\nRUN probe mkwrite r2 /results/d/g y\n",
		layers: 3,
		want: want{files: map[string]string{"results/m": "ok", "results/r2": "ok"},
			owners: map[string][2]int{"results/d/f": {1000, 1000}, "results/d/g": {0, 0}}},
	}, {
		// Single-id mode emulates chown and records it.
		name: "chown as root",
		cf: "RUN probe mkwrite a /srv/a/f x\nRUN probe chown c1 /srv/a/f 5 6\n" +
			"RUN probe chown c2 /srv/a 1000 -1\nRUN probe chown c3 /srv/a/f -1 7\n" +
			"USER builder\nRUN probe mkwrite m /results/u x\n" +
			"USER root\nRUN probe chown c4 /results/u 0 0\nRUN probe chown c5 /srv/nope 1 1\n",
		layers: 7,
		want: want{
			files:  map[string]string{"results/c1": "ok", "results/c2": "ok", "results/c3": "ok", "results/c4": "ok", "results/c5": "ENOENT"},
			owners: map[string][2]int{"srv/a/f": {5, 7}, "srv/a": {1000, 0}, "results/u": {0, 0}},
		},
	}, {
		// A chowned file replaced by a root step, and a USER's file
		// deleted and made again by root, are root's.
		name: "records go with their files",
		cf: "RUN probe mkwrite a /srv/f x\nRUN probe chown c /srv/f 5 5\nRUN probe replace r /srv/f y\n" +
			"USER builder\nRUN probe mkwrite m /results/u x\n" +
			"USER root\nRUN probe rm d /results/u\nRUN probe write w /results/u z\n",
		layers: 6,
		want: want{
			files:  map[string]string{"srv/f": "y", "results/u": "z"},
			owners: map[string][2]int{"srv/f": {0, 0}, "results/u": {0, 0}},
		},
	}} {
		t.Run(tt.name, func(t *testing.T) {
			cf := "FROM stagex/core-base AS test\n" + tt.cf
			rng := stageTest{containerfile: cf, layers: tt.layers}.mustBuild(t)
			single := stageTest{containerfile: cf, singleID: true, layers: tt.layers}.mustBuild(t)
			tt.want.check(t, rng)
			tt.want.check(t, single)
			if a, b := rng.digest(t), single.digest(t); a != b {
				t.Errorf("range mode built %s, single-id mode %s", a, b)
				rngLayers := rng.stageContents(t)
				for i, l := range single.stageContents(t) {
					for p, e := range l {
						r := rngLayers[i][p]
						if r.hdr == nil || r.hdr.Uid != e.hdr.Uid || r.hdr.Gid != e.hdr.Gid || r.hdr.Mode != e.hdr.Mode {
							t.Errorf("stage layer %d: %s: single-id %+v, range %+v", i, p, e.hdr, r.hdr)
						}
					}
					for p := range rngLayers[i] {
						if _, ok := l[p]; !ok {
							t.Errorf("stage layer %d: %s: only in the range-mode build", i, p)
						}
					}
				}
			}
		})
	}
}
