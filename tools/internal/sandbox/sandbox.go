// Package sandbox runs one command inside an isolated root filesystem, the
// way a Containerfile RUN step runs: in fresh user, mount, pid, network, UTS,
// IPC and cgroup namespaces, with the root directory pivoted to Spec.Root and
// the host filesystem detached.
//
// The program that uses this package must call Init first thing in main:
// Run re-executes /proc/self/exe as the sandbox's init (pid 1 of the new pid
// namespace), and Init is where that process does its work.
//
// What the command sees:
//   - "/" is Spec.Root (bind-mounted onto itself, then pivot_root; the old
//     root is detached, so no host path is reachable, not even for root);
//   - a fresh /proc for the new pid namespace, with /proc/sys, /proc/irq,
//     /proc/bus, /proc/fs and /proc/sysrq-trigger read-only and a few
//     information files (kcore, keys, timer_list, ...) masked;
//   - a tmpfs /dev holding read-only bind mounts of the host's null, zero,
//     full, random, urandom and tty, the fd/stdin/stdout/stderr/ptmx links, a
//     tmpfs /dev/shm and a private devpts /dev/pts;
//   - Spec.Pipes in /dev/pipes, a read-only tmpfs, if any;
//   - a tmpfs /tmp only if Spec.TmpFS is set (otherwise /tmp is Root's);
//   - a network namespace whose only interface is an up loopback;
//   - hostname Spec.Hostname ("stagex" by default);
//   - umask 022, working directory Spec.Dir, the ids of Spec.User;
//   - exactly the environment Spec.Env. Nothing is inherited from the host:
//     the caller supplies everything, normally SOURCE_DATE_EPOCH=1, TZ=UTC,
//     LANG=C.UTF-8, LC_ALL=C and PATH (and HOME if wanted);
//   - the capability bounding set of a default container (chown,
//     dac_override, fowner, fsetid, kill, setgid, setuid, setpcap, setfcap,
//     net_bind_service, net_raw, sys_chroot, mknod, audit_write); in
//     particular no CAP_SYS_ADMIN, so the command cannot undo the mounts
//     above;
//   - no_new_privs, files of at most Spec.FileSizeLimit bytes, and at most
//     Spec.MaxProcesses processes and threads in its pid namespace (on
//     Linux 6.14 or later, see ProcessLimitEnforced);
//   - a seccomp filter under which io_uring_setup, io_uring_enter,
//     io_uring_register, add_key, request_key and keyctl fail with ENOSYS,
//     as on a kernel built without them. Nothing else is filtered: a build
//     must behave as under BuildKit.
//
// User ids. If the calling process is root with CAP_SETUID/CAP_SETGID and
// its own user namespace maps ids 0..65535, the sandbox maps ids 0..65535
// onto the same ids outside (identity map): files the command creates in Root
// get their real owners, which is what the caller's diff of Root must record.
// The price is that root in the sandbox is the caller's root for permission
// checks; that is why the host filesystem is detached, /proc is restricted,
// device nodes are read-only bind mounts and CAP_SYS_ADMIN is dropped. The
// sandbox is meant to keep build steps hermetic, not to contain hostile
// code.
//
// Otherwise (an unprivileged caller, or root in a namespace that maps only
// itself, as in Bazel's linux-sandbox) the sandbox is in single-id mode:
// only id 0 is mapped, to the caller's own uid and gid, setgroups is denied
// and supplementary groups are not set (the caller's own stay, seen as id 0
// or as the overflow group). A USER that resolves to root runs as id 0. A
// non-root USER is emulated: the command starts in a further,
// nested user namespace in which its uid and gid are the only ids, mapped
// onto the sandbox's id 0, with setgroups denied and no_new_privs set, and
// runs as that uid and gid without capabilities (id -u prints the USER's
// uid). Files it creates are on disk owned by the caller, like every file
// of the root; recording them as owned by the USER is the caller's job
// (LookupUser and SingleIDMode tell it whom and when). The emulation
// deviates from a system with many ids: every file of the root appears
// owned by the USER, so permission checks are more lenient (the command may
// write files and directories that a real build's user could not), and
// chown to any other id fails. A command that runs as root may have its
// chown calls emulated and recorded instead of refused (Spec.RecordChown).
// A USER of uid 0 with another gid, and ids above 65535 (as in the range
// mode), are errors; Spec.SingleID forces this mode, e.g. to test a build
// as it runs under Bazel.
//
// Mount points: the sandbox needs Root/proc and Root/dev (and Root/tmp with
// TmpFS) to be directories. Missing ones are created before the run and
// removed after it, and Root's modification time is put back if nothing
// else changed Root's entries; everything else the sandbox mounts lives in
// its own namespace and vanishes with it. Root must not be used by two runs
// at once.
package sandbox

import (
	"errors"
	"fmt"
	"io"
	"syscall"

	"github.com/stagex/stagex-bazel/tools/internal/stagex"
)

// Spec describes one command to run.
type Spec struct {
	// Root is the directory that becomes "/". It must exist and not be "/".
	Root string
	// Args is argv. If Args[0] contains no '/', it is looked up inside Root
	// in the PATH found in Env; otherwise it is used as is (relative to Dir).
	Args []string
	// Env is the complete environment of the command, as KEY=VALUE.
	Env []string
	// Dir is the absolute working directory inside Root; "" means "/". It
	// must already exist: the sandbox does not create it (the caller, which
	// owns Root's contents, does that for WORKDIR).
	Dir string
	// User is a USER value: "", "uid", "uid:gid", "name" or "name:group",
	// resolved with Root's /etc/passwd and /etc/group. "" is uid 0.
	User string
	// Hostname is the UTS host name; "" means "stagex".
	Hostname string
	// TmpFS mounts an empty tmpfs on /tmp for the run (at most TmpSize).
	TmpFS bool
	// FileSizeLimit is the largest file the command may write, in bytes;
	// 0 means DefaultFileSizeLimit.
	FileSizeLimit int64
	// MaxProcesses is the most processes and threads (the init's
	// included) the sandbox's pid namespace may hold at once; a fork or
	// thread beyond it fails with EAGAIN. 0 means DefaultMaxProcesses; it
	// must be at least MinMaxProcesses. See ProcessLimitEnforced.
	MaxProcesses int
	// SingleID forces single-id mode (see the package doc) even when the
	// caller could map a range of ids: the run then behaves as under
	// Bazel's linux-sandbox, which tests of that mode use.
	SingleID bool
	// Pipes are files the command finds in /dev/pipes, a read-only
	// directory of the sandbox's own /dev (so never in Root), where
	// BuildKit mounts the script of a RUN heredoc that starts with "#!".
	Pipes []PipeFile
	// RecordChown, when set, makes chown work for a command that runs as
	// root in single-id mode: the sandbox emulates the calls and, after
	// the run, gives RecordChown each ownership change the command asked
	// for, in order, for the caller to record (see Chown). It is not
	// called in the range mode, where chown is real, nor for a non-root
	// USER.
	RecordChown func(Chown)
	// KeepMountPoints leaves the directories /dev, /proc and /sys in Root
	// when the command ends, creating those that are missing, as runc
	// does for BuildKit (whose layers then hold them); otherwise the
	// mount points Run had to create are removed again.
	KeepMountPoints bool

	// Stdin, Stdout and Stderr are the command's standard streams; nil
	// means /dev/null.
	Stdin          io.Reader
	Stdout, Stderr io.Writer
}

// PipeFile is one file of /dev/pipes.
type PipeFile struct {
	Name string // a plain file name
	Data []byte
	Mode uint32 // permission bits
}

// Chown is one ownership change a command asked for in single-id mode.
type Chown struct {
	// Path is the file's absolute path in Root, symbolic links resolved.
	Path string
	// UID and GID are the ids asked for; -1 leaves one unchanged.
	UID, GID int
}

// PipesDir is where Spec.Pipes appear.
const PipesDir = "/dev/pipes"

// DefaultHostname is the host name used when Spec.Hostname is empty.
const DefaultHostname = stagex.Hostname

// ExitError reports that the command ran and did not exit with status 0.
type ExitError struct {
	// Code is the exit status, or 128+signal number if it was killed.
	Code int
	// Signal is the signal that killed the command, or 0.
	Signal syscall.Signal
	// Tasks, when not 0, is how many processes and threads the sandbox
	// held when the command ended, reported because it was near the
	// process limit, MaxProcesses (at least 90% of it): a fork may have
	// failed for it.
	Tasks, MaxProcesses int
}

func (e *ExitError) Error() string {
	var msg string
	if e.Signal != 0 {
		msg = fmt.Sprintf("command killed by signal %d (%v)", int(e.Signal), e.Signal)
	} else {
		msg = fmt.Sprintf("command exited with status %d", e.Code)
	}
	if e.Tasks != 0 {
		msg += fmt.Sprintf(" with %d processes and threads left, near the process limit of %d (a fork beyond it fails with EAGAIN)", e.Tasks, e.MaxProcesses)
	}
	return msg
}

// ErrUnsupported is wrapped by every error that says the kernel or the
// environment does not let this process create the namespaces it needs.
var ErrUnsupported = errors.New("user namespaces are not available")

// Limits of every run. The command cannot raise them: it has no_new_privs
// and no capability outside its user namespace.
const (
	// DefaultFileSizeLimit is the largest file a command may write unless
	// Spec.FileSizeLimit says otherwise: generous (a layer may hold 64 GiB
	// of files, see layer.DefaultMaxBytes), but finite.
	DefaultFileSizeLimit = 64 << 30
	// DefaultMaxProcesses is the process limit unless
	// Spec.MaxProcesses says otherwise: far more than a parallel build
	// of StageX's largest packages runs at once, but a fork bomb ends.
	DefaultMaxProcesses = 16384
	// MinMaxProcesses is the smallest Spec.MaxProcesses: the limit is
	// the pid_max of the sandbox's pid namespace, which the kernel keeps
	// above 300 (its reserved pids).
	MinMaxProcesses = 300
	// DevSize bounds each of the RAM-backed /dev and /dev/shm, as runc's
	// default OCI spec does (BuildKit runs RUN steps with it).
	DevSize = "65536k"
	// TmpSize bounds the RAM-backed /tmp of Spec.TmpFS.
	TmpSize = "1g"
)

// RequireEnv names the environment variable that, set to 1, turns the
// tests' skip where Supported fails into a failure (CI sets it), so that a
// machine without user namespaces cannot pass the sandbox and runner
// suites with none of their tests run.
const RequireEnv = "STAGEX_REQUIRE_NAMESPACES"
