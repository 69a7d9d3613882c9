//go:build linux

package sandbox

import "golang.org/x/sys/unix"

// auditArch and chownSyscalls are the native system calls the chown
// emulation catches (see chown_linux.go).
const auditArch = unix.AUDIT_ARCH_X86_64

var chownSyscalls = []chownSyscall{
	{nr: unix.SYS_CHOWN, dirfd: -1, path: 0, uid: 1, flags: -1},
	{nr: unix.SYS_LCHOWN, dirfd: -1, path: 0, uid: 1, flags: -1, noFollowOp: true},
	{nr: unix.SYS_FCHOWN, dirfd: 0, path: -1, uid: 1, flags: -1},
	{nr: unix.SYS_FCHOWNAT, dirfd: 0, path: 1, uid: 2, flags: 4},
}
