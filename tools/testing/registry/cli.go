package registry

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// Command runs stagex-registry with args (without the program name): it
// serves a registry until ctx ends and returns the exit code (0 stopped
// cleanly, 1 failed, 2 bad usage).
//
//	stagex-registry [--addr 127.0.0.1:0] [--addr-file FILE] [--token TOKEN]
//	                [--tls-addr-file FILE --tls-cert FILE] [-v]
//
// With --token, every /v2/ request needs that bearer token, which the
// registry hands out at /token (as registries that want a token even for
// anonymous pulls do). With --tls-addr-file and --tls-cert, it also serves
// HTTPS on another loopback port, whose address goes to the first file and
// whose throw-away certificate (PEM) to the second. Once listening, it prints the address ("127.0.0.1:PORT") on stdout and,
// with --addr-file, writes it to FILE (atomically, so a script may wait for
// the file to appear).
func Command(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("stagex-registry", flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := fs.String("addr", DefaultAddr, "loopback host:port to listen on; port 0 picks a free one")
	addrFile := fs.String("addr-file", "", "file to write the address to once listening")
	verbose := fs.Bool("v", false, "log every request on stderr")
	token := fs.String("token", "", "require this bearer token, handed out at "+TokenPath)
	tlsAddrFile := fs.String("tls-addr-file", "", "also serve HTTPS; file to write its address to")
	tlsCert := fs.String("tls-cert", "", "with --tls-addr-file: file to write the HTTPS certificate (PEM) to")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: stagex-registry [--addr 127.0.0.1:0] [--addr-file FILE] [--token TOKEN] [--tls-addr-file FILE --tls-cert FILE] [-v]")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "stagex-registry: unexpected argument %q\n", fs.Arg(0))
		return 2
	}
	if (*tlsAddrFile == "") != (*tlsCert == "") {
		fmt.Fprintln(stderr, "stagex-registry: --tls-addr-file and --tls-cert go together")
		return 2
	}
	opts := Options{Addr: *addr, Token: *token, TLS: *tlsAddrFile != ""}
	if *verbose {
		opts.Log = stderr
	}
	s, err := Start(opts)
	if err != nil {
		fmt.Fprintf(stderr, "stagex-registry: %v\n", err)
		return 1
	}
	if opts.TLS {
		// The certificate first: a script that sees the address may use it.
		err := writeFileAtomic(*tlsCert, string(s.TLSCert()))
		if err == nil {
			err = writeFileAtomic(*tlsAddrFile, s.TLSHost()+"\n")
		}
		if err != nil {
			s.Close()
			fmt.Fprintf(stderr, "stagex-registry: %v\n", err)
			return 1
		}
	}
	if *addrFile != "" {
		if err := writeFileAtomic(*addrFile, s.Host()+"\n"); err != nil {
			s.Close()
			fmt.Fprintf(stderr, "stagex-registry: %v\n", err)
			return 1
		}
	}
	fmt.Fprintln(stdout, s.Host())
	select {
	case <-ctx.Done():
	case <-s.Done():
	}
	if err := s.Close(); err != nil {
		fmt.Fprintf(stderr, "stagex-registry: %v\n", err)
		return 1
	}
	return 0
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
