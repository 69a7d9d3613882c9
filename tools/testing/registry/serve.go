package registry

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
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
		err := writeFileAtomic(o.TLSCert, string(s.TLSCert()))
		if err == nil {
			err = writeFileAtomic(o.TLSAddrFile, s.TLSHost()+"\n")
		}
		if err != nil {
			s.Close()
			return err
		}
	}
	if o.AddrFile != "" {
		if err := writeFileAtomic(o.AddrFile, s.Host()+"\n"); err != nil {
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

func writeFileAtomic(name, content string) error {
	tmp, err := os.CreateTemp(filepath.Dir(name), "."+filepath.Base(name)+".tmp")
	if err != nil {
		return err
	}
	if _, err := tmp.WriteString(content); err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return err
	}
	if err := tmp.Close(); err != nil {
		os.Remove(tmp.Name())
		return err
	}
	return os.Rename(tmp.Name(), name)
}
