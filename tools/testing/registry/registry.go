// Package registry runs an OCI distribution registry on a loopback address.
//
// It serves go-containerregistry's in-memory registry, which accepts pushes
// without authentication. That is what tests and local end-to-end runs need
// (push an image, then pull it back or let Bazel's downloader fetch it), and
// it is also why the server refuses to listen anywhere but on loopback:
// nothing outside the machine may write to it.
package registry

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"time"

	ggcr "github.com/google/go-containerregistry/pkg/registry"
)

// DefaultAddr listens on an unused port of the IPv4 loopback address.
const DefaultAddr = "127.0.0.1:0"

// Options configure Start.
type Options struct {
	// Addr is the host:port to listen on; the host must be a loopback IP
	// address or "localhost". Empty means DefaultAddr.
	Addr string
	// Log receives one line per request; nil discards them.
	Log io.Writer
	// Wrap, when set, wraps the registry's handler, for example to make a
	// test server misbehave.
	Wrap func(http.Handler) http.Handler
	// Token, when set, is a bearer token every request to /v2/ must carry;
	// the registry hands it out at TokenPath (see requireToken).
	Token string
	// TLS also serves the registry over HTTPS on a second loopback port
	// (TLSHost), with a throw-away self-signed certificate (TLSCert), for
	// clients that send credentials only over HTTPS.
	TLS bool
}

// Server is a running registry.
type Server struct {
	ln  net.Listener
	srv *http.Server
	// tlsLn, tlsSrv and certPEM are set when Options.TLS is.
	tlsLn   net.Listener
	tlsSrv  *http.Server
	certPEM []byte
	// done is closed when Serve has returned.
	done chan struct{}
	err  error
}

// Start listens on opts.Addr and serves a new, empty registry until Close.
func Start(opts Options) (*Server, error) {
	addr := opts.Addr
	if addr == "" {
		addr = DefaultAddr
	}
	if err := checkLoopback(addr); err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("registry: %w", err)
	}
	out := opts.Log
	if out == nil {
		out = io.Discard
	}
	var h http.Handler = ggcr.New(ggcr.Logger(log.New(out, "registry: ", 0)))
	if opts.Token != "" {
		h = requireToken(opts.Token, h)
	}
	if opts.Wrap != nil {
		h = opts.Wrap(h)
	}
	s := &Server{
		ln:   ln,
		srv:  &http.Server{Handler: h, ReadHeaderTimeout: 30 * time.Second},
		done: make(chan struct{}),
	}
	if opts.TLS {
		if err := s.listenTLS(ln.Addr().(*net.TCPAddr).IP, h); err != nil {
			ln.Close()
			return nil, err
		}
	}
	go func() {
		defer close(s.done)
		if err := s.srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
			s.err = err
		}
	}()
	return s, nil
}

// listenTLS serves h over HTTPS on another port of the same loopback IP.
func (s *Server) listenTLS(ip net.IP, h http.Handler) error {
	cert, certPEM, err := selfSigned()
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", net.JoinHostPort(ip.String(), "0"))
	if err != nil {
		return fmt.Errorf("registry: %w", err)
	}
	s.certPEM = certPEM
	s.tlsLn = tls.NewListener(ln, &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12})
	s.tlsSrv = &http.Server{Handler: h, ReadHeaderTimeout: 30 * time.Second}
	go s.tlsSrv.Serve(s.tlsLn)
	return nil
}

// TLSHost returns the address of the HTTPS port ("" without Options.TLS).
func (s *Server) TLSHost() string {
	if s.tlsLn == nil {
		return ""
	}
	return s.tlsLn.Addr().String()
}

// TLSCert returns the PEM certificate the HTTPS port presents, which its
// clients must trust (nil without Options.TLS).
func (s *Server) TLSCert() []byte { return s.certPEM }

// checkLoopback fails unless addr's host is a loopback address.
func checkLoopback(addr string) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("registry: address %q: expected host:port: %w", addr, err)
	}
	if host == "localhost" {
		return nil
	}
	ip := net.ParseIP(host)
	if ip == nil || !ip.IsLoopback() {
		return fmt.Errorf("registry: address %q: expected a loopback address such as %s; this registry accepts pushes from anyone who can reach it", addr, DefaultAddr)
	}
	return nil
}

// Host returns the address clients use, "127.0.0.1:<port>": the registry
// part of an image reference such as 127.0.0.1:5000/stagex/core-box.
func (s *Server) Host() string { return s.ln.Addr().String() }

// URL returns the base URL of the registry, "http://127.0.0.1:<port>".
func (s *Server) URL() string { return "http://" + s.Host() }

// Close stops the server, waiting up to five seconds for requests in flight.
func (s *Server) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err := s.srv.Shutdown(ctx)
	if s.tlsSrv != nil {
		if terr := s.tlsSrv.Shutdown(ctx); err == nil {
			err = terr
		}
	}
	<-s.done
	if err == nil {
		err = s.err
	}
	return err
}

// Done is closed when the server has stopped, by Close or by an error that
// Close then returns.
func (s *Server) Done() <-chan struct{} { return s.done }
