package sandbox

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Emulated chown in single-id mode.
//
// A sandbox that maps only id 0 cannot give a file any other owner: the
// kernel refuses chown to an unmapped id (EINVAL). A build step that runs
// as root and chowns (chown -R, install -o, tar x as root) would fail, or
// lose the owner BuildKit records. When Spec.RecordChown is set, the
// sandbox's init therefore installs a seccomp filter, inherited by the
// command and every process it starts, that turns chown, lchown, fchown
// and fchownat into notifications to the init (seccomp user notification,
// Linux 5.0). For each, the init opens the file the call names, as the
// calling process would resolve it (from its working directory, its
// descriptor or its root, following symbolic links as the call does),
// applies chown(-1, -1) to it (which changes nothing but the change time
// and clears the set-user-ID and set-group-ID bits of a regular file, as a
// real chown does), records the file's path and the ids asked for, and
// answers 0, or the errno opening or changing the file gave. Run hands the
// records to Spec.RecordChown in order; the caller keeps them as the
// files' owners (stagebuild records them for the layer, as it records the
// files of an emulated USER).
//
// What the emulation does not do: the command does not see the new owner
// (stat still shows id 0, as for every file of the root); a call through a
// hard link records that name only; files outside the root's filesystem
// (the sandbox's /dev, /proc, a TmpFS /tmp) are changed but not recorded;
// a non-root USER, which runs in a nested user namespace, gets no
// emulation (its chown to another id fails, as it would for a real
// non-root user, with EINVAL instead of EPERM); and only the native
// system call numbers are caught (32-bit and x32 calls on amd64 fail as
// before). Architectures other than amd64 and arm64 have no emulation.

// seccompData, seccompNotif and seccompNotifResp are the kernel's struct
// seccomp_data, seccomp_notif and seccomp_notif_resp.
type seccompData struct {
	Nr   int32
	Arch uint32
	IP   uint64
	Args [6]uint64
}

type seccompNotif struct {
	ID    uint64
	Pid   uint32
	Flags uint32
	Data  seccompData
}

type seccompNotifResp struct {
	ID    uint64
	Val   int64
	Error int32
	Flags uint32
}

// chownSyscall describes where a chown system call keeps its arguments.
type chownSyscall struct {
	nr         int32
	dirfd      int  // index of the directory descriptor, or -1 (AT_FDCWD)
	path       int  // index of the path, or -1 (the descriptor itself)
	uid        int  // index of the uid; the gid follows it
	flags      int  // index of the flags, or -1
	noFollowOp bool // the call never follows a final symbolic link
}

// chownFilter is the BPF program: the listed system calls of the native
// architecture notify, everything else is allowed.
func chownFilter(arch uint32, calls []chownSyscall) []unix.SockFilter {
	stmt := func(code uint16, k uint32) unix.SockFilter { return unix.SockFilter{Code: code, K: k} }
	n := len(calls)
	prog := []unix.SockFilter{
		stmt(unix.BPF_LD|unix.BPF_W|unix.BPF_ABS, 4), // seccomp_data.arch
		{Code: unix.BPF_JMP | unix.BPF_JEQ | unix.BPF_K, K: arch, Jt: 0, Jf: uint8(n + 1)},
		stmt(unix.BPF_LD|unix.BPF_W|unix.BPF_ABS, 0), // seccomp_data.nr
	}
	for i, c := range calls {
		// Equal: jump over the remaining tests and the allow to notify.
		prog = append(prog, unix.SockFilter{Code: unix.BPF_JMP | unix.BPF_JEQ | unix.BPF_K, K: uint32(c.nr), Jt: uint8(n - i), Jf: 0})
	}
	return append(prog,
		stmt(unix.BPF_RET|unix.BPF_K, unix.SECCOMP_RET_ALLOW),
		stmt(unix.BPF_RET|unix.BPF_K, unix.SECCOMP_RET_USER_NOTIF),
	)
}

// chownSupervisor answers the notifications of one sandbox's filter.
type chownSupervisor struct {
	fd           int // the listener
	stopR, stopW int // closing stopW ends serve
	done         chan struct{}
	rootDev      uint64

	mu      sync.Mutex
	records []Chown
}

// startChownSupervisor installs the filter on the calling thread, which
// must be locked to its goroutine and be the one that starts the command,
// and serves its notifications until stop. The caller (the init) must make
// none of the filtered calls itself afterwards.
func startChownSupervisor() (*chownSupervisor, error) {
	if len(chownSyscalls) == 0 {
		return nil, fmt.Errorf("emulating chown: not implemented on this architecture")
	}
	var st unix.Stat_t
	if err := unix.Stat("/", &st); err != nil {
		return nil, err
	}
	var p [2]int
	if err := unix.Pipe2(p[:], unix.O_CLOEXEC); err != nil {
		return nil, err
	}
	prog := chownFilter(auditArch, chownSyscalls)
	fprog := unix.SockFprog{Len: uint16(len(prog)), Filter: &prog[0]}
	// SPEC_ALLOW: the filter is no security boundary, so it must not turn
	// on the kernel's speculative-store-bypass mitigation, which slows
	// down every process of the sandbox where the kernel ties it to
	// seccomp.
	fd, _, errno := unix.Syscall(unix.SYS_SECCOMP, unix.SECCOMP_SET_MODE_FILTER,
		unix.SECCOMP_FILTER_FLAG_NEW_LISTENER|unix.SECCOMP_FILTER_FLAG_SPEC_ALLOW, uintptr(unsafe.Pointer(&fprog)))
	if errno != 0 {
		unix.Close(p[0])
		unix.Close(p[1])
		return nil, fmt.Errorf("emulating chown: installing a seccomp filter with a listener (Linux 5.0 or newer): %w", errno)
	}
	unix.CloseOnExec(int(fd))
	s := &chownSupervisor{fd: int(fd), stopR: p[0], stopW: p[1], done: make(chan struct{}), rootDev: uint64(st.Dev)}
	go s.serve()
	return s, nil
}

// stop ends serving and returns the records, in the order of the calls.
func (s *chownSupervisor) stop() []Chown {
	unix.Close(s.stopW)
	<-s.done
	unix.Close(s.stopR)
	unix.Close(s.fd)
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.records
}

func (s *chownSupervisor) serve() {
	defer close(s.done)
	for {
		fds := []unix.PollFd{{Fd: int32(s.fd), Events: unix.POLLIN}, {Fd: int32(s.stopR), Events: unix.POLLIN}}
		if _, err := unix.Poll(fds, -1); err != nil {
			if errors.Is(err, unix.EINTR) {
				continue
			}
			return
		}
		if fds[1].Revents != 0 {
			return
		}
		if fds[0].Revents&unix.POLLIN == 0 {
			if fds[0].Revents != 0 {
				return // the listener is gone
			}
			continue
		}
		var req seccompNotif
		if _, _, errno := unix.Syscall(unix.SYS_IOCTL, uintptr(s.fd), unix.SECCOMP_IOCTL_NOTIF_RECV, uintptr(unsafe.Pointer(&req))); errno != 0 {
			// ENOENT: the caller died before we read it; EINTR: try again.
			continue
		}
		errno := s.handle(&req)
		resp := seccompNotifResp{ID: req.ID}
		if errno != 0 {
			resp.Error = -int32(errno)
		}
		// An error means the caller is gone; nothing to answer.
		_, _, _ = unix.Syscall(unix.SYS_IOCTL, uintptr(s.fd), unix.SECCOMP_IOCTL_NOTIF_SEND, uintptr(unsafe.Pointer(&resp)))
	}
}

// handle carries out one call and returns its errno (0 for success).
func (s *chownSupervisor) handle(req *seccompNotif) unix.Errno {
	var call *chownSyscall
	for i := range chownSyscalls {
		if chownSyscalls[i].nr == req.Data.Nr {
			call = &chownSyscalls[i]
		}
	}
	if call == nil {
		return unix.ENOSYS
	}
	a := req.Data.Args
	pid := int(req.Pid)
	dirfd := unix.AT_FDCWD
	if call.dirfd >= 0 {
		dirfd = int(int32(a[call.dirfd]))
	}
	var flags int
	if call.flags >= 0 {
		flags = int(a[call.flags])
		if flags&^(unix.AT_SYMLINK_NOFOLLOW|unix.AT_EMPTY_PATH) != 0 {
			return unix.EINVAL
		}
	}
	follow := !call.noFollowOp && flags&unix.AT_SYMLINK_NOFOLLOW == 0
	name, self := "", call.path < 0
	if !self {
		var err error
		if name, err = readString(pid, uintptr(a[call.path])); err != nil {
			return errnoOf(err, unix.EFAULT)
		}
		if name == "" {
			if flags&unix.AT_EMPTY_PATH == 0 {
				return unix.ENOENT
			}
			self = true
		}
	}
	// What was read belongs to the caller only if the call is still
	// pending (its id is still valid).
	id := req.ID
	if _, _, errno := unix.Syscall(unix.SYS_IOCTL, uintptr(s.fd), unix.SECCOMP_IOCTL_NOTIF_ID_VALID, uintptr(unsafe.Pointer(&id))); errno != 0 {
		return errno
	}
	fd, err := openAsCaller(pid, dirfd, name, self, follow)
	if err != nil {
		return errnoOf(err, unix.EIO)
	}
	defer unix.Close(fd)
	if err := unix.Fchownat(fd, "", -1, -1, unix.AT_EMPTY_PATH); err != nil {
		return errnoOf(err, unix.EIO)
	}
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil || uint64(st.Dev) != s.rootDev {
		return 0 // changed, but not a file of the root
	}
	p, err := os.Readlink("/proc/self/fd/" + strconv.Itoa(fd))
	if err != nil || !strings.HasPrefix(p, "/") || strings.HasSuffix(p, " (deleted)") {
		return 0
	}
	s.mu.Lock()
	s.records = append(s.records, Chown{Path: p, UID: int(int32(a[call.uid])), GID: int(int32(a[call.uid+1]))})
	s.mu.Unlock()
	return 0
}

// openAsCaller opens, as an O_PATH descriptor, the file process pid names
// with name relative to dirfd (or dirfd itself when self), resolved in
// its root and from its working directory or descriptor.
func openAsCaller(pid, dirfd int, name string, self, follow bool) (int, error) {
	proc := "/proc/" + strconv.Itoa(pid)
	var base string
	switch {
	case !self && strings.HasPrefix(name, "/"):
		base = proc + "/root"
		name = strings.TrimLeft(name, "/")
		if name == "" {
			name = "."
		}
	case dirfd == unix.AT_FDCWD:
		base = proc + "/cwd"
	case dirfd < 0:
		return -1, unix.EBADF
	default:
		base = proc + "/fd/" + strconv.Itoa(dirfd)
	}
	bfd, err := unix.Open(base, unix.O_PATH|unix.O_CLOEXEC, 0)
	if err != nil {
		if errors.Is(err, unix.ENOENT) && dirfd != unix.AT_FDCWD {
			return -1, unix.EBADF
		}
		return -1, err
	}
	if self {
		return bfd, nil
	}
	defer unix.Close(bfd)
	how := unix.O_PATH | unix.O_CLOEXEC
	if !follow {
		how |= unix.O_NOFOLLOW
	}
	return unix.Openat(bfd, name, how, 0)
}

// readString reads a NUL-terminated string of at most PATH_MAX bytes at
// addr in process pid's memory, a page at a time so as not to read past
// the end of its mapping.
func readString(pid int, addr uintptr) (string, error) {
	f, err := os.Open("/proc/" + strconv.Itoa(pid) + "/mem")
	if err != nil {
		return "", err
	}
	defer f.Close()
	const pathMax = 4096
	page := uintptr(os.Getpagesize())
	var out []byte
	for len(out) < pathMax {
		n := int(page - addr%page)
		buf := make([]byte, n)
		got, err := f.ReadAt(buf, int64(addr))
		if got == 0 && err != nil {
			return "", unix.EFAULT
		}
		if i := strings.IndexByte(string(buf[:got]), 0); i >= 0 {
			return string(append(out, buf[:i]...)), nil
		}
		out = append(out, buf[:got]...)
		addr += uintptr(got)
	}
	return "", unix.ENAMETOOLONG
}

// errnoOf is the errno err carries, or def.
func errnoOf(err error, def unix.Errno) unix.Errno {
	var e unix.Errno
	if errors.As(err, &e) {
		return e
	}
	return def
}
