package sandbox

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"runtime/debug"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// helperName is the argv[0] under which the test binary, copied into a
// test root, acts as the program run inside the sandbox.
const helperName = "sbxhelper"

// helperMain runs one probe inside the sandbox and prints its findings as
// JSON on stdout. It returns the process exit status.
func helperMain(args []string) int {
	if len(args) == 0 {
		fmt.Fprintln(os.Stderr, "sbxhelper: no mode")
		return 2
	}
	out := map[string]any{}
	switch args[0] {
	case "true":
		return 0
	case "env":
		out["env"] = os.Environ()
	case "info":
		h, _ := os.Hostname()
		wd, _ := os.Getwd()
		mask := syscall.Umask(0)
		groups, _ := os.Getgroups()
		init, _ := os.ReadFile("/proc/1/cmdline")
		out["hostname"] = h
		out["cwd"] = wd
		out["umask"] = fmt.Sprintf("%03o", mask)
		out["uid"] = os.Getuid()
		out["gid"] = os.Getgid()
		out["groups"] = groups
		out["pid"] = os.Getpid()
		out["ppid"] = os.Getppid()
		out["init"] = strings.Split(string(init), "\x00")[0]
		out["capbnd"] = capField("CapBnd")
		out["capeff"] = capField("CapEff")
		out["nonewprivs"] = capField("NoNewPrivs")
	case "exit":
		n, _ := strconv.Atoi(args[1])
		return n
	case "kill-self":
		_ = syscall.Kill(os.Getpid(), syscall.SIGKILL)
		time.Sleep(time.Second)
		return 0
	case "cat":
		_, _ = io.Copy(os.Stdout, os.Stdin)
		return 0
	case "sleep":
		d, _ := time.ParseDuration(args[1])
		time.Sleep(d)
		return 0
	case "stat":
		for _, p := range args[1:] {
			_, err := os.Lstat(p)
			out[p] = errString(err)
		}
	case "owner": // owner PATH: the owner the command sees
		var st unix.Stat_t
		err := unix.Lstat(args[1], &st)
		out["uid"], out["gid"] = st.Uid, st.Gid
		out["err"] = errString(err)
	case "chown": // chown PATH UID GID
		uid, _ := strconv.Atoi(args[2])
		gid, _ := strconv.Atoi(args[3])
		out["err"] = errString(os.Lchown(args[1], uid, gid))
	case "chowns": // chowns: every kind of chown call on the files of /d
		out["chown"] = errString(os.Chown("/d/link", 1000, 1001))
		out["lchown"] = errString(os.Lchown("/d/link", 5, 6))
		err := os.Chdir("/d")
		if err == nil {
			err = os.Chown("sub", 7, -1)
		}
		out["relative"] = errString(err)
		f, err := os.Open("/d/f")
		if err == nil {
			err = f.Chown(8, 9)
			f.Close()
		}
		out["fchown"] = errString(err)
		out["fchownat-empty"] = errString(unix.Fchownat(unix.AT_FDCWD, "", 10, 11, unix.AT_EMPTY_PATH))
		out["fchownat-nofollow"] = errString(unix.Fchownat(unix.AT_FDCWD, "link", 12, 13, unix.AT_SYMLINK_NOFOLLOW))
		out["missing"] = errString(os.Chown("/d/nope", 1, 1))
		out["empty"] = errString(os.Chown("", 1, 1))
		out["bad-flags"] = errString(unix.Fchownat(unix.AT_FDCWD, "f", 1, 1, 0x40000))
		out["other-fs"] = errString(os.Chown("/dev/shm", 3, 3))
		var st unix.Stat_t
		err = unix.Stat("/d/f", &st)
		out["f"] = fmt.Sprintf("%d:%d %o %s", st.Uid, st.Gid, st.Mode&0o7777, errString(err))
	case "write":
		out["err"] = errString(os.WriteFile(args[1], []byte(args[2]), 0o644))
	case "pipes": // pipes: what /dev/pipes holds, and whether it takes a write
		for _, p := range []string{"/dev/pipes", "/dev/pipes/EOF", "/dev/pipes/data", "/dev/pipes/missing"} {
			fi, err := os.Lstat(p)
			switch {
			case err != nil:
				out[p] = errString(err)
			case fi.IsDir():
				out[p] = fmt.Sprintf("dir %o", fi.Mode().Perm())
			default:
				b, err := os.ReadFile(p)
				out[p] = fmt.Sprintf("file %o %s (%s)", fi.Mode().Perm(), b, errString(err))
			}
		}
		out["write"] = errString(os.WriteFile("/dev/pipes/new", nil, 0o644))
	case "readdir":
		ents, err := os.ReadDir(args[1])
		var names []string
		for _, e := range ents {
			names = append(names, e.Name())
		}
		out["names"] = names
		out["err"] = errString(err)
	case "fds":
		fds := map[string]string{}
		d, err := os.Open("/proc/self/fd")
		if err == nil {
			var names []string
			names, err = d.Readdirnames(-1)
			for _, n := range names {
				fds[n], _ = os.Readlink("/proc/self/fd/" + n)
			}
			d.Close()
		}
		out["fds"] = fds
		out["err"] = errString(err)
	case "mounts":
		out["mounts"] = listMounts()
	case "statfs":
		var st unix.Statfs_t
		err := unix.Statfs(args[1], &st)
		out["type"] = fmt.Sprintf("%#x", st.Type)
		out["bytes"] = fmt.Sprint(st.Blocks * uint64(st.Bsize))
		out["err"] = errString(err)
	case "fill": // fill PATH BYTES: write BYTES zero bytes to PATH
		n, _ := strconv.Atoi(args[2])
		out["err"] = errString(os.WriteFile(args[1], make([]byte, n), 0o644))
	case "spawn": // spawn N: start N sleeping children, up to the first failure
		n, _ := strconv.Atoi(args[1])
		started, err := spawnSleepers(n)
		out["started"] = started
		out["err"] = errString(err)
		out["tasks"], _ = countTasks()
	case "bomb": // bomb N: start N sleeping children; exit 3 if one fails to start
		n, _ := strconv.Atoi(args[1])
		if _, err := spawnSleepers(n); err != nil {
			fmt.Fprintln(os.Stderr, "sbxhelper bomb:", err)
			return 3
		}
		return 0
	case "denied": // denied: the errno of each call the filter refuses
		deniedProbe(out)
	case "net":
		netProbe(args[1], out)
	case "devices":
		devProbe(out)
	case "orphans":
		orphanProbe(out)
	case "spawn-orphan":
		// Start a child and exit without waiting: the child becomes an
		// orphan that the sandbox's init has to reap.
		c := selfCommand("exit", "0")
		if err := c.Start(); err != nil {
			return 3
		}
		return 0
	case "spawn-sleeper":
		c := selfCommand("sleep", "60s")
		c.Stdout = os.Stdout
		if err := c.Start(); err != nil {
			return 3
		}
		return 0
	default:
		fmt.Fprintf(os.Stderr, "sbxhelper: unknown mode %q\n", args[0])
		return 2
	}
	if err := json.NewEncoder(os.Stdout).Encode(out); err != nil {
		return 2
	}
	return 0
}

func selfCommand(args ...string) *exec.Cmd {
	c := exec.Command("/proc/self/exe")
	c.Args = append([]string{helperName}, args...)
	c.Env = os.Environ()
	return c
}

func errString(err error) string {
	if err == nil {
		return "ok"
	}
	var errno syscall.Errno
	if errors.As(err, &errno) {
		return unix.ErrnoName(errno)
	}
	return err.Error()
}

func capField(name string) string {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return err.Error()
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), name+":"); ok {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

func listMounts() []string {
	b, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return []string{"error: " + err.Error()}
	}
	var out []string
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		f := strings.Fields(line)
		if len(f) > 4 {
			out = append(out, f[4])
		}
	}
	return out
}

func netProbe(hostAddr string, out map[string]any) {
	// Loopback inside works: the sandbox brought lo up.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err == nil {
		c, derr := net.DialTimeout("tcp", l.Addr().String(), time.Second)
		if derr == nil {
			c.Close()
		}
		out["own_loopback"] = errString(derr)
		l.Close()
	} else {
		out["own_loopback"] = "listen: " + errString(err)
	}
	// The host's loopback listener is in another network namespace.
	c, err := net.DialTimeout("tcp", hostAddr, time.Second)
	if err == nil {
		c.Close()
	}
	out["host_loopback"] = errString(err)
	// A UDP connect only asks for a route; no packet leaves.
	u, err := net.Dial("udp", "192.0.2.1:9")
	if err == nil {
		u.Close()
	}
	out["route_out"] = errString(err)
	ifs, err := net.Interfaces()
	var names []string
	for _, i := range ifs {
		names = append(names, i.Name)
	}
	out["interfaces"] = names
	r := &net.Resolver{PreferGo: true}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	_, err = r.LookupHost(ctx, "example.com")
	out["resolve"] = errString(err)
}

func devProbe(out map[string]any) {
	f, err := os.OpenFile("/dev/null", os.O_WRONLY, 0)
	if err == nil {
		_, err = f.Write([]byte("x"))
		f.Close()
	}
	out["write_null"] = errString(err)
	b := make([]byte, 16)
	f, err = os.Open("/dev/urandom")
	if err == nil {
		_, err = io.ReadFull(f, b)
		f.Close()
	}
	out["read_urandom"] = errString(err)
	// chmod to the mode it already has: EROFS proves the node is protected,
	// and should the protection break, the host's /dev/null keeps its mode.
	if fi, err := os.Stat("/dev/null"); err == nil {
		out["chmod_null"] = errString(os.Chmod("/dev/null", fi.Mode().Perm()))
	} else {
		out["chmod_null"] = errString(err)
	}
	out["write_sysctl"] = errString(os.WriteFile("/proc/sys/kernel/hostname", []byte("x"), 0))
	out["umount_proc_sys"] = errString(unix.Unmount("/proc/sys", unix.MNT_DETACH))
	out["mount_tmpfs"] = errString(unix.Mount("tmpfs", "/mnt", "tmpfs", 0, ""))
	out["write_shm"] = errString(os.WriteFile("/dev/shm/x", []byte("x"), 0o600))
	l, _ := os.Readlink("/dev/stdout")
	out["stdout_link"] = l
	_, err = os.Stat("/dev/pts/ptmx")
	out["ptmx"] = errString(err)
}

// orphanProbe makes an orphan and watches for it to be reaped by pid 1.
func orphanProbe(out map[string]any) {
	if err := selfCommand("spawn-orphan").Run(); err != nil {
		out["err"] = err.Error()
		return
	}
	self := strconv.Itoa(os.Getpid())
	var others []string
	for deadline := time.Now().Add(3 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		others = nil
		ents, _ := os.ReadDir("/proc")
		for _, e := range ents {
			if _, err := strconv.Atoi(e.Name()); err != nil || e.Name() == "1" || e.Name() == self {
				continue
			}
			stat, _ := os.ReadFile("/proc/" + e.Name() + "/stat")
			others = append(others, strings.TrimSpace(string(stat)))
		}
		if len(others) == 0 {
			break
		}
	}
	out["others"] = others
}

// spawnSleepers starts n children that sleep, leaving them running, and
// returns how many started and why the next one did not.
func spawnSleepers(n int) (int, error) {
	// No collection while the namespace is full: a new GC worker thread
	// that cannot be made would end this process.
	debug.SetGCPercent(-1)
	for i := 0; i < n; i++ {
		c := selfCommand("sleep", "60s")
		if err := c.Start(); err != nil {
			return i, err
		}
	}
	return n, nil
}

// deniedProbe makes each call the sandbox's seccomp filter refuses, with
// arguments that would fail harmlessly if it did not, and records the
// errno each gave.
func deniedProbe(out map[string]any) {
	errnoOf := func(_, _ uintptr, e syscall.Errno) string {
		if e == 0 {
			return "ok"
		}
		return unix.ErrnoName(e)
	}
	bad := ^uintptr(0) // -1: a descriptor or key serial that does not exist
	out["io_uring_setup"] = errnoOf(unix.Syscall(unix.SYS_IO_URING_SETUP, 1, 0, 0))
	out["io_uring_enter"] = errnoOf(unix.Syscall6(unix.SYS_IO_URING_ENTER, bad, 0, 0, 0, 0, 0))
	out["io_uring_register"] = errnoOf(unix.Syscall6(unix.SYS_IO_URING_REGISTER, bad, 0, 0, 0, 0, 0))
	out["add_key"] = errnoOf(unix.Syscall6(unix.SYS_ADD_KEY, 0, 0, 0, 0, bad, 0))
	out["request_key"] = errnoOf(unix.Syscall6(unix.SYS_REQUEST_KEY, 0, 0, 0, bad, 0, 0))
	out["keyctl"] = errnoOf(unix.Syscall6(unix.SYS_KEYCTL, unix.KEYCTL_GET_KEYRING_ID, bad, 0, 0, 0, 0))
}
