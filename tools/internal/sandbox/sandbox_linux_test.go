package sandbox

import (
	"bytes"
	"context"
	"debug/elf"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

func TestMain(m *testing.M) {
	Init()
	if filepath.Base(os.Args[0]) == helperName {
		os.Exit(helperMain(os.Args[1:]))
	}
	os.Exit(m.Run())
}

// requireNamespaces skips the test only when Supported says namespaces are
// unavailable here, and fails it instead where RequireEnv is 1.
func requireNamespaces(tb testing.TB) {
	tb.Helper()
	if err := Supported(); err != nil {
		if os.Getenv(RequireEnv) == "1" {
			tb.Fatalf("%s=1 but the sandbox cannot work here: %v", RequireEnv, err)
		}
		tb.Skipf("skipping: the sandbox cannot work here: %v", err)
	}
}

var testEnv = []string{"SOURCE_DATE_EPOCH=1", "TZ=UTC", "LANG=C.UTF-8", "LC_ALL=C", "PATH=/usr/bin:/bin"}

// newRoot builds a minimal root: the test binary as /bin/sbxhelper (with its
// dynamic loader and libraries if it has any), /etc/passwd and /etc/group, a
// tiny static /bin/true and /bin/exit3 on amd64, and empty /out and /work.
func newRoot(tb testing.TB) string {
	tb.Helper()
	root := tb.TempDir()
	if err := os.Chmod(root, 0o755); err != nil {
		tb.Fatal(err)
	}
	for _, d := range []string{"bin", "etc", "out", "work", "mnt"} {
		if err := os.Mkdir(filepath.Join(root, d), 0o755); err != nil {
			tb.Fatal(err)
		}
	}
	if err := os.Chmod(filepath.Join(root, "out"), 0o777); err != nil {
		tb.Fatal(err)
	}
	exe, err := os.Executable()
	if err != nil {
		tb.Fatal(err)
	}
	installFile(tb, exe, filepath.Join(root, "bin", helperName))
	for _, lib := range dynamicDeps(tb, exe) {
		installFile(tb, lib, filepath.Join(root, lib))
	}
	writeFile(tb, root, "etc/passwd", "root:x:0:0:root:/root:/bin/sh\n"+
		"builder:x:1000:1000::/home/builder:/bin/sh\n"+
		"nobody:x:65534:65534::/:/bin/false\n")
	writeFile(tb, root, "etc/group", "root:x:0:root\nwheel:x:10:root,builder\n"+
		"audio:x:29:builder\nbuilder:x:1000:\nnogroup:x:65534:\n")
	writeFile(tb, root, "etc/resolv.conf", "nameserver 127.0.0.1\noptions timeout:1 attempts:1\n")
	if runtime.GOARCH == "amd64" {
		for name, prog := range map[string][]byte{"true": tinyExit(0), "exit3": tinyExit(3), "exit5-i386": tinyExit386(5)} {
			p := filepath.Join(root, "bin", name)
			if err := os.WriteFile(p, prog, 0o755); err != nil {
				tb.Fatal(err)
			}
		}
	}
	return root
}

func writeFile(tb testing.TB, root, rel, content string) {
	tb.Helper()
	if err := os.WriteFile(filepath.Join(root, rel), []byte(content), 0o644); err != nil {
		tb.Fatal(err)
	}
}

// installFile hard-links src to dst, or copies it when linking fails.
func installFile(tb testing.TB, src, dst string) {
	tb.Helper()
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		tb.Fatal(err)
	}
	real, err := filepath.EvalSymlinks(src)
	if err != nil {
		tb.Fatal(err)
	}
	if os.Link(real, dst) == nil {
		return
	}
	in, err := os.Open(real)
	if err != nil {
		tb.Fatal(err)
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_WRONLY|os.O_EXCL, 0o755)
	if err != nil {
		tb.Fatal(err)
	}
	if _, err := io.Copy(out, in); err != nil {
		tb.Fatal(err)
	}
	if err := out.Close(); err != nil {
		tb.Fatal(err)
	}
}

// dynamicDeps lists the loader and libraries exe needs, by asking the
// loader named in its PT_INTERP; a static exe needs none.
func dynamicDeps(tb testing.TB, exe string) []string {
	tb.Helper()
	f, err := elf.Open(exe)
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	interp := ""
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			b, err := io.ReadAll(p.Open())
			if err != nil {
				tb.Fatal(err)
			}
			interp = strings.TrimRight(string(b), "\x00")
		}
	}
	if interp == "" {
		return nil
	}
	out, err := exec.Command(interp, "--list", exe).Output()
	if err != nil {
		tb.Fatalf("listing libraries of the dynamic test binary with %s: %v", interp, err)
	}
	deps := []string{interp}
	for _, field := range strings.Fields(string(out)) {
		if strings.HasPrefix(field, "/") && !slices.Contains(deps, field) {
			deps = append(deps, field)
		}
	}
	return deps
}

// tinyExit returns a minimal static x86-64 ELF executable that calls
// exit(code).
func tinyExit(code byte) []byte {
	const base = 0x400000
	text := []byte{
		0xb8, 0x3c, 0x00, 0x00, 0x00, // mov eax, 60 (exit)
		0xbf, code, 0x00, 0x00, 0x00, // mov edi, code
		0x0f, 0x05, // syscall
	}
	size := uint64(64 + 56 + len(text))
	var b bytes.Buffer
	b.Write([]byte{0x7f, 'E', 'L', 'F', 2, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0})
	le := binary.LittleEndian
	w := func(v any) { _ = binary.Write(&b, le, v) }
	w(uint16(2))          // e_type: EXEC
	w(uint16(0x3e))       // e_machine: x86-64
	w(uint32(1))          // e_version
	w(uint64(base + 120)) // e_entry
	w(uint64(64))         // e_phoff
	w(uint64(0))          // e_shoff
	w(uint32(0))          // e_flags
	w(uint16(64))         // e_ehsize
	w(uint16(56))         // e_phentsize
	w(uint16(1))          // e_phnum
	w([3]uint16{})        // e_shentsize, e_shnum, e_shstrndx
	w(uint32(1))          // p_type: LOAD
	w(uint32(5))          // p_flags: R+X
	w(uint64(0))          // p_offset
	w(uint64(base))       // p_vaddr
	w(uint64(base))       // p_paddr
	w(size)               // p_filesz
	w(size)               // p_memsz
	w(uint64(0x1000))     // p_align
	b.Write(text)
	return b.Bytes()
}

// tinyExit386 returns a minimal static 32-bit x86 ELF executable that calls
// exit(code), like the bootstrap seeds StageX starts from.
func tinyExit386(code byte) []byte {
	return tiny386([]byte{
		0xb8, 0x01, 0x00, 0x00, 0x00, // mov eax, 1 (exit)
		0xbb, code, 0x00, 0x00, 0x00, // mov ebx, code
		0xcd, 0x80, // int 0x80
	})
}

// tinyErrno386 returns a minimal static 32-bit x86 executable that makes
// the i386 system call nr with arguments a and b (the others 0) and exits
// with the errno it returned (the low byte of its negated result).
func tinyErrno386(nr, a, b uint32) []byte {
	var text bytes.Buffer
	w := func(v any) { _ = binary.Write(&text, binary.LittleEndian, v) }
	text.WriteByte(0xb8) // mov eax, nr
	w(nr)
	text.WriteByte(0xbb) // mov ebx, a
	w(a)
	text.WriteByte(0xb9) // mov ecx, b
	w(b)
	text.Write([]byte{
		0x31, 0xd2, // xor edx, edx
		0x31, 0xf6, // xor esi, esi
		0x31, 0xff, // xor edi, edi
		0xcd, 0x80, // int 0x80
		0x89, 0xc3, // mov ebx, eax
		0xf7, 0xdb, // neg ebx
		0xb8, 0x01, 0x00, 0x00, 0x00, // mov eax, 1 (exit)
		0xcd, 0x80, // int 0x80
	})
	return tiny386(text.Bytes())
}

// tiny386 wraps the machine code text into a static 32-bit x86 ELF
// executable that starts with it.
func tiny386(text []byte) []byte {
	const base = 0x8048000
	size := uint32(52 + 32 + len(text))
	var b bytes.Buffer
	b.Write([]byte{0x7f, 'E', 'L', 'F', 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0})
	w := func(v any) { _ = binary.Write(&b, binary.LittleEndian, v) }
	w(uint16(2))         // e_type: EXEC
	w(uint16(3))         // e_machine: i386
	w(uint32(1))         // e_version
	w(uint32(base + 84)) // e_entry
	w(uint32(52))        // e_phoff
	w(uint32(0))         // e_shoff
	w(uint32(0))         // e_flags
	w(uint16(52))        // e_ehsize
	w(uint16(32))        // e_phentsize
	w(uint16(1))         // e_phnum
	w([3]uint16{})       // e_shentsize, e_shnum, e_shstrndx
	w(uint32(1))         // p_type: LOAD
	w(uint32(0))         // p_offset
	w(uint32(base))      // p_vaddr
	w(uint32(base))      // p_paddr
	w(size)              // p_filesz
	w(size)              // p_memsz
	w(uint32(5))         // p_flags: R+X
	w(uint32(0x1000))    // p_align
	b.Write(text)
	return b.Bytes()
}

// runHelper runs the helper in mode args inside root and decodes its JSON.
func runHelper(t *testing.T, spec Spec, args ...string) map[string]any {
	t.Helper()
	var stdout, stderr bytes.Buffer
	spec.Args = append([]string{"/bin/" + helperName}, args...)
	if spec.Env == nil {
		spec.Env = testEnv
	}
	spec.Stdout, spec.Stderr = &stdout, &stderr
	if err := Run(context.Background(), spec); err != nil {
		t.Fatalf("Run(%v): %v\nstderr: %s", args, err, stderr.String())
	}
	out := map[string]any{}
	if err := json.Unmarshal(stdout.Bytes(), &out); err != nil {
		t.Fatalf("helper %v printed %q: %v\nstderr: %s", args, stdout.String(), err, stderr.String())
	}
	return out
}

func TestEnvIsExactlySpecEnv(t *testing.T) {
	requireNamespaces(t)
	t.Setenv("STAGEX_SANDBOX_TEST_LEAK", "host value")
	root := newRoot(t)
	for _, env := range [][]string{
		testEnv,
		{"PATH=/bin", "A=1", "B=two words", "A2="},
		{},
	} {
		got := runHelper(t, Spec{Root: root, Env: env}, "env")["env"]
		var gotEnv []string
		for _, v := range asSlice(got) {
			gotEnv = append(gotEnv, v.(string))
		}
		if !slices.Equal(gotEnv, env) {
			t.Errorf("environment inside = %q, want exactly %q", gotEnv, env)
		}
	}
}

func asSlice(v any) []any {
	s, _ := v.([]any)
	return s
}

func TestProcessIdentity(t *testing.T) {
	requireNamespaces(t)
	root := newRoot(t)
	tests := []struct {
		name               string
		spec               Spec
		wantHost, wantCwd  string
		wantUID, wantGID   float64
		wantGroups         []float64 // checked only with a range map
		checkGroupsInRange bool
	}{
		{name: "defaults", spec: Spec{}, wantHost: "stagex", wantCwd: "/",
			wantGroups: []float64{0, 10}, checkGroupsInRange: true},
		{name: "hostname and dir", spec: Spec{Hostname: "builder-7", Dir: "/work"}, wantHost: "builder-7", wantCwd: "/work",
			wantGroups: []float64{0, 10}, checkGroupsInRange: true},
		{name: "dir cleaned", spec: Spec{Dir: "/work/../out/"}, wantHost: "stagex", wantCwd: "/out"},
		{name: "explicit root group", spec: Spec{User: "0:0"}, wantHost: "stagex", wantCwd: "/",
			wantGroups: nil, checkGroupsInRange: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.spec.Root = root
			got := runHelper(t, tt.spec, "info")
			if got["hostname"] != tt.wantHost {
				t.Errorf("hostname = %v, want %v", got["hostname"], tt.wantHost)
			}
			if got["cwd"] != tt.wantCwd {
				t.Errorf("cwd = %v, want %v", got["cwd"], tt.wantCwd)
			}
			if got["umask"] != "022" {
				t.Errorf("umask = %v, want 022", got["umask"])
			}
			if got["uid"] != tt.wantUID || got["gid"] != tt.wantGID {
				t.Errorf("uid:gid = %v:%v, want %v:%v", got["uid"], got["gid"], tt.wantUID, tt.wantGID)
			}
			// Pid numbers after 1 also go to the init's threads, so the
			// command's pid is small but not fixed; its parent is pid 1.
			if got["ppid"] != float64(1) || got["pid"] == float64(1) {
				t.Errorf("pid %v, parent %v; want a child of pid 1, the init", got["pid"], got["ppid"])
			}
			if got["init"] != initArgv0 {
				t.Errorf("/proc/1/cmdline starts with %q, want %q", got["init"], initArgv0)
			}
			if tt.checkGroupsInRange && !detectIDMode().single {
				var groups []float64
				for _, g := range asSlice(got["groups"]) {
					groups = append(groups, g.(float64))
				}
				if !slices.Equal(groups, tt.wantGroups) {
					t.Errorf("groups = %v, want %v", groups, tt.wantGroups)
				}
			}
			bnd, err := strconv.ParseUint(got["capbnd"].(string), 16, 64)
			if err != nil {
				t.Fatalf("CapBnd %v: %v", got["capbnd"], err)
			}
			eff, _ := strconv.ParseUint(got["capeff"].(string), 16, 64)
			var want uint64
			for c := range keptCaps {
				want |= 1 << c
			}
			if bnd != want {
				t.Errorf("capability bounding set = %#x, want the default container set %#x", bnd, want)
			}
			if eff != want {
				t.Errorf("effective capabilities of root = %#x, want %#x", eff, want)
			}
		})
	}
}

// TestUser runs each USER in the mode this process gets and in forced
// single-id mode, where a non-root USER is emulated.
func TestUser(t *testing.T) {
	requireNamespaces(t)
	root := newRoot(t)
	tests := []struct {
		user      string // "" is named "empty" in the subtest
		uid, gid  float64
		groups    []float64 // checked only with a range map
		wantErr   string    // in every mode
		singleErr string    // only in single-id mode
	}{
		{user: "", uid: 0, gid: 0, groups: []float64{0, 10}},
		{user: "root", uid: 0, gid: 0, groups: []float64{0, 10}},
		{user: "builder", uid: 1000, gid: 1000, groups: []float64{10, 29}},
		{user: "1000", uid: 1000, gid: 1000, groups: []float64{10, 29}},
		{user: "builder:audio", uid: 1000, gid: 29},
		{user: "builder:4343", uid: 1000, gid: 4343},
		{user: "4242", uid: 4242, gid: 0},
		{user: "nobody", uid: 65534, gid: 65534},
		{user: "root:wheel", uid: 0, gid: 10, singleErr: "maps only id 0"},
		{user: "0:4343", uid: 0, gid: 4343, singleErr: "uid 0 with gid 4343"},
		{user: "70000", wantErr: "uid 70000, which is outside"},
		{user: "builder:70000", wantErr: "gid 70000, which is outside"},
		{user: "ghost", wantErr: `no user "ghost"`},
		{user: "root:ghosts", wantErr: `no group "ghosts"`},
	}
	for _, forced := range []bool{false, true} {
		single := forced || detectIDMode().single
		mode := "default"
		if forced {
			mode = "single-id"
		}
		for _, tt := range tests {
			name := tt.user
			if name == "" {
				name = "empty"
			}
			t.Run(mode+"/"+name, func(t *testing.T) {
				spec := Spec{Root: root, User: tt.user, Env: testEnv, SingleID: forced,
					Args: []string{"/bin/" + helperName, "info"}}
				var stdout bytes.Buffer
				spec.Stdout = &stdout
				err := Run(context.Background(), spec)
				wantErr := tt.wantErr
				if single && wantErr == "" {
					wantErr = tt.singleErr
				}
				if wantErr != "" {
					if err == nil || !strings.Contains(err.Error(), wantErr) {
						t.Fatalf("Run as %q: err = %v, want one containing %q", tt.user, err, wantErr)
					}
					var ee *ExitError
					if errors.As(err, &ee) {
						t.Fatalf("a bad USER must be a setup error, not an exit status: %v", err)
					}
					t.Logf("USER %q: %v", tt.user, err)
					return
				}
				if err != nil {
					t.Fatalf("Run as %q: %v", tt.user, err)
				}
				var got map[string]any
				if err := json.Unmarshal(stdout.Bytes(), &got); err != nil {
					t.Fatal(err)
				}
				if got["uid"] != tt.uid || got["gid"] != tt.gid {
					t.Errorf("uid:gid = %v:%v, want %v:%v", got["uid"], got["gid"], tt.uid, tt.gid)
				}
				var groups []float64
				for _, g := range asSlice(got["groups"]) {
					groups = append(groups, g.(float64))
				}
				// In single-id mode setgroups is denied: the runner's own
				// groups stay, and to an emulated USER they can only be
				// its own gid (the runner's gid) or the overflow group.
				switch {
				case single && tt.uid == 0:
				case single:
					for _, g := range groups {
						if g != tt.gid && g != 65534 {
							t.Errorf("groups = %v: %v is neither the USER's gid nor the overflow group", groups, g)
						}
					}
				case !slices.Equal(groups, tt.groups):
					t.Errorf("groups = %v, want %v", groups, tt.groups)
				}
				// Whoever the command runs as, it has the capabilities of
				// root in a container or none.
				wantEff := "0000000000000000"
				if tt.uid == 0 {
					var want uint64
					for c := range keptCaps {
						want |= 1 << c
					}
					wantEff = fmt.Sprintf("%016x", want)
				}
				if got["capeff"] != wantEff {
					t.Errorf("CapEff = %v, want %s", got["capeff"], wantEff)
				}
				// Every command has no_new_privs, root or not, emulated
				// or not (see limitCommand).
				if got["nonewprivs"] != "1" {
					t.Errorf("NoNewPrivs = %v, want 1", got["nonewprivs"])
				}
			})
		}
	}
}

// TestEmulatedUserFiles checks what a non-root USER sees of files in
// single-id mode, and what its files are on disk.
func TestEmulatedUserFiles(t *testing.T) {
	requireNamespaces(t)
	root := newRoot(t)
	run := func(user string, args ...string) map[string]any {
		return runHelper(t, Spec{Root: root, User: user, SingleID: true}, args...)
	}
	for _, tt := range []struct {
		name     string
		user     string
		args     []string
		want     map[string]any
		hostFile string // written by the command: must be the runner's on disk
	}{
		{name: "root's files look like the user's", user: "builder:audio", args: []string{"owner", "/etc/passwd"},
			want: map[string]any{"uid": float64(1000), "gid": float64(29), "err": "ok"}},
		{name: "root sees them as root's", user: "", args: []string{"owner", "/etc/passwd"},
			want: map[string]any{"uid": float64(0), "gid": float64(0), "err": "ok"}},
		{name: "the user writes into a root directory", user: "4242", args: []string{"write", "/work/by-4242", "x"},
			want: map[string]any{"err": "ok"}, hostFile: "work/by-4242"},
		{name: "chown to another id fails", user: "builder", args: []string{"chown", "/etc/passwd", "0", "0"},
			want: map[string]any{"err": "EINVAL"}},
		{name: "chown to the user is a no-op", user: "builder", args: []string{"chown", "/etc/group", "1000", "1000"},
			want: map[string]any{"err": "ok"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got := run(tt.user, tt.args...)
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("%v as %q = %v, want %v", tt.args, tt.user, got, tt.want)
			}
			if tt.hostFile == "" {
				return
			}
			var st syscall.Stat_t
			if err := syscall.Lstat(filepath.Join(root, tt.hostFile), &st); err != nil {
				t.Fatal(err)
			}
			if int(st.Uid) != os.Geteuid() || int(st.Gid) != os.Getegid() {
				t.Errorf("%s is owned by %d:%d on disk, want the runner's %d:%d", tt.hostFile, st.Uid, st.Gid, os.Geteuid(), os.Getegid())
			}
		})
	}
}

func TestNetworkIsLoopbackOnly(t *testing.T) {
	requireNamespaces(t)
	root := newRoot(t)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	// The listener is reachable from the host's namespace (unless the test
	// itself runs in a network namespace whose loopback is down)...
	if c, err := net.DialTimeout("tcp", l.Addr().String(), time.Second); err == nil {
		c.Close()
	} else {
		t.Logf("the test's own namespace cannot reach its listener (%v); checking the sandbox side only", err)
	}
	// ...and not from the sandbox's.
	got := runHelper(t, Spec{Root: root}, "net", l.Addr().String())
	want := map[string]any{
		"own_loopback":  "ok",
		"host_loopback": "ECONNREFUSED",
		"route_out":     "ENETUNREACH",
		"interfaces":    []any{"lo"},
	}
	for k, v := range want {
		if !reflect.DeepEqual(got[k], v) {
			t.Errorf("%s = %v, want %v", k, got[k], v)
		}
	}
	if got["resolve"] == "ok" {
		t.Errorf("name resolution succeeded inside the sandbox")
	}
}

func TestHostFilesystemIsHidden(t *testing.T) {
	requireNamespaces(t)
	root := newRoot(t)
	secretDir := t.TempDir()
	secret := filepath.Join(secretDir, "secret")
	if err := os.WriteFile(secret, []byte("host"), 0o644); err != nil {
		t.Fatal(err)
	}
	exe, _ := os.Executable()
	got := runHelper(t, Spec{Root: root}, "stat", secret, secretDir, exe, root, "/bin/"+helperName, "/../../bin/"+helperName)
	for _, p := range []string{secret, secretDir, exe, root} {
		if got[p] != "ENOENT" {
			t.Errorf("host path %s inside the sandbox: %v, want ENOENT", p, got[p])
		}
	}
	for _, p := range []string{"/bin/" + helperName, "/../../bin/" + helperName} {
		if got[p] != "ok" {
			t.Errorf("root path %s inside the sandbox: %v, want ok", p, got[p])
		}
	}

	allowed := []string{"/", "/proc", "/dev", "/dev/shm", "/dev/pts", "/tmp"}
	for _, p := range []string{"sys", "sysrq-trigger", "irq", "bus", "fs", "kcore", "keys",
		"timer_list", "sched_debug", "latency_stats", "timer_stats", "acpi", "scsi", "asound"} {
		allowed = append(allowed, "/proc/"+p)
	}
	for _, d := range devices {
		allowed = append(allowed, "/dev/"+d)
	}
	mounts := runHelper(t, Spec{Root: root, TmpFS: true}, "mounts")["mounts"]
	var seen []string
	for _, m := range asSlice(mounts) {
		p := m.(string)
		seen = append(seen, p)
		if !slices.Contains(allowed, p) {
			t.Errorf("unexpected mount %s inside the sandbox (all: %v)", p, mounts)
		}
	}
	for _, p := range []string{"/", "/proc", "/dev", "/tmp", "/proc/sys"} {
		if !slices.Contains(seen, p) {
			t.Errorf("mount %s missing inside the sandbox (all: %v)", p, seen)
		}
	}
}

func TestHostDescriptorsDoNotLeak(t *testing.T) {
	requireNamespaces(t)
	root := newRoot(t)
	hostDir := t.TempDir()
	// An inherited directory descriptor would let the command escape with
	// openat; this one is opened without close-on-exec on purpose.
	syscall.ForkLock.RLock()
	fd, err := syscall.Open(hostDir, syscall.O_RDONLY|syscall.O_DIRECTORY, 0)
	syscall.ForkLock.RUnlock()
	if err != nil {
		t.Fatal(err)
	}
	defer syscall.Close(fd)
	got := runHelper(t, Spec{Root: root}, "fds")
	if got["err"] != "ok" {
		t.Fatalf("listing fds: %v", got["err"])
	}
	fds, _ := got["fds"].(map[string]any)
	for n, target := range fds {
		if n == "0" || n == "1" || n == "2" {
			continue
		}
		// The helper's own: the directory it reads and its Go runtime's
		// poller. Anything else was inherited.
		s, _ := target.(string)
		if !strings.HasPrefix(s, "/proc/") && s != "anon_inode:[eventpoll]" && s != "anon_inode:[eventfd]" {
			t.Errorf("fd %s -> %v reached the command (all: %v)", n, target, fds)
		}
	}
}

func TestWritesLandInRoot(t *testing.T) {
	requireNamespaces(t)
	root := newRoot(t)
	for _, tmpfs := range []bool{false, true} {
		t.Run(fmt.Sprintf("tmpfs=%v", tmpfs), func(t *testing.T) {
			if err := os.MkdirAll(filepath.Join(root, "tmp"), 0o1777); err != nil {
				t.Fatal(err)
			}
			for _, p := range []string{"/out/result", "/tmp/scratch"} {
				got := runHelper(t, Spec{Root: root, TmpFS: tmpfs}, "write", p, "data:"+p)
				if got["err"] != "ok" {
					t.Fatalf("writing %s: %v", p, got["err"])
				}
			}
			b, err := os.ReadFile(filepath.Join(root, "out", "result"))
			if err != nil || string(b) != "data:/out/result" {
				t.Errorf("Root/out/result = %q, %v; want the data written inside", b, err)
			}
			_, err = os.Stat(filepath.Join(root, "tmp", "scratch"))
			if tmpfs && err == nil {
				t.Errorf("a file written to the /tmp tmpfs appeared in Root/tmp")
			}
			if !tmpfs && err != nil {
				t.Errorf("without TmpFS, /tmp/scratch should land in Root/tmp: %v", err)
			}
			fsType := runHelper(t, Spec{Root: root, TmpFS: tmpfs}, "statfs", "/tmp")["type"]
			if isTmpfs := fsType == "0x1021994"; isTmpfs != tmpfs {
				t.Errorf("/tmp filesystem type %v with TmpFS=%v", fsType, tmpfs)
			}
			os.RemoveAll(filepath.Join(root, "tmp"))
			os.Remove(filepath.Join(root, "out", "result"))
		})
	}
}

func TestDevicesAndProcAreRestricted(t *testing.T) {
	requireNamespaces(t)
	root := newRoot(t)
	before, err := os.Stat("/dev/null")
	if err != nil {
		t.Fatal(err)
	}
	got := runHelper(t, Spec{Root: root}, "devices")
	want := map[string]any{
		"write_null":      "ok",
		"read_urandom":    "ok",
		"chmod_null":      "EROFS",
		"write_sysctl":    "EROFS",
		"umount_proc_sys": "EPERM",
		"mount_tmpfs":     "EPERM",
		"write_shm":       "ok",
		"stdout_link":     "/proc/self/fd/1",
		"ptmx":            "ok",
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %v, want %v", k, got[k], v)
		}
	}
	after, err := os.Stat("/dev/null")
	if err != nil || after.Mode() != before.Mode() {
		t.Errorf("host /dev/null mode changed: %v -> %v (%v)", before.Mode(), after.Mode(), err)
	}
	names := runHelper(t, Spec{Root: root}, "readdir", "/dev")["names"]
	var gotNames []string
	for _, n := range asSlice(names) {
		gotNames = append(gotNames, n.(string))
	}
	wantNames := []string{"fd", "ptmx", "pts", "shm", "stderr", "stdin", "stdout"}
	for _, d := range devices {
		if fi, err := os.Stat("/dev/" + d); err == nil && fi.Mode()&fs.ModeCharDevice != 0 {
			wantNames = append(wantNames, d)
		}
	}
	slices.Sort(wantNames)
	if !slices.Equal(gotNames, wantNames) {
		t.Errorf("/dev holds %v, want %v", gotNames, wantNames)
	}
}

func TestExitStatus(t *testing.T) {
	requireNamespaces(t)
	root := newRoot(t)
	type exitCase struct {
		name string
		args []string
		want *ExitError
		dir  string
	}
	tests := []exitCase{
		{"zero", []string{"/bin/" + helperName, "exit", "0"}, nil, ""},
		{"three", []string{"/bin/" + helperName, "exit", "3"}, &ExitError{Code: 3}, ""},
		{"255", []string{"/bin/" + helperName, "exit", "255"}, &ExitError{Code: 255}, ""},
		{"sigkill", []string{"/bin/" + helperName, "kill-self"}, &ExitError{Code: 137, Signal: syscall.SIGKILL}, ""},
		{"via PATH", []string{helperName, "exit", "7"}, &ExitError{Code: 7}, ""},
		{"relative to Dir", []string{"./" + helperName, "exit", "4"}, &ExitError{Code: 4}, "/bin"},
	}
	if runtime.GOARCH == "amd64" {
		tests = append(tests,
			exitCase{"tiny static true", []string{"true"}, nil, ""},
			exitCase{"tiny static exit3", []string{"exit3"}, &ExitError{Code: 3}, ""},
			exitCase{"tiny static i386 exit5", []string{"exit5-i386"}, &ExitError{Code: 5}, ""})
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := Run(context.Background(), Spec{Root: root, Args: tt.args, Dir: tt.dir, Env: []string{"PATH=/nonexistent:/bin"}})
			if tt.want == nil {
				if err != nil {
					t.Fatalf("Run: %v, want success", err)
				}
				return
			}
			var ee *ExitError
			if !errors.As(err, &ee) {
				t.Fatalf("Run: %v, want *ExitError %+v", err, tt.want)
			}
			if *ee != *tt.want {
				t.Errorf("ExitError = %+v, want %+v", *ee, *tt.want)
			}
		})
	}
}

func TestSetupErrors(t *testing.T) {
	requireNamespaces(t)
	root := newRoot(t)
	linked := newRoot(t)
	if err := os.Symlink("/dev", filepath.Join(linked, "dev")); err != nil {
		t.Fatal(err)
	}
	helper := "/bin/" + helperName
	tests := []struct {
		name    string
		spec    Spec
		wantErr string
	}{
		{"name not in PATH", Spec{Root: root, Args: []string{"no-such-tool"}, Env: testEnv},
			`command "no-such-tool" not found in PATH=/usr/bin:/bin inside the root`},
		{"missing absolute", Spec{Root: root, Args: []string{"/bin/no-such-tool"}, Env: testEnv},
			"command /bin/no-such-tool: no such file or directory"},
		{"no PATH", Spec{Root: root, Args: []string{helperName}, Env: []string{"A=1"}},
			"Env has no PATH"},
		{"missing dir", Spec{Root: root, Args: []string{helper, "true"}, Dir: "/nope"},
			"working directory /nope does not exist in the root"},
		{"relative dir", Spec{Root: root, Args: []string{helper, "true"}, Dir: "work"},
			`Spec.Dir "work" is not an absolute path`},
		{"no args", Spec{Root: root}, "Spec.Args is empty"},
		{"bad env", Spec{Root: root, Args: []string{helper}, Env: []string{"NOEQUALS"}},
			`Spec.Env entry "NOEQUALS" is not KEY=VALUE`},
		{"missing root", Spec{Root: filepath.Join(root, "nope"), Args: []string{helper}},
			"no such file or directory"},
		{"host root", Spec{Root: "/", Args: []string{helper}}, "must not be the host's /"},
		{"dev symlink", Spec{Root: linked, Args: []string{helper, "true"}},
			"dev is a symlink, not a directory"},
		{"not executable", Spec{Root: root, Args: []string{"/etc/passwd"}},
			"permission denied"},
		{"pipe with a path", Spec{Root: root, Args: []string{helper}, Pipes: []PipeFile{{Name: "a/b"}}},
			`Spec.Pipes: "a/b" is not a file name of its own`},
		{"pipe named twice", Spec{Root: root, Args: []string{helper}, Pipes: []PipeFile{{Name: "x"}, {Name: "x"}}},
			`Spec.Pipes: "x" is not a file name of its own`},
		{"pipe mode", Spec{Root: root, Args: []string{helper}, Pipes: []PipeFile{{Name: "x", Mode: 0o100755}}},
			"Spec.Pipes: x: mode 100755 has more than permission bits"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := snapshot(t, tt.spec.Root)
			err := Run(context.Background(), tt.spec)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("Run: %v, want an error containing %q", err, tt.wantErr)
			}
			var ee *ExitError
			if errors.As(err, &ee) {
				t.Errorf("a setup error must not be an *ExitError: %v", err)
			}
			if after := snapshot(t, tt.spec.Root); before != after {
				t.Errorf("Root changed by a failed run:\nbefore:\n%s\nafter:\n%s", before, after)
			}
		})
	}
}

// snapshot lists every entry under root with type, mode, owner, size and
// mtime, root itself included. Unreadable roots give "".
func snapshot(t *testing.T, root string) string {
	t.Helper()
	if root == "/" {
		return ""
	}
	var b strings.Builder
	_ = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return nil
		}
		var st syscall.Stat_t
		if err := syscall.Lstat(p, &st); err != nil {
			return nil
		}
		rel, _ := filepath.Rel(root, p)
		fmt.Fprintf(&b, "%s %o %d:%d %d %d.%09d\n", rel, st.Mode, st.Uid, st.Gid, st.Size, st.Mtim.Sec, st.Mtim.Nsec)
		return nil
	})
	return b.String()
}

func TestNoLeftoversInRoot(t *testing.T) {
	requireNamespaces(t)
	tests := []struct {
		name     string
		prepare  func(t *testing.T, root string)
		tmpfs    bool
		args     []string
		wantDiff []string // entries that must appear (the command's own writes)
	}{
		{name: "missing mount points", args: []string{"/bin/" + helperName, "true"}},
		{name: "missing mount points with tmpfs", tmpfs: true, args: []string{"/bin/" + helperName, "true"}},
		{name: "existing mount points", tmpfs: true, args: []string{"/bin/" + helperName, "true"},
			prepare: func(t *testing.T, root string) {
				for _, d := range []string{"proc", "dev", "tmp"} {
					if err := os.Mkdir(filepath.Join(root, d), 0o755); err != nil {
						t.Fatal(err)
					}
				}
				writeFile(t, root, "tmp/keep", "kept under the tmpfs")
			}},
		{name: "command writes into /", args: []string{"/bin/" + helperName, "write", "/made", "x"},
			wantDiff: []string{"made "}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := newRoot(t)
			if tt.prepare != nil {
				tt.prepare(t, root)
			}
			// Let the clock move on so a changed mtime would show.
			time.Sleep(10 * time.Millisecond)
			before := snapshot(t, root)
			var stderr bytes.Buffer
			err := Run(context.Background(), Spec{Root: root, Args: tt.args, Env: testEnv, TmpFS: tt.tmpfs, Stderr: &stderr})
			if err != nil {
				t.Fatalf("Run: %v\n%s", err, stderr.String())
			}
			after := snapshot(t, root)
			if len(tt.wantDiff) == 0 {
				if before != after {
					t.Errorf("Root changed:\nbefore:\n%s\nafter:\n%s", before, after)
				}
				return
			}
			// Apart from "." (whose mtime legitimately changed) and the new
			// entries, the listing is the same.
			keep := func(s string) []string {
				var out []string
				for _, l := range strings.Split(s, "\n") {
					if strings.HasPrefix(l, ". ") {
						continue
					}
					out = append(out, l)
				}
				return out
			}
			b, a := keep(before), keep(after)
			var added []string
			for _, l := range a {
				if !slices.Contains(b, l) {
					added = append(added, l)
				}
			}
			if len(added) != len(tt.wantDiff) {
				t.Fatalf("new entries %q, want %q", added, tt.wantDiff)
			}
			for i, w := range tt.wantDiff {
				if !strings.HasPrefix(added[i], w) {
					t.Errorf("new entry %q, want one starting %q", added[i], w)
				}
			}
			for _, l := range b {
				if !slices.Contains(a, l) {
					t.Errorf("entry %q vanished or changed", l)
				}
			}
		})
	}
}

func TestInitReapsOrphans(t *testing.T) {
	requireNamespaces(t)
	root := newRoot(t)
	got := runHelper(t, Spec{Root: root}, "orphans")
	if got["err"] != nil {
		t.Fatalf("helper: %v", got["err"])
	}
	if others := asSlice(got["others"]); len(others) != 0 {
		t.Errorf("processes left besides init and the command (unreaped orphans?): %v", others)
	}
}

func TestLeftoverProcessesAreKilled(t *testing.T) {
	requireNamespaces(t)
	root := newRoot(t)
	var stdout bytes.Buffer
	start := time.Now()
	// The sleeper keeps stdout open: Run returns only once it is dead.
	err := Run(context.Background(), Spec{Root: root, Env: testEnv, Stdout: &stdout,
		Args: []string{"/bin/" + helperName, "spawn-sleeper"}})
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("Run took %v: the background sleeper was not killed with the sandbox", d)
	}
}

func TestContextCancelKillsSandbox(t *testing.T) {
	requireNamespaces(t)
	root := newRoot(t)
	before := snapshot(t, root)
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	var stdout bytes.Buffer
	start := time.Now()
	err := Run(ctx, Spec{Root: root, Env: testEnv, Stdout: &stdout,
		Args: []string{"/bin/" + helperName, "sleep", "60s"}})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Run: %v, want context.DeadlineExceeded", err)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("Run returned after %v", d)
	}
	if after := snapshot(t, root); before != after {
		t.Errorf("Root changed after a cancelled run:\nbefore:\n%s\nafter:\n%s", before, after)
	}
	if err := Run(ctx, Spec{Root: root, Env: testEnv, Args: []string{"/bin/" + helperName, "true"}}); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Run with a done context: %v, want context.DeadlineExceeded", err)
	}
}

func TestStdio(t *testing.T) {
	requireNamespaces(t)
	root := newRoot(t)
	for _, in := range []string{"", "hello\n", strings.Repeat("0123456789abcdef", 1<<14)} {
		var out bytes.Buffer
		err := Run(context.Background(), Spec{Root: root, Env: testEnv, Stdin: strings.NewReader(in), Stdout: &out,
			Args: []string{"/bin/" + helperName, "cat"}})
		if err != nil {
			t.Fatalf("Run: %v", err)
		}
		if out.String() != in {
			t.Errorf("cat of %d bytes gave %d bytes", len(in), out.Len())
		}
	}
}

func TestExplainCloneError(t *testing.T) {
	tests := []struct {
		err  error
		want string
	}{
		{syscall.EPERM, "forbidden"},
		{syscall.ENOSPC, "limit on user namespaces"},
		{syscall.EUSERS, "limit on user namespaces"},
		{syscall.EINVAL, "does not support"},
	}
	for _, tt := range tests {
		err := explainCloneError(&os.SyscallError{Syscall: "fork/exec", Err: tt.err})
		if !errors.Is(err, ErrUnsupported) || !errors.Is(err, tt.err) {
			t.Errorf("%v: error %v does not wrap ErrUnsupported and the errno", tt.err, err)
		}
		if !strings.Contains(err.Error(), tt.want) && !strings.Contains(err.Error(), "sysctl") {
			t.Errorf("%v: %q does not explain the cause (want %q)", tt.err, err, tt.want)
		}
	}
}

// BenchmarkEmptyRun measures the cost of one sandbox around a no-op
// program (a 132-byte static exit(0) on amd64, the helper elsewhere).
func BenchmarkEmptyRun(b *testing.B) {
	requireNamespaces(b)
	root := newRoot(b)
	args := []string{"/bin/true"}
	if runtime.GOARCH != "amd64" {
		args = []string{"/bin/" + helperName, "true"}
	}
	spec := Spec{Root: root, Args: args, Env: testEnv}
	for b.Loop() {
		if err := Run(context.Background(), spec); err != nil {
			b.Fatal(err)
		}
	}
}

// TestPipes checks that Spec.Pipes are read-only files of the sandbox's
// /dev/pipes, with their modes, and that nothing of them reaches Root.
func TestPipes(t *testing.T) {
	requireNamespaces(t)
	for _, single := range []bool{false, true} {
		t.Run(fmt.Sprintf("single-id=%v", single), func(t *testing.T) {
			root := newRoot(t)
			before := snapshot(t, root)
			pipes := []PipeFile{{Name: "EOF", Data: []byte("#!/bin/sh\n"), Mode: 0o755}, {Name: "data", Data: []byte("d"), Mode: 0o640}}
			spec := Spec{Root: root, SingleID: single, Pipes: pipes}
			got := runHelper(t, spec, "pipes")
			want := map[string]any{
				"/dev/pipes":         "dir 755",
				"/dev/pipes/EOF":     "file 755 #!/bin/sh\n (ok)",
				"/dev/pipes/data":    "file 640 d (ok)",
				"write":              "EROFS",
				"/dev/pipes/missing": "ENOENT",
			}
			for k, v := range want {
				if got[k] != v {
					t.Errorf("%s: %v, want %v", k, got[k], v)
				}
			}
			if after := snapshot(t, root); before != after {
				t.Errorf("Root changed:\nbefore:\n%s\nafter:\n%s", before, after)
			}
		})
	}
	// Without pipes there is no /dev/pipes.
	got := runHelper(t, Spec{Root: newRoot(t)}, "stat", "/dev/pipes")
	if got["/dev/pipes"] != "ENOENT" {
		t.Errorf("/dev/pipes without Spec.Pipes: %v, want none", got["/dev/pipes"])
	}
}

// TestEmulatedChown runs every kind of chown call as root in single-id
// mode with Spec.RecordChown set: each succeeds (or fails as the kernel
// would), changes nothing on disk but the set-user-ID bit, and is
// recorded with the path of the file it named.
func TestEmulatedChown(t *testing.T) {
	requireNamespaces(t)
	if len(chownSyscalls) == 0 {
		t.Skip("no chown emulation on " + runtime.GOARCH)
	}
	root := newRoot(t)
	if err := os.Mkdir(filepath.Join(root, "d"), 0o755); err != nil {
		t.Fatal(err)
	}
	writeFile(t, root, "d/f", "f")
	if err := os.Chmod(filepath.Join(root, "d/f"), 0o4755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("f", filepath.Join(root, "d/link")); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(root, "d/sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	var got []Chown
	out := runHelper(t, Spec{Root: root, SingleID: true, RecordChown: func(c Chown) { got = append(got, c) }}, "chowns")
	for k, want := range map[string]string{
		"chown": "ok", "lchown": "ok", "relative": "ok", "fchown": "ok", "fchownat-empty": "ok",
		"fchownat-nofollow": "ok", "missing": "ENOENT", "empty": "ENOENT", "bad-flags": "EINVAL", "other-fs": "ok",
		// A real chown clears the set-user-ID bit; the owner stays.
		"f": "0:0 755 ok",
	} {
		if out[k] != want {
			t.Errorf("%s: %v, want %v", k, out[k], want)
		}
	}
	want := []Chown{
		{"/d/f", 1000, 1001}, {"/d/link", 5, 6}, {"/d/sub", 7, -1}, {"/d/f", 8, 9}, {"/d", 10, 11}, {"/d/link", 12, 13},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("recorded %v, want %v", got, want)
	}
	var st syscall.Stat_t
	if err := syscall.Lstat(filepath.Join(root, "d/sub"), &st); err != nil || st.Uid != uint32(os.Getuid()) {
		t.Errorf("d/sub on disk: uid %d (%v), want the runner's %d", st.Uid, err, os.Getuid())
	}

	// Without RecordChown the kernel refuses an unmapped id, as before.
	out = runHelper(t, Spec{Root: root, SingleID: true}, "chown", "/d/sub", "1000", "1000")
	if out["err"] != "EINVAL" {
		t.Errorf("chown without RecordChown: %v, want EINVAL", out["err"])
	}

	// In the range mode chown is real and nothing is recorded.
	if detectIDMode().single {
		return
	}
	got = nil
	out = runHelper(t, Spec{Root: root, RecordChown: func(c Chown) { got = append(got, c) }}, "chown", "/d/sub", "1000", "1001")
	if err := syscall.Lstat(filepath.Join(root, "d/sub"), &st); out["err"] != "ok" || err != nil || st.Uid != 1000 || st.Gid != 1001 {
		t.Errorf("chown in the range mode: %v, d/sub owned by %d:%d (%v), want ok and 1000:1001", out["err"], st.Uid, st.Gid, err)
	}
	if len(got) != 0 {
		t.Errorf("range mode recorded %v, want nothing", got)
	}
}

// TestLimits checks what bounds every command: no_new_privs, the largest
// file it may write, and the sizes of the RAM-backed /dev and /dev/shm.
func TestLimits(t *testing.T) {
	requireNamespaces(t)
	root := newRoot(t)
	if got := runHelper(t, Spec{Root: root}, "info")["nonewprivs"]; got != "1" {
		t.Errorf("NoNewPrivs of a root command = %v, want 1", got)
	}
	for _, dir := range []string{"/dev", "/dev/shm"} {
		got := runHelper(t, Spec{Root: root}, "statfs", dir)
		if got["bytes"] != fmt.Sprint(65536*1024) {
			t.Errorf("%s holds %v bytes (%v), want %s", dir, got["bytes"], got["err"], DevSize)
		}
	}
	for _, tt := range []struct {
		name  string
		limit int64
		size  string
		want  string
	}{
		{"within the limit", 1 << 20, "1048576", "ok"},
		{"beyond the limit", 1 << 20, "1048577", "EFBIG"},
		{"the default is generous", 0, "8388608", "ok"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got := runHelper(t, Spec{Root: root, FileSizeLimit: tt.limit}, "fill", "/big", tt.size)
			if got["err"] != tt.want {
				t.Errorf("writing %s bytes with a limit of %d: %v, want %s", tt.size, tt.limit, got["err"], tt.want)
			}
		})
	}
}

// TestProcessLimit checks that a command cannot start more processes and
// threads than Spec.MaxProcesses, in both id modes, while the default lets
// many run.
func TestProcessLimit(t *testing.T) {
	requireNamespaces(t)
	if !ProcessLimitEnforced() {
		t.Skip("skipping: this kernel keeps pid_max for the whole machine (per pid namespace since Linux 6.14), so there is no process limit")
	}
	root := newRoot(t)
	for _, tt := range []struct {
		name     string
		single   bool
		limit    int
		spawn    int
		wantErr  string
		wantMost int // the most tasks the namespace may hold at the end
	}{
		{name: "range mode, fork bomb", limit: 300, spawn: 600, wantErr: "EAGAIN", wantMost: 300},
		{name: "single-id mode, fork bomb", single: true, limit: 300, spawn: 600, wantErr: "EAGAIN", wantMost: 300},
		{name: "default limit", single: true, spawn: 100, wantErr: "ok", wantMost: DefaultMaxProcesses},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if !tt.single && detectIDMode().single {
				t.Skip("skipping: this process can only run the single-id mode")
			}
			got := runHelper(t, Spec{Root: root, SingleID: tt.single, MaxProcesses: tt.limit}, "spawn", fmt.Sprint(tt.spawn))
			started, _ := got["started"].(float64)
			tasks, _ := got["tasks"].(float64)
			if got["err"] != tt.wantErr {
				t.Errorf("starting %d processes with a limit of %d: %v after %v started, want %s", tt.spawn, tt.limit, got["err"], started, tt.wantErr)
			}
			if tasks > float64(tt.wantMost) || tasks < 1 {
				t.Errorf("the namespace held %v tasks, want 1..%d", tasks, tt.wantMost)
			}
			if tt.wantErr == "ok" && int(started) != tt.spawn {
				t.Errorf("started %v of %d processes", started, tt.spawn)
			}
		})
	}
	// A command that fails with the namespace near the limit says so;
	// one that fails far from it does not.
	for _, tt := range []struct {
		args []string
		near bool
	}{
		{[]string{"bomb", "600"}, true},
		{[]string{"exit", "3"}, false},
	} {
		err := Run(context.Background(), Spec{Root: root, SingleID: true, MaxProcesses: 300, Env: testEnv,
			Args: append([]string{"/bin/" + helperName}, tt.args...)})
		var ee *ExitError
		if !errors.As(err, &ee) || ee.Code != 3 {
			t.Errorf("%v: error %v, want exit status 3", tt.args, err)
			continue
		}
		if got := ee.Tasks >= 270 && ee.MaxProcesses == 300 && strings.Contains(err.Error(), "near the process limit of 300"); got != tt.near {
			t.Errorf("%v: error %q (%d tasks), want near the limit = %v", tt.args, err, ee.Tasks, tt.near)
		}
	}
	for _, bad := range []int{-1, 1, MinMaxProcesses - 1} {
		err := Run(context.Background(), Spec{Root: root, Args: []string{"/bin/" + helperName, "true"}, MaxProcesses: bad})
		if err == nil || !strings.Contains(err.Error(), "MaxProcesses") {
			t.Errorf("MaxProcesses %d: error %v, want one naming MaxProcesses", bad, err)
		}
	}
}

// TestDeniedSyscalls checks that io_uring and the key management calls
// fail with ENOSYS for every command, root or not, in both id modes.
func TestDeniedSyscalls(t *testing.T) {
	requireNamespaces(t)
	if len(deniedSyscallTable) == 0 {
		t.Skip("skipping: no system call filter on " + runtime.GOARCH)
	}
	root := newRoot(t)
	for _, tt := range []struct {
		name   string
		spec   Spec
		single bool
	}{
		{name: "root, range mode", spec: Spec{Root: root}},
		{name: "root, single-id mode", spec: Spec{Root: root, SingleID: true}},
		{name: "root recording chown", spec: Spec{Root: root, SingleID: true, RecordChown: func(Chown) {}}},
		{name: "USER, single-id mode (nested namespace)", spec: Spec{Root: root, SingleID: true, User: "builder"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if !tt.spec.SingleID && detectIDMode().single {
				t.Skip("skipping: this process can only run the single-id mode")
			}
			got := runHelper(t, tt.spec, "denied")
			for _, call := range []string{"io_uring_setup", "io_uring_enter", "io_uring_register", "add_key", "request_key", "keyctl"} {
				if got[call] != "ENOSYS" {
					t.Errorf("%s: %v, want ENOSYS", call, got[call])
				}
			}
		})
	}
	// A 32-bit program reaches the same calls through the i386 numbers.
	t.Run("i386 numbers", func(t *testing.T) {
		if runtime.GOARCH != "amd64" {
			t.Skip("skipping: i386 programs run on amd64 only")
		}
		bad := ^uint32(0)
		for _, c := range []struct {
			name   string
			nr     uint32
			a, b   uint32
			unless string // what the call gives unfiltered
		}{
			{"io_uring_setup", 425, 1, 0, "EFAULT"},
			{"io_uring_enter", 426, bad, 0, "EBADF"},
			{"io_uring_register", 427, bad, 0, "EINVAL"},
			{"add_key", 286, 0, 0, "EFAULT"},
			{"request_key", 287, 0, 0, "EFAULT"},
			{"keyctl", 288, unix.KEYCTL_GET_KEYRING_ID, bad, "ENOKEY"},
		} {
			p := filepath.Join(root, "bin", "i386-"+c.name)
			if err := os.WriteFile(p, tinyErrno386(c.nr, c.a, c.b), 0o755); err != nil {
				t.Fatal(err)
			}
			err := Run(context.Background(), Spec{Root: root, SingleID: true, Env: testEnv, Args: []string{"/bin/i386-" + c.name}})
			var ee *ExitError
			if !errors.As(err, &ee) || ee.Code != int(unix.ENOSYS) {
				t.Errorf("i386 %s: %v, want exit status %d (ENOSYS; unfiltered it gives %s)", c.name, err, int(unix.ENOSYS), c.unless)
			}
		}
	})
}

func TestKernelAtLeast(t *testing.T) {
	for _, tt := range []struct {
		release string
		want    bool
	}{
		{"6.14.0", true},
		{"6.18.44-fc-v1045", true},
		{"6.14-rc1", true},
		{"6.13.12-arch1-1", false},
		{"5.15.0-91-generic", false},
		{"7.0.1", true},
		{"", false},
		{"six.fourteen", false},
	} {
		if got := kernelAtLeast(tt.release, 6, 14); got != tt.want {
			t.Errorf("kernelAtLeast(%q, 6, 14) = %v, want %v", tt.release, got, tt.want)
		}
	}
}
