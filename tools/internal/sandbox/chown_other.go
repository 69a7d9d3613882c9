//go:build linux && !amd64 && !arm64

package sandbox

// No chown emulation on this architecture (see chown_linux.go).
const auditArch = 0

var chownSyscalls []chownSyscall
