package sandbox

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"runtime"
	"strconv"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// Init must be the first thing main calls in any program that uses Run.
// In a normal start it returns at once. When Run has re-executed the program
// as the sandbox's init (pid 1 of the new pid namespace), Init sets the
// sandbox up, starts the command, reaps every process that ends up as its
// child, and exits with the command's status; it never returns then.
func Init() {
	if os.Getenv(initEnv) != "1" {
		return
	}
	// Capability bounding sets are per thread: do the setup and the fork of
	// the command on one thread.
	runtime.LockOSThread()
	os.Exit(initMain())
}

func initMain() int {
	// Descriptors the runner leaked without close-on-exec (a directory on
	// the host, say) would be a way out of the root: none reaches the
	// command. 3 and 4 are the pipes to Run.
	if err := unix.CloseRange(3, ^uint(0), unix.CLOSE_RANGE_CLOEXEC); err != nil {
		ents, _ := os.ReadDir("/proc/self/fd")
		for _, e := range ents {
			if fd, err := strconv.Atoi(e.Name()); err == nil && fd > 2 {
				unix.CloseOnExec(fd)
			}
		}
	}
	cfgFile := os.NewFile(3, "config")
	status := os.NewFile(4, "status")
	report := func(r initResult) {
		b, _ := json.Marshal(r)
		_, _ = status.Write(b)
		status.Close()
	}
	var cfg initConfig
	err := json.NewDecoder(cfgFile).Decode(&cfg)
	cfgFile.Close()
	if err != nil {
		report(initResult{Err: "init: reading configuration: " + err.Error()})
		return 125
	}
	pid, sup, err := setupAndStart(&cfg)
	if err != nil {
		report(initResult{Err: err.Error()})
		return 125
	}
	ws := reap(pid)
	var chowns []Chown
	if sup != nil {
		chowns = sup.stop()
	}
	var tasks int
	if !ws.Exited() || ws.ExitStatus() != 0 {
		tasks = tasksNearLimit(cfg.MaxProcesses)
	}
	switch {
	case ws.Signaled():
		report(initResult{Signal: int(ws.Signal()), Chowns: chowns, Tasks: tasks})
		return 128 + int(ws.Signal())
	default:
		report(initResult{Code: ws.ExitStatus(), Chowns: chowns, Tasks: tasks})
		return ws.ExitStatus()
	}
}

// reap waits for children until pid exits and returns its status. Orphans
// re-parented to pid 1 are reaped along the way. When the init exits, the
// kernel kills whatever is left in the pid namespace.
func reap(pid int) syscall.WaitStatus {
	for {
		var ws syscall.WaitStatus
		got, err := syscall.Wait4(-1, &ws, 0, nil)
		if err == syscall.EINTR {
			continue
		}
		if err != nil {
			// ECHILD: the command is gone without us seeing it; cannot
			// happen, but do not spin.
			return syscall.WaitStatus(127 << 8)
		}
		if got == pid && (ws.Exited() || ws.Signaled()) {
			return ws
		}
	}
}

// setupAndStart builds the sandbox's view of the world and starts the
// command in it, with the chown emulation's supervisor if asked for.
func setupAndStart(cfg *initConfig) (int, *chownSupervisor, error) {
	pid, sup, err := setupAndStartCommand(cfg)
	if err != nil && sup != nil {
		sup.stop()
	}
	return pid, sup, err
}

func setupAndStartCommand(cfg *initConfig) (pid int, sup *chownSupervisor, err error) {
	root := cfg.Root
	if err := unix.Mount("", "/", "", unix.MS_REC|unix.MS_PRIVATE, ""); err != nil {
		return 0, sup, fmt.Errorf("making mounts private: %w", err)
	}
	if err := unix.Mount(root, root, "", unix.MS_BIND|unix.MS_REC, ""); err != nil {
		return 0, sup, fmt.Errorf("bind-mounting root %s: %w", root, err)
	}
	if err := setupProc(root+"/proc", cfg.MaxProcesses); err != nil {
		return 0, sup, err
	}
	if err := setupDev(root + "/dev"); err != nil {
		return 0, sup, err
	}
	if err := setupPipes(root+PipesDir, cfg.Pipes); err != nil {
		return 0, sup, err
	}
	if cfg.TmpFS {
		if err := unix.Mount("tmpfs", root+"/tmp", "tmpfs", unix.MS_NOSUID|unix.MS_NODEV, "mode=1777,size="+TmpSize); err != nil {
			return 0, sup, fmt.Errorf("mounting tmpfs on /tmp: %w", err)
		}
	}
	// pivot_root(".", ".") stacks the old root on top of the new one; the
	// detach then removes it, leaving no path to the host filesystem.
	if err := unix.Chdir(root); err != nil {
		return 0, sup, err
	}
	if err := unix.PivotRoot(".", "."); err != nil {
		return 0, sup, fmt.Errorf("pivot_root to %s: %w", root, err)
	}
	if err := unix.Unmount(".", unix.MNT_DETACH); err != nil {
		return 0, sup, fmt.Errorf("detaching the host root: %w", err)
	}
	if err := unix.Chdir("/"); err != nil {
		return 0, sup, err
	}
	if err := unix.Sethostname([]byte(cfg.Hostname)); err != nil {
		return 0, sup, fmt.Errorf("sethostname: %w", err)
	}
	if err := loopbackUp(); err != nil {
		return 0, sup, err
	}

	id, err := LookupUser(cfg.User, "/etc/passwd", "/etc/group")
	if err != nil {
		return 0, sup, err
	}
	emulate, err := checkIdentity(cfg.User, id, cfg.SingleID)
	if err != nil {
		return 0, sup, err
	}
	if cfg.SingleID {
		// setgroups is denied in a single-id namespace.
		id.Groups = nil
	}
	argv0, err := lookPath(cfg.Args[0], cfg.Env, cfg.Dir)
	if err != nil {
		return 0, sup, err
	}
	if fi, err := os.Stat(cfg.Dir); err != nil || !fi.IsDir() {
		return 0, sup, fmt.Errorf("working directory %s does not exist in the root (the sandbox does not create it)", cfg.Dir)
	}
	unix.Umask(0o022)
	if err := limitCaps(); err != nil {
		return 0, sup, err
	}
	attr := &syscall.SysProcAttr{
		Setsid: true,
		Credential: &syscall.Credential{
			Uid: id.UID, Gid: id.GID, Groups: id.Groups, NoSetGroups: cfg.SingleID,
		},
	}
	if emulate {
		emulateIdentity(attr, id)
	} else if cfg.SingleID && cfg.RecordChowns {
		// Last: from here on this thread must not chown.
		if sup, err = startChownSupervisor(); err != nil {
			return 0, nil, err
		}
	}
	if err := limitCommand(cfg.FileSizeLimit); err != nil {
		return 0, sup, err
	}
	if err := denySyscalls(); err != nil {
		return 0, sup, err
	}
	pid, err = syscall.ForkExec(argv0, cfg.Args, &syscall.ProcAttr{
		Dir:   cfg.Dir,
		Env:   cfg.Env,
		Files: []uintptr{0, 1, 2},
		Sys:   attr,
	})
	if err != nil {
		if emulate {
			return 0, sup, fmt.Errorf("starting %s as uid %d, gid %d in a nested user namespace (how this sandbox, "+
				"which maps only id 0, runs a non-root USER): %w", argv0, id.UID, id.GID, err)
		}
		return 0, sup, fmt.Errorf("starting %s (as uid %d, gid %d, in %s): %w", argv0, id.UID, id.GID, cfg.Dir, err)
	}
	return pid, sup, nil
}

// checkIdentity fails clearly when the command cannot get the ids of id,
// and reports whether they must be emulated: a non-root USER in single-id
// mode.
func checkIdentity(user string, id Identity, single bool) (emulate bool, err error) {
	if !single {
		return false, checkMapped(user, id)
	}
	if id.UID == 0 && id.GID == 0 {
		return false, nil
	}
	// The same ids as with a range map, so that a build does not depend
	// on the mode.
	if id.UID >= rangeSize {
		return false, fmt.Errorf("USER %q resolves to uid %d, which is outside the ids a sandbox maps (0..%d)", user, id.UID, rangeSize-1)
	}
	if id.GID >= rangeSize {
		return false, fmt.Errorf("USER %q resolves to gid %d, which is outside the ids a sandbox maps (0..%d)", user, id.GID, rangeSize-1)
	}
	if id.UID == 0 {
		return false, fmt.Errorf("USER %q resolves to uid 0 with gid %d, but this sandbox maps only id 0: "+
			"the runner is not root over a range of ids (it runs unprivileged, or in a user namespace that "+
			"maps only its own id, as Bazel's linux-sandbox does); a non-root USER is emulated there, "+
			"but root with another group cannot be (root would hold every capability in the namespace "+
			"that emulates the group); use group 0, a non-root user, or a runner that is real root", user, id.GID)
	}
	return true, nil
}

// emulateIdentity sets attr up to start the command in a nested user
// namespace where id's uid and gid are the ones mapped, onto this
// namespace's id 0, with setgroups denied. The command then runs as id
// without any capability, and sees every file of id 0 as its own. A new
// user namespace has a full capability bounding set: what stops a program
// with file capabilities from gaining them in it is the no_new_privs that
// limitCommand gives every command.
func emulateIdentity(attr *syscall.SysProcAttr, id Identity) {
	attr.Cloneflags = syscall.CLONE_NEWUSER
	attr.UidMappings = []syscall.SysProcIDMap{{ContainerID: int(id.UID), HostID: 0, Size: 1}}
	attr.GidMappings = []syscall.SysProcIDMap{{ContainerID: int(id.GID), HostID: 0, Size: 1}}
	attr.GidMappingsEnableSetgroups = false
	attr.Credential.Groups = nil
	attr.Credential.NoSetGroups = true
}

// checkMapped fails clearly when an id of the command has no mapping in a
// sandbox with a range map.
func checkMapped(user string, id Identity) error {
	u, err := readIDMap("/proc/self/uid_map")
	if err != nil {
		return err
	}
	g, err := readIDMap("/proc/self/gid_map")
	if err != nil {
		return err
	}
	explain := func(kind string, v uint32) error {
		return fmt.Errorf("USER %q resolves to %s %d, which is outside the ids mapped into the sandbox (0..%d)",
			user, kind, v, rangeSize-1)
	}
	if !mapped(u, uint64(id.UID)) {
		return explain("uid", id.UID)
	}
	if !mapped(g, uint64(id.GID)) {
		return explain("gid", id.GID)
	}
	return nil
}

// lookPath finds name as execve would be asked to: names with a '/' are
// used as they are, others are searched in Env's PATH.
func lookPath(name string, env []string, dir string) (string, error) {
	if strings.Contains(name, "/") {
		p := name
		if !path.IsAbs(p) {
			p = path.Join(dir, p)
		}
		if _, err := os.Stat(p); err != nil {
			return "", fmt.Errorf("command %s: %w", name, unwrapPathErr(err))
		}
		return name, nil
	}
	pathVar, ok := "", false
	for _, e := range env {
		if v, found := strings.CutPrefix(e, "PATH="); found {
			pathVar, ok = v, true
			break
		}
	}
	if !ok {
		return "", fmt.Errorf("command %q has no '/' and Env has no PATH to look it up in", name)
	}
	for _, d := range strings.Split(pathVar, ":") {
		if !path.IsAbs(d) {
			continue
		}
		p := path.Join(d, name)
		fi, err := os.Stat(p)
		if err == nil && fi.Mode().IsRegular() && fi.Mode().Perm()&0o111 != 0 {
			return p, nil
		}
	}
	return "", fmt.Errorf("command %q not found in PATH=%s inside the root", name, pathVar)
}

func unwrapPathErr(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// setupProc mounts a proc for the new pid namespace at dir, limits the
// namespace to maxProcs tasks and makes the parts of proc that act on the
// whole machine read-only or empty.
func setupProc(dir string, maxProcs int) error {
	if err := unix.Mount("proc", dir, "proc", unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, ""); err != nil {
		return fmt.Errorf("mounting proc on /proc: %w (a container runtime that masks parts of its own /proc forbids new proc mounts)", err)
	}
	if err := limitProcesses(dir, maxProcs); err != nil {
		return err
	}
	for _, name := range []string{"sys", "sysrq-trigger", "irq", "bus", "fs"} {
		p := dir + "/" + name
		if _, err := os.Lstat(p); err != nil {
			continue
		}
		if err := bindReadOnly(p, p); err != nil {
			return fmt.Errorf("making /proc/%s read-only: %w", name, err)
		}
	}
	for _, name := range []string{"kcore", "keys", "timer_list", "sched_debug", "latency_stats", "timer_stats"} {
		p := dir + "/" + name
		if _, err := os.Lstat(p); err != nil {
			continue
		}
		if err := bindReadOnly("/dev/null", p); err != nil {
			return fmt.Errorf("masking /proc/%s: %w", name, err)
		}
	}
	for _, name := range []string{"acpi", "scsi", "asound"} {
		p := dir + "/" + name
		if fi, err := os.Lstat(p); err != nil || !fi.IsDir() {
			continue
		}
		if err := unix.Mount("tmpfs", p, "tmpfs", unix.MS_RDONLY|unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, "size=0"); err != nil {
			return fmt.Errorf("masking /proc/%s: %w", name, err)
		}
	}
	return nil
}

// devices are the host device nodes bound into the sandbox's /dev.
var devices = []string{"null", "zero", "full", "random", "urandom", "tty"}

// setupDev mounts a tmpfs at dir and fills it with the usual minimum.
func setupDev(dir string) error {
	if err := unix.Mount("tmpfs", dir, "tmpfs", unix.MS_NOSUID|unix.MS_STRICTATIME, "mode=755,size="+DevSize); err != nil {
		return fmt.Errorf("mounting tmpfs on /dev: %w", err)
	}
	for _, name := range devices {
		host := "/dev/" + name
		fi, err := os.Stat(host)
		if err != nil || fi.Mode()&fs.ModeCharDevice == 0 {
			continue
		}
		p := dir + "/" + name
		if err := os.WriteFile(p, nil, 0o666); err != nil {
			return err
		}
		if err := bindReadOnly(host, p); err != nil {
			return fmt.Errorf("binding %s: %w", host, err)
		}
	}
	links := [][2]string{
		{"fd", "/proc/self/fd"},
		{"stdin", "/proc/self/fd/0"},
		{"stdout", "/proc/self/fd/1"},
		{"stderr", "/proc/self/fd/2"},
		{"ptmx", "pts/ptmx"},
	}
	for _, l := range links {
		if err := os.Symlink(l[1], dir+"/"+l[0]); err != nil {
			return err
		}
	}
	if err := os.Mkdir(dir+"/shm", 0o1777); err != nil {
		return err
	}
	if err := unix.Mount("shm", dir+"/shm", "tmpfs", unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, "mode=1777,size="+DevSize); err != nil {
		return fmt.Errorf("mounting /dev/shm: %w", err)
	}
	if err := os.Mkdir(dir+"/pts", 0o755); err != nil {
		return err
	}
	if err := unix.Mount("devpts", dir+"/pts", "devpts", unix.MS_NOSUID|unix.MS_NOEXEC, "newinstance,ptmxmode=0666,mode=0620"); err != nil {
		return fmt.Errorf("mounting /dev/pts: %w", err)
	}
	return nil
}

// setupPipes mounts a tmpfs at dir (in /dev's tmpfs), writes the files
// into it and makes it read-only. Nothing is made without files.
func setupPipes(dir string, files []PipeFile) error {
	if len(files) == 0 {
		return nil
	}
	if err := os.Mkdir(dir, 0o755); err != nil {
		return err
	}
	if err := unix.Mount("tmpfs", dir, "tmpfs", unix.MS_NOSUID|unix.MS_NODEV, "mode=755"); err != nil {
		return fmt.Errorf("mounting tmpfs on %s: %w", PipesDir, err)
	}
	for _, f := range files {
		p := dir + "/" + f.Name
		if err := os.WriteFile(p, f.Data, 0o600); err != nil {
			return err
		}
		if err := os.Chmod(p, fs.FileMode(f.Mode&0o777)|modeBits(f.Mode)); err != nil {
			return err
		}
	}
	if err := unix.Mount("", dir, "", unix.MS_REMOUNT|unix.MS_RDONLY|unix.MS_NOSUID|unix.MS_NODEV, ""); err != nil {
		return fmt.Errorf("making %s read-only: %w", PipesDir, err)
	}
	return nil
}

// modeBits turns the setuid, setgid and sticky bits of a numeric mode
// into os.FileMode's.
func modeBits(m uint32) fs.FileMode {
	var out fs.FileMode
	if m&0o4000 != 0 {
		out |= fs.ModeSetuid
	}
	if m&0o2000 != 0 {
		out |= fs.ModeSetgid
	}
	if m&0o1000 != 0 {
		out |= fs.ModeSticky
	}
	return out
}

// bindReadOnly bind-mounts src on dst and makes the new mount read-only,
// nosuid and noexec. Flags the source mount has are kept: the kernel locks
// them in a user namespace and refuses a remount that would drop them.
func bindReadOnly(src, dst string) error {
	if err := unix.Mount(src, dst, "", unix.MS_BIND, ""); err != nil {
		return err
	}
	var st unix.Statfs_t
	if err := unix.Statfs(dst, &st); err != nil {
		return err
	}
	flags := uintptr(unix.MS_BIND | unix.MS_REMOUNT | unix.MS_RDONLY | unix.MS_NOSUID | unix.MS_NOEXEC)
	for _, f := range [][2]uintptr{
		{unix.ST_NODEV, unix.MS_NODEV},
		{unix.ST_NOATIME, unix.MS_NOATIME},
		{unix.ST_NODIRATIME, unix.MS_NODIRATIME},
		{unix.ST_RELATIME, unix.MS_RELATIME},
	} {
		if uintptr(st.Flags)&f[0] != 0 {
			flags |= f[1]
		}
	}
	return unix.Mount("", dst, "", flags, "")
}

// loopbackUp sets IFF_UP on "lo" in the new network namespace.
func loopbackUp() error {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("bringing up loopback: %w", err)
	}
	defer unix.Close(fd)
	ifr, err := unix.NewIfreq("lo")
	if err != nil {
		return err
	}
	if err := unix.IoctlIfreq(fd, unix.SIOCGIFFLAGS, ifr); err != nil {
		return fmt.Errorf("bringing up loopback: %w", err)
	}
	ifr.SetUint16(ifr.Uint16() | unix.IFF_UP)
	if err := unix.IoctlIfreq(fd, unix.SIOCSIFFLAGS, ifr); err != nil {
		return fmt.Errorf("bringing up loopback: %w", err)
	}
	return nil
}

// keptCaps is the capability set of a default container.
var keptCaps = map[int]bool{
	unix.CAP_CHOWN: true, unix.CAP_DAC_OVERRIDE: true, unix.CAP_FOWNER: true,
	unix.CAP_FSETID: true, unix.CAP_KILL: true, unix.CAP_SETGID: true,
	unix.CAP_SETUID: true, unix.CAP_SETPCAP: true, unix.CAP_NET_BIND_SERVICE: true,
	unix.CAP_NET_RAW: true, unix.CAP_SYS_CHROOT: true, unix.CAP_MKNOD: true,
	unix.CAP_AUDIT_WRITE: true, unix.CAP_SETFCAP: true,
}

// limitCaps shrinks this thread's bounding set to keptCaps and clears its
// inheritable set, so the command (forked from this thread) cannot regain
// the rest through execve.
func limitCaps() error {
	last := 63
	if v, ok := sysctl("kernel/cap_last_cap"); ok {
		if n, err := strconv.Atoi(v); err == nil {
			last = n
		}
	}
	for c := 0; c <= last; c++ {
		if keptCaps[c] {
			continue
		}
		if err := unix.Prctl(unix.PR_CAPBSET_DROP, uintptr(c), 0, 0, 0); err != nil && err != unix.EINVAL {
			return fmt.Errorf("dropping capability %d: %w", c, err)
		}
	}
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	var data [2]unix.CapUserData
	if err := unix.Capget(&hdr, &data[0]); err != nil {
		return fmt.Errorf("capget: %w", err)
	}
	data[0].Inheritable, data[1].Inheritable = 0, 0
	if err := unix.Capset(&hdr, &data[0]); err != nil {
		return fmt.Errorf("capset: %w", err)
	}
	return nil
}

// limitCommand sets what the command inherits: no_new_privs (no execve
// gains privileges through set-id bits or file capabilities; a root step
// has them all in its namespace already, a USER step must not get them) and
// the largest file it may write (RLIMIT_FSIZE: beyond it a write fails with
// EFBIG and the process gets SIGXFSZ).
func limitCommand(fileSize int64) error {
	if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
		return fmt.Errorf("setting no_new_privs: %w", err)
	}
	lim := unix.Rlimit{Cur: uint64(fileSize), Max: uint64(fileSize)}
	if err := unix.Setrlimit(unix.RLIMIT_FSIZE, &lim); err != nil {
		return fmt.Errorf("limiting file size to %d bytes: %w", fileSize, err)
	}
	return nil
}
