//go:build linux

package sandbox

import "golang.org/x/sys/unix"

// deniedSyscallTable lists the calls the command may not make (see
// limits_linux.go): io_uring_setup, io_uring_enter, io_uring_register,
// add_key, request_key and keyctl, in the native numbering and in the
// 32-bit ARM one, which a compat program reaches too.
var deniedSyscallTable = []deniedSyscalls{
	{arch: unix.AUDIT_ARCH_AARCH64, nrs: []uint32{
		unix.SYS_IO_URING_SETUP, unix.SYS_IO_URING_ENTER, unix.SYS_IO_URING_REGISTER,
		unix.SYS_ADD_KEY, unix.SYS_REQUEST_KEY, unix.SYS_KEYCTL,
	}},
	// arm (EABI): io_uring 425..427, add_key 309, request_key 310,
	// keyctl 311.
	{arch: unix.AUDIT_ARCH_ARM, nrs: []uint32{425, 426, 427, 309, 310, 311}},
}
