// Command mksock leaves a unix socket behind, as a daemon that was killed
// (gpg-agent in a RUN step) does:
//
//	mksock PATH...
//
// It binds a socket at each PATH and exits without removing them. The
// BuildKit differential tests copy it into an image to see what becomes of
// such sockets in the layers.
package main

import (
	"fmt"
	"net"
	"os"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: mksock PATH...")
		os.Exit(2)
	}
	for _, p := range os.Args[1:] {
		if err := leave(p); err != nil {
			fmt.Fprintln(os.Stderr, "mksock:", err)
			os.Exit(1)
		}
	}
}

// leave binds a unix socket at p and closes it, keeping the file.
func leave(p string) error {
	l, err := net.ListenUnix("unix", &net.UnixAddr{Name: p, Net: "unix"})
	if err != nil {
		return err
	}
	l.SetUnlinkOnClose(false)
	return l.Close()
}
