//go:build linux

package sandbox

import "golang.org/x/sys/unix"

// auditArch and chownSyscalls are the native system calls the chown
// emulation catches (see chown_linux.go); arm64 has only fchown and
// fchownat.
const auditArch = unix.AUDIT_ARCH_AARCH64

var chownSyscalls = []chownSyscall{
	{nr: unix.SYS_FCHOWN, dirfd: 0, path: -1, uid: 1, flags: -1},
	{nr: unix.SYS_FCHOWNAT, dirfd: 0, path: 1, uid: 2, flags: 4},
}
