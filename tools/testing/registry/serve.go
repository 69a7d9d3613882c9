package registry

import (
	"context"
	"fmt"
	"io"

	"github.com/stagex/stagex-bazel/tools/internal/atomicfile"
)

// ServeOptions say what Serve serves and where it tells its addresses.
type ServeOptions struct {
	Options
	// AddrFile, when set, receives the address ("127.0.0.1:PORT") once the
	// registry listens, written atomically so that a script may wait for
	// the file to appear.
	AddrFile string
	// TLSAddrFile and TLSCert, with Options.TLS, receive the HTTPS address
	// and the throw-away certificate (PEM); the certificate first.
	TLSAddrFile, TLSCert string
	// Stdout receives the address once the registry listens.
	Stdout io.Writer
}

// Serve serves a registry until ctx ends, as stagex-registry does: it
// starts it, writes its addresses, prints the address on o.Stdout, and
// closes it when ctx ends or the server stops.
func Serve(ctx context.Context, o ServeOptions) error {
	s, err := Start(o.Options)
	if err != nil {
		return err
	}
	if o.TLS {
		// The certificate first: a script that sees the address may use it.
		err := atomicfile.WriteFile(o.TLSCert, s.TLSCert(), 0o644)
		if err == nil {
			err = atomicfile.WriteFile(o.TLSAddrFile, []byte(s.TLSHost()+"\n"), 0o644)
		}
		if err != nil {
			s.Close()
			return err
		}
	}
	if o.AddrFile != "" {
		if err := atomicfile.WriteFile(o.AddrFile, []byte(s.Host()+"\n"), 0o644); err != nil {
			s.Close()
			return err
		}
	}
	fmt.Fprintln(o.Stdout, s.Host())
	select {
	case <-ctx.Done():
	case <-s.Done():
	}
	return s.Close()
}
