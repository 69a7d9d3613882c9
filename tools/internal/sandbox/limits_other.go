//go:build linux && !amd64 && !arm64

package sandbox

// No system call filter on this architecture (see limits_linux.go).
var deniedSyscallTable []deniedSyscalls
