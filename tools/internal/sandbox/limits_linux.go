package sandbox

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Limits the init puts on the command beyond capabilities and rlimits: a
// process limit and a seccomp filter that refuses a few system calls.

// ProcessLimitEnforced reports whether this kernel enforces
// Spec.MaxProcesses. The limit is the pid_max of the sandbox's own pid
// namespace, which Linux keeps per namespace since 6.14: a namespace can
// then hold no more tasks than it has pids, whatever the ids of its
// processes (RLIMIT_NPROC does not bind a runner that is root on the host,
// and a pids cgroup is not writable everywhere the runner runs, Bazel's
// sandbox in particular). On an older kernel pid_max is the host's, which
// the sandbox must not touch, and there is no limit.
func ProcessLimitEnforced() bool {
	var u unix.Utsname
	if err := unix.Uname(&u); err != nil {
		return false
	}
	return kernelAtLeast(unix.ByteSliceToString(u.Release[:]), 6, 14)
}

// kernelAtLeast reports whether the kernel release string (as uname gives
// it, "6.18.44-foo") is major.minor or later. An unreadable one is not.
func kernelAtLeast(release string, major, minor int) bool {
	fields := strings.SplitN(release, ".", 3)
	if len(fields) < 2 {
		return false
	}
	maj, err := strconv.Atoi(fields[0])
	if err != nil {
		return false
	}
	digits := fields[1]
	if i := strings.IndexFunc(fields[1], func(r rune) bool { return r < '0' || r > '9' }); i >= 0 {
		digits = fields[1][:i]
	}
	minorGot, err := strconv.Atoi(digits)
	if err != nil {
		return false
	}
	return maj > major || maj == major && minorGot >= minor
}

// limitProcesses sets the pid_max of the init's pid namespace, through the
// proc mounted for it at proc, so that it holds at most n tasks (pids
// 1..n), the init included. Nested pid namespaces cannot raise it: a
// task takes a pid at every level. It must run before proc/sys is made
// read-only.
func limitProcesses(proc string, n int) error {
	if !ProcessLimitEnforced() {
		return nil
	}
	p := proc + "/sys/kernel/pid_max"
	if err := os.WriteFile(p, []byte(strconv.Itoa(n+1)), 0); err != nil {
		return fmt.Errorf("limiting the sandbox to %d processes (the pid_max of its pid namespace): %w", n, err)
	}
	return nil
}

// tasksNearLimit counts the processes and threads of the init's pid
// namespace, which it sees in /proc, and returns their number if it is at
// least 90% of limit, 0 otherwise. Called when the command failed, while
// what it left still runs, it tells whether the limit may be the cause.
func tasksNearLimit(limit int) int {
	if !ProcessLimitEnforced() {
		return 0
	}
	n, err := countTasks()
	if err != nil || n*10 < limit*9 {
		return 0
	}
	return n
}

// countTasks counts the processes and threads in /proc: those of the pid
// namespace proc was mounted for.
func countTasks() (int, error) {
	procs, err := os.ReadDir("/proc")
	if err != nil {
		return 0, err
	}
	n := 0
	for _, p := range procs {
		if _, err := strconv.Atoi(p.Name()); err != nil {
			continue
		}
		// A process that ended meanwhile has no tasks left.
		if tasks, err := os.ReadDir("/proc/" + p.Name() + "/task"); err == nil {
			n += len(tasks)
		}
	}
	return n, nil
}

// deniedSyscall is a system call number the command may not make, for one
// audit architecture.
type deniedSyscalls struct {
	arch uint32
	// mask, if not 0, is cleared from the number before comparing (the
	// x32 bit on amd64).
	mask uint32
	nrs  []uint32
}

// deniedErrno is what a refused call returns: as on a kernel built
// without it, which programs that probe for io_uring or the key
// management calls fall back from.
const deniedErrno = unix.ENOSYS

// denyFilter is the BPF program that makes the calls in each block fail
// with deniedErrno and lets everything else through.
func denyFilter(blocks []deniedSyscalls) []unix.SockFilter {
	stmt := func(code uint16, k uint32) unix.SockFilter { return unix.SockFilter{Code: code, K: k} }
	var prog []unix.SockFilter
	for _, b := range blocks {
		// ld nr, the optional and, one jeq per number, allow, deny.
		body := 1 + len(b.nrs) + 2
		if b.mask != 0 {
			body++
		}
		prog = append(prog,
			stmt(unix.BPF_LD|unix.BPF_W|unix.BPF_ABS, 4), // seccomp_data.arch
			unix.SockFilter{Code: unix.BPF_JMP | unix.BPF_JEQ | unix.BPF_K, K: b.arch, Jt: 0, Jf: uint8(body)},
			stmt(unix.BPF_LD|unix.BPF_W|unix.BPF_ABS, 0), // seccomp_data.nr
		)
		if b.mask != 0 {
			prog = append(prog, stmt(unix.BPF_ALU|unix.BPF_AND|unix.BPF_K, ^b.mask))
		}
		n := len(b.nrs)
		for i, nr := range b.nrs {
			prog = append(prog, unix.SockFilter{Code: unix.BPF_JMP | unix.BPF_JEQ | unix.BPF_K, K: nr, Jt: uint8(n - i), Jf: 0})
		}
		prog = append(prog,
			stmt(unix.BPF_RET|unix.BPF_K, unix.SECCOMP_RET_ALLOW),
			stmt(unix.BPF_RET|unix.BPF_K, unix.SECCOMP_RET_ERRNO|uint32(deniedErrno)),
		)
	}
	return append(prog, stmt(unix.BPF_RET|unix.BPF_K, unix.SECCOMP_RET_ALLOW))
}

// denySyscalls installs the filter of deniedSyscallTable on the calling
// thread (locked, the one that starts the command), which the command and
// everything it starts inherit. It needs no_new_privs (limitCommand).
func denySyscalls() error {
	if len(deniedSyscallTable) == 0 {
		return nil
	}
	prog := denyFilter(deniedSyscallTable)
	fprog := unix.SockFprog{Len: uint16(len(prog)), Filter: &prog[0]}
	// SPEC_ALLOW: as for the chown emulation's filter, the kernel's
	// speculative-store-bypass mitigation would slow every process of the
	// build down for no gain here.
	_, _, errno := unix.Syscall(unix.SYS_SECCOMP, unix.SECCOMP_SET_MODE_FILTER,
		unix.SECCOMP_FILTER_FLAG_SPEC_ALLOW, uintptr(unsafe.Pointer(&fprog)))
	if errno != 0 {
		return fmt.Errorf("installing the seccomp filter that refuses io_uring and the key management calls: %w", errno)
	}
	return nil
}
