// Command stagex-registry serves an empty, writable OCI registry on a
// loopback port until it is interrupted: for tests and local end-to-end
// runs (tools/scripts/e2e.sh). See package registry.
//
//	stagex-registry [--addr 127.0.0.1:0] [--addr-file FILE] [--token TOKEN]
//	                [--tls-addr-file FILE --tls-cert FILE] [-v]
//
// With --token, every /v2/ request needs that bearer token, which the
// registry hands out at /token (as registries that want a token even for
// anonymous pulls do). With --tls-addr-file and --tls-cert, it also serves
// HTTPS on another loopback port, whose address goes to the first file and
// whose throw-away certificate (PEM) to the second. Once listening, it
// prints the address ("127.0.0.1:PORT") on stdout and, with --addr-file,
// writes it to FILE (atomically, so a script may wait for the file to
// appear). It exits 0 when stopped cleanly, 1 when serving failed, 2 on a
// wrong command line.
package main

import (
	"context"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/stagex/stagex-bazel/tools/internal/cli"
	"github.com/stagex/stagex-bazel/tools/testing/registry"
)

const usage = "usage: stagex-registry [--addr 127.0.0.1:0] [--addr-file FILE] [--token TOKEN] [--tls-addr-file FILE --tls-cert FILE] [-v]"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	o, err := parse(args, stderr)
	if err == nil {
		o.Stdout = stdout
		err = registry.Serve(ctx, o)
	}
	return cli.Exit("stagex-registry", err, stderr)
}

// parse maps the command line to registry.ServeOptions.
func parse(args []string, stderr io.Writer) (registry.ServeOptions, error) {
	var o registry.ServeOptions
	fs := cli.NewFlagSet("stagex-registry", usage, stderr)
	fs.StringVar(&o.Addr, "addr", registry.DefaultAddr, "loopback host:port to listen on; port 0 picks a free one")
	fs.StringVar(&o.AddrFile, "addr-file", "", "file to write the address to once listening")
	verbose := fs.Bool("v", false, "log every request on stderr")
	fs.StringVar(&o.Token, "token", "", "require this bearer token, handed out at "+registry.TokenPath)
	fs.StringVar(&o.TLSAddrFile, "tls-addr-file", "", "also serve HTTPS; file to write its address to")
	fs.StringVar(&o.TLSCert, "tls-cert", "", "with --tls-addr-file: file to write the HTTPS certificate (PEM) to")
	if err := cli.Parse(fs, args); err != nil {
		return o, err
	}
	if (o.TLSAddrFile == "") != (o.TLSCert == "") {
		return o, cli.Usagef("--tls-addr-file and --tls-cert go together")
	}
	o.TLS = o.TLSAddrFile != ""
	if *verbose {
		o.Log = stderr
	}
	return o, nil
}
