//go:build linux

package sandbox

import "golang.org/x/sys/unix"

// deniedSyscallTable lists the calls the command may not make (see
// limits_linux.go): io_uring_setup, io_uring_enter, io_uring_register,
// add_key, request_key and keyctl, in the native (and x32) numbering and
// in the i386 one, which a 32-bit program reaches too.
var deniedSyscallTable = []deniedSyscalls{
	{arch: unix.AUDIT_ARCH_X86_64, mask: 0x40000000, nrs: []uint32{
		unix.SYS_IO_URING_SETUP, unix.SYS_IO_URING_ENTER, unix.SYS_IO_URING_REGISTER,
		unix.SYS_ADD_KEY, unix.SYS_REQUEST_KEY, unix.SYS_KEYCTL,
	}},
	// i386: io_uring 425..427, add_key 286, request_key 287, keyctl 288.
	{arch: unix.AUDIT_ARCH_I386, nrs: []uint32{425, 426, 427, 286, 287, 288}},
}
