// Package regclient is a small client of the OCI distribution API: it checks,
// uploads and downloads blobs and manifests by digest, which is all that
// pushing and pulling StageX images needs.
//
// Its network behaviour is bounded: each connection attempt has a timeout,
// a request that failed in a way worth retrying (a dropped connection, a
// 408, 429 or 5xx answer) is tried a fixed number of times with growing
// pauses, a refused connection or an unknown host fails at once, and the
// caller's context bounds everything, a request or response body that
// moves less than MinTransfer bytes per IdleTimeout is abandoned, and so is
// a request the registry does not answer within HeaderTimeout. Everything
// downloaded is checked against its digest and size before it is kept, and
// a registry that answers an upload with another digest fails it.
//
// Registries on a loopback address are spoken to over plain HTTP, others
// over HTTPS. Credentials come from the Docker and Podman configuration
// files (see Credentials) and, like the tokens got with them, go only to
// the registry's own scheme, host and port: not to an upload location or a
// redirect elsewhere. A registry that asks for a bearer token gets one
// from the realm it names, anonymously when there are no credentials; a
// realm must be https unless it is on the registry's origin, and gets the
// credentials only within the registry's domain.
//
// (go-containerregistry's remote package would do this too, but it drags in
// the Docker CLI's modules for its credential helpers; this client needs
// only the standard library and go-containerregistry's data types.)
package regclient

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net/http"
	"time"
)

// Defaults of Options.
const (
	DefaultAttempts    = 3
	DefaultDialTimeout = 10 * time.Second
	DefaultTimeout     = 30 * time.Minute
	// DefaultProgressMin is the smallest transfer that gets progress lines.
	DefaultProgressMin = 1 << 20
	// DefaultIdleTimeout is the default of Options.IdleTimeout.
	DefaultIdleTimeout = time.Minute
	// DefaultHeaderTimeout is the default of Options.HeaderTimeout:
	// generous, as a registry may copy a large blob to its storage before
	// it answers the upload.
	DefaultHeaderTimeout = 5 * time.Minute
	// MinTransfer is the least a response body must deliver per
	// IdleTimeout.
	MinTransfer = 1 << 10
)

// Options configure a Client. The zero value means the defaults.
type Options struct {
	// Attempts is how many times a request is tried in all when it fails
	// in a way worth retrying, waiting 1s, 2s, 4s, ... in between. 0 means
	// DefaultAttempts.
	Attempts int
	// DialTimeout bounds each attempt to open a connection. 0 means
	// DefaultDialTimeout.
	DialTimeout time.Duration
	// Timeout bounds a whole push or pull (see Deadline). 0 means
	// DefaultTimeout.
	Timeout time.Duration
	// Log receives progress and status lines; nil discards them.
	Log io.Writer
	// ProgressMin is the smallest total size, in bytes, reported as it
	// goes; smaller transfers report only when done. 0 means
	// DefaultProgressMin.
	ProgressMin int64
	// ProgressEvery is the least time between two progress lines. 0 means
	// two seconds.
	ProgressEvery time.Duration
	// PlainHTTP speaks HTTP rather than HTTPS to every registry, not only
	// to those on loopback.
	PlainHTTP bool
	// Credentials gives user names and passwords per registry host; nil
	// means DefaultCredentials().
	Credentials Credentials
	// Transport replaces the HTTP transport (tests); nil means one built
	// from DialTimeout.
	Transport http.RoundTripper
	// Backoff is the pause before the second attempt, doubling after each
	// further one. 0 means one second.
	Backoff time.Duration
	// IdleTimeout abandons a request whose body the registry takes, or a
	// response whose body it delivers, at less than MinTransfer bytes in
	// any period of this length (a registry that stops reading or
	// sending, or trickles). 0 means DefaultIdleTimeout.
	IdleTimeout time.Duration
	// HeaderTimeout abandons a request the registry does not answer
	// (sends no response headers) within this time of receiving all of
	// it. 0 means DefaultHeaderTimeout.
	HeaderTimeout time.Duration
}

func (o Options) attempts() int {
	if o.Attempts > 0 {
		return o.Attempts
	}
	return DefaultAttempts
}

func (o Options) dialTimeout() time.Duration {
	if o.DialTimeout > 0 {
		return o.DialTimeout
	}
	return DefaultDialTimeout
}

func (o Options) idleTimeout() time.Duration {
	if o.IdleTimeout > 0 {
		return o.IdleTimeout
	}
	return DefaultIdleTimeout
}

func (o Options) headerTimeout() time.Duration {
	if o.HeaderTimeout > 0 {
		return o.HeaderTimeout
	}
	return DefaultHeaderTimeout
}

func (o Options) backoff() time.Duration {
	if o.Backoff > 0 {
		return o.Backoff
	}
	return time.Second
}

// Deadline returns ctx bounded by the Timeout option.
func (o Options) Deadline(ctx context.Context) (context.Context, context.CancelFunc) {
	t := o.Timeout
	if t <= 0 {
		t = DefaultTimeout
	}
	return context.WithTimeout(ctx, t)
}

// Logf writes one status line to Log.
func (o Options) Logf(format string, args ...any) {
	if o.Log != nil {
		fmt.Fprintf(o.Log, format+"\n", args...)
	}
}

// AddFlags registers the command-line flags that set o's network bounds:
// --attempts, --connect-timeout, --timeout, --idle-timeout, --header-timeout
// and --plain-http.
func (o *Options) AddFlags(fs *flag.FlagSet) {
	fs.IntVar(&o.Attempts, "attempts", DefaultAttempts, "tries per request that failed in a way worth retrying (dropped connection, timeout, 408/429/5xx)")
	fs.DurationVar(&o.DialTimeout, "connect-timeout", DefaultDialTimeout, "time limit for opening each connection")
	fs.DurationVar(&o.Timeout, "timeout", DefaultTimeout, "time limit for the whole operation")
	fs.DurationVar(&o.IdleTimeout, "idle-timeout", DefaultIdleTimeout, fmt.Sprintf("abandon an upload or download that moves less than %d bytes in this time", MinTransfer))
	fs.DurationVar(&o.HeaderTimeout, "header-timeout", DefaultHeaderTimeout, "abandon a request the registry does not answer within this time of receiving it")
	fs.BoolVar(&o.PlainHTTP, "plain-http", false, "speak plain HTTP to the registry even when it is not on loopback")
}
