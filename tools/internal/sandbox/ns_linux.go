package sandbox

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// cloneFlags are the namespaces every sandbox gets.
const cloneFlags = syscall.CLONE_NEWUSER | syscall.CLONE_NEWNS | syscall.CLONE_NEWPID |
	syscall.CLONE_NEWNET | syscall.CLONE_NEWUTS | syscall.CLONE_NEWIPC | unix.CLONE_NEWCGROUP

// rangeSize is how many ids the identity map covers when the caller may map
// a range.
const rangeSize = 65536

// idRange is one line of /proc/PID/{uid,gid}_map.
type idRange struct{ inside, outside, count uint64 }

// parseIDMap parses the text of a uid_map or gid_map file.
func parseIDMap(text string) ([]idRange, error) {
	var out []idRange
	for _, line := range strings.Split(text, "\n") {
		f := strings.Fields(line)
		if len(f) == 0 {
			continue
		}
		if len(f) != 3 {
			return nil, fmt.Errorf("bad id map line %q", line)
		}
		var v [3]uint64
		for i := range f {
			n, err := strconv.ParseUint(f[i], 10, 64)
			if err != nil {
				return nil, fmt.Errorf("bad id map line %q", line)
			}
			v[i] = n
		}
		out = append(out, idRange{v[0], v[1], v[2]})
	}
	return out, nil
}

// mapped reports whether id lies in one of the ranges (inside side).
func mapped(ranges []idRange, id uint64) bool {
	for _, r := range ranges {
		if id >= r.inside && id-r.inside < r.count {
			return true
		}
	}
	return false
}

// covers reports whether every id in [0, n) is mapped.
func covers(ranges []idRange, n uint64) bool {
	for id := uint64(0); id < n; {
		next := id
		for _, r := range ranges {
			if id >= r.inside && id-r.inside < r.count {
				next = r.inside + r.count
				break
			}
		}
		if next == id {
			return false
		}
		id = next
	}
	return true
}

func readIDMap(path string) ([]idRange, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return parseIDMap(string(b))
}

// hasCaps reports whether the effective capability set of this process
// holds all of caps.
func hasCaps(caps ...uint) bool {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return false
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		v, ok := strings.CutPrefix(sc.Text(), "CapEff:")
		if !ok {
			continue
		}
		mask, err := strconv.ParseUint(strings.TrimSpace(v), 16, 64)
		if err != nil {
			return false
		}
		for _, c := range caps {
			if mask&(1<<c) == 0 {
				return false
			}
		}
		return true
	}
	return false
}

// idMode is how ids are mapped into the sandbox.
type idMode struct {
	single    bool // only id 0 is mapped
	uids      []syscall.SysProcIDMap
	gids      []syscall.SysProcIDMap
	setgroups bool
}

// detectIDMode picks the identity range map when this process may write it,
// and the single map 0 -> own ids otherwise.
func detectIDMode() idMode {
	if os.Geteuid() == 0 && os.Getegid() == 0 && hasCaps(unix.CAP_SETUID, unix.CAP_SETGID) {
		u, uerr := readIDMap("/proc/self/uid_map")
		g, gerr := readIDMap("/proc/self/gid_map")
		if uerr == nil && gerr == nil && covers(u, rangeSize) && covers(g, rangeSize) {
			m := []syscall.SysProcIDMap{{ContainerID: 0, HostID: 0, Size: rangeSize}}
			return idMode{uids: m, gids: m, setgroups: true}
		}
	}
	return singleIDMode()
}

// singleIDMode maps id 0 onto this process's own ids.
func singleIDMode() idMode {
	return idMode{
		single: true,
		uids:   []syscall.SysProcIDMap{{ContainerID: 0, HostID: os.Geteuid(), Size: 1}},
		gids:   []syscall.SysProcIDMap{{ContainerID: 0, HostID: os.Getegid(), Size: 1}},
	}
}

// SingleIDMode reports whether Run, called by this process without
// Spec.SingleID, maps only id 0 into the sandbox (see the package doc), so
// that a non-root USER is emulated.
func SingleIDMode() bool { return detectIDMode().single }

// sysProcAttr is the clone setup for a sandbox process.
func (m idMode) sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{
		Cloneflags:                 cloneFlags,
		UidMappings:                m.uids,
		GidMappings:                m.gids,
		GidMappingsEnableSetgroups: m.setgroups,
		Pdeathsig:                  syscall.SIGKILL,
	}
}

// Supported returns nil if this process can create the sandbox's
// namespaces, and otherwise an error wrapping ErrUnsupported that says in
// plain words what forbids them. It creates (and at once discards) one set
// of namespaces, which takes about a millisecond.
func Supported() error {
	if v, ok := sysctl("user/max_user_namespaces"); ok && v == "0" {
		return fmt.Errorf("%w: they are disabled on this machine (sysctl user.max_user_namespaces=0); the sandbox needs them", ErrUnsupported)
	}
	attr := detectIDMode().sysProcAttr()
	attr.Pdeathsig = 0
	// Exec'ing /dev/null fails after the namespaces and id maps were set up;
	// EACCES (or ENOENT without /dev/null) therefore means success.
	pid, err := syscall.ForkExec("/dev/null", []string{"/dev/null"}, &syscall.ProcAttr{Sys: attr})
	if err == nil {
		var ws syscall.WaitStatus
		_, _ = syscall.Wait4(pid, &ws, 0, nil)
		return nil
	}
	if errors.Is(err, syscall.EACCES) || errors.Is(err, syscall.ENOENT) {
		return nil
	}
	return explainCloneError(err)
}

// explainCloneError turns the failure to create the namespaces into an error
// wrapping ErrUnsupported with the likely cause.
func explainCloneError(err error) error {
	var hints []string
	if v, ok := sysctl("user/max_user_namespaces"); ok && v == "0" {
		hints = append(hints, "sysctl user.max_user_namespaces=0 disables user namespaces")
	}
	if os.Geteuid() != 0 {
		if v, ok := sysctl("kernel/unprivileged_userns_clone"); ok && v == "0" {
			hints = append(hints, "sysctl kernel.unprivileged_userns_clone=0 forbids user namespaces to unprivileged users")
		}
		if v, ok := sysctl("kernel/apparmor_restrict_unprivileged_userns"); ok && v == "1" {
			hints = append(hints, "sysctl kernel.apparmor_restrict_unprivileged_userns=1: AppArmor forbids user namespaces to unprivileged programs without a profile")
		}
	}
	switch {
	case len(hints) > 0:
	case errors.Is(err, syscall.EPERM):
		hints = append(hints, "the kernel refused with EPERM: user namespaces are forbidden here, e.g. by a seccomp filter or a container runtime that runs this process")
	case errors.Is(err, syscall.ENOSPC), errors.Is(err, syscall.EUSERS):
		hints = append(hints, "the limit on user namespaces is reached (sysctl user.max_user_namespaces) or nesting is too deep")
	case errors.Is(err, syscall.EINVAL):
		hints = append(hints, "the kernel does not support one of the namespaces (CONFIG_USER_NS, CONFIG_PID_NS, CONFIG_NET_NS, ...)")
	}
	msg := fmt.Sprintf("%v: creating user/mount/pid/net/uts/ipc/cgroup namespaces failed: %v", ErrUnsupported, err)
	if len(hints) > 0 {
		msg += " (" + strings.Join(hints, "; ") + ")"
	}
	return &unsupportedError{msg: msg, err: err}
}

type unsupportedError struct {
	msg string
	err error
}

func (e *unsupportedError) Error() string { return e.msg }

func (e *unsupportedError) Unwrap() []error { return []error{ErrUnsupported, e.err} }

// sysctl reads /proc/sys/<name>.
func sysctl(name string) (string, bool) {
	b, err := os.ReadFile("/proc/sys/" + name)
	if err != nil {
		return "", false
	}
	return strings.TrimSpace(string(b)), true
}
