package regclient

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

func TestParseRepository(t *testing.T) {
	for _, tc := range []struct {
		in         string
		host, path string
		ok         bool
	}{
		{"127.0.0.1:5000/stagex/core-box", "127.0.0.1:5000", "stagex/core-box", true},
		{"localhost/stagex/core-box", "localhost", "stagex/core-box", true},
		{"registry.example/a/b/c", "registry.example", "a/b/c", true},
		{"stagex/core-box", "", "", false},           // no host: refused
		{"core-box", "", "", false},                  // no host, no namespace
		{"registry.example/", "", "", false},         // no path
		{"registry.example/Stagex/x", "", "", false}, // upper case path
		{"registry.example/stagex/x:tag", "", "", false},
	} {
		r, err := ParseRepository(tc.in)
		if (err == nil) != tc.ok {
			t.Errorf("ParseRepository(%q) error %v; expected ok=%v", tc.in, err, tc.ok)
			continue
		}
		if tc.ok && (r.Host != tc.host || r.Path != tc.path || r.String() != tc.in) {
			t.Errorf("ParseRepository(%q) = %+v; expected host %q path %q", tc.in, r, tc.host, tc.path)
		}
	}
}

func TestParseDigestReference(t *testing.T) {
	hexd := strings.Repeat("ab", 32)
	for _, tc := range []struct {
		in string
		ok bool
	}{
		{"127.0.0.1:5000/stagex/core-box@sha256:" + hexd, true},
		{"127.0.0.1:5000/stagex/core-box:latest", false},
		{"127.0.0.1:5000/stagex/core-box@sha256:" + hexd[:63], false},
		{"127.0.0.1:5000/stagex/core-box@sha256:" + strings.ToUpper(hexd), false},
		{"127.0.0.1:5000/stagex/core-box@sha512:" + hexd + hexd, false},
		{"stagex/core-box@sha256:" + hexd, false},
	} {
		repo, h, err := ParseDigestReference(tc.in)
		if (err == nil) != tc.ok {
			t.Errorf("ParseDigestReference(%q) error %v; expected ok=%v", tc.in, err, tc.ok)
			continue
		}
		if tc.ok && (repo.Path != "stagex/core-box" || h.Hex != hexd) {
			t.Errorf("ParseDigestReference(%q) = %v, %v", tc.in, repo, h)
		}
	}
}

func TestValidTag(t *testing.T) {
	for tag, ok := range map[string]bool{
		"latest": true, "1.2.3": true, "v1_2-rc": true, "A": true,
		"": false, ".hidden": false, "-x": false, "a/b": false, "a:b": false,
		strings.Repeat("x", 128): true, strings.Repeat("x", 129): false,
	} {
		if got := ValidTag(tag); got != ok {
			t.Errorf("ValidTag(%q) = %v, expected %v", tag, got, ok)
		}
	}
}

func TestParseChallenge(t *testing.T) {
	for _, tc := range []struct {
		in     string
		scheme string
		params map[string]string
	}{
		{`Bearer realm="https://auth.example/token",service="registry.example",scope="repository:a/b:pull"`,
			"Bearer", map[string]string{"realm": "https://auth.example/token", "service": "registry.example", "scope": "repository:a/b:pull"}},
		{`Basic realm="Registry Realm"`, "Basic", map[string]string{"realm": "Registry Realm"}},
		{`Bearer realm=https://x/token, service=svc`, "Bearer", map[string]string{"realm": "https://x/token", "service": "svc"}},
		{``, "", map[string]string{}},
	} {
		scheme, params := parseChallenge(tc.in)
		if scheme != tc.scheme || fmt.Sprint(params) != fmt.Sprint(tc.params) {
			t.Errorf("parseChallenge(%q) = %q %v; expected %q %v", tc.in, scheme, params, tc.scheme, tc.params)
		}
	}
}

type timeoutErr struct{}

func (timeoutErr) Error() string   { return "i/o timeout" }
func (timeoutErr) Timeout() bool   { return true }
func (timeoutErr) Temporary() bool { return true }

func TestRetryable(t *testing.T) {
	for _, tc := range []struct {
		name string
		err  error
		want bool
	}{
		{"refused", &net.OpError{Op: "dial", Err: os.NewSyscallError("connect", syscall.ECONNREFUSED)}, false},
		{"reset", &net.OpError{Op: "read", Err: os.NewSyscallError("read", syscall.ECONNRESET)}, true},
		{"cut short", fmt.Errorf("reading: %w", io.ErrUnexpectedEOF), true},
		{"timeout", &net.OpError{Op: "dial", Err: timeoutErr{}}, true},
		{"unknown host", &net.DNSError{Err: "no such host", Name: "x.invalid", IsNotFound: true}, false},
		{"dns timeout", &net.DNSError{Err: "timeout", Name: "x", IsTimeout: true}, true},
		{"deadline", fmt.Errorf("get: %w", context.DeadlineExceeded), false},
		{"canceled", context.Canceled, false},
		{"certificate", x509.UnknownAuthorityError{}, false},
		{"other", errors.New("something else"), false},
	} {
		if got := Retryable(tc.err); got != tc.want {
			t.Errorf("%s: Retryable(%v) = %v, expected %v", tc.name, tc.err, got, tc.want)
		}
	}
}

func TestAuthFiles(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	b64 := func(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }
	first := write("auth.json", `{"auths": {"registry.example": {"auth": "`+b64("alice:pw1")+`"}}}`)
	second := write("config.json", `{"auths": {
		"https://registry.example/v1/": {"auth": "`+b64("bob:pw2")+`"},
		"other.example:5000": {"username": "carol", "password": "pw:3"},
		"empty.example": {}
	}, "credsStore": "desktop"}`)
	a, err := LoadAuthFiles(first, filepath.Join(dir, "missing.json"), second)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		host, user, pass string
		ok               bool
	}{
		{"registry.example", "alice", "pw1", true}, // first file wins
		{"other.example:5000", "carol", "pw:3", true},
		{"empty.example", "", "", false},
		{"unknown.example", "", "", false},
	} {
		u, p, ok := a.Lookup(tc.host)
		if u != tc.user || p != tc.pass || ok != tc.ok {
			t.Errorf("Lookup(%q) = %q %q %v; expected %q %q %v", tc.host, u, p, ok, tc.user, tc.pass, tc.ok)
		}
	}
	for _, bad := range []string{
		`not json`,
		`{"auths": {"x.example": {"auth": "%%%"}}}`,
		`{"auths": {"x.example": {"auth": "` + b64("nocolon") + `"}}}`,
	} {
		p := write("bad.json", bad)
		if _, err := LoadAuthFiles(p); err == nil || !strings.Contains(err.Error(), p) {
			t.Errorf("LoadAuthFiles(%q) error %v; expected an error naming the file", bad, err)
		}
	}
}

// digestOf returns the digest of b.
func digestOf(b []byte) v1.Hash {
	s := sha256.Sum256(b)
	return v1.Hash{Algorithm: "sha256", Hex: hex.EncodeToString(s[:])}
}

var testManifest = []byte(`{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:` + strings.Repeat("0", 64) + `","size":2},"layers":[]}`)

func repoOf(t *testing.T, srv *httptest.Server, path string) Repository {
	t.Helper()
	return Repository{Host: strings.TrimPrefix(srv.URL, "http://"), Path: path}
}

func newClient(t *testing.T, opts Options) *Client {
	t.Helper()
	if opts.Credentials == nil {
		opts.Credentials = &AuthFiles{}
	}
	if opts.Backoff == 0 {
		opts.Backoff = time.Millisecond
	}
	c, err := New(opts, false)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestBearerToken(t *testing.T) {
	h := digestOf(testManifest)
	var tokenRequests atomic.Int32
	var srv *httptest.Server
	var gotScope, gotService, gotTokenAuth string
	srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.URL.Path == "/token":
			tokenRequests.Add(1)
			gotScope, gotService = r.URL.Query().Get("scope"), r.URL.Query().Get("service")
			gotTokenAuth = r.Header.Get("Authorization")
			fmt.Fprint(w, `{"token": "T0K3N"}`)
		case r.Header.Get("Authorization") != "Bearer T0K3N":
			w.Header().Set("WWW-Authenticate", `Bearer realm="`+srv.URL+`/token",service="test-registry"`)
			w.WriteHeader(http.StatusUnauthorized)
		default:
			w.Header().Set("Content-Type", string(types.OCIManifestSchema1))
			w.Write(testManifest)
		}
	}))
	defer srv.Close()
	repo := repoOf(t, srv, "stagex/core-box")

	for _, creds := range []*AuthFiles{{}, {entries: map[string][2]string{repo.Host: {"alice", "pw"}}}} {
		tokenRequests.Store(0)
		c := newClient(t, Options{Credentials: creds})
		for i := 0; i < 2; i++ {
			raw, mt, err := c.GetManifest(context.Background(), repo, h)
			if err != nil {
				t.Fatalf("GetManifest: %v", err)
			}
			if !bytes.Equal(raw, testManifest) || mt != types.OCIManifestSchema1 {
				t.Errorf("GetManifest = %q, %q", raw, mt)
			}
		}
		if n := tokenRequests.Load(); n != 1 {
			t.Errorf("%d token requests for two manifests; expected the token to be reused", n)
		}
		if gotScope != "repository:stagex/core-box:pull" || gotService != "test-registry" {
			t.Errorf("token asked with scope %q service %q", gotScope, gotService)
		}
		wantAuth := ""
		if _, _, ok := creds.Lookup(repo.Host); ok {
			wantAuth = "Basic " + base64.StdEncoding.EncodeToString([]byte("alice:pw"))
		}
		if gotTokenAuth != wantAuth {
			t.Errorf("token request Authorization %q, expected %q", gotTokenAuth, wantAuth)
		}
	}
}

func TestBasicAuth(t *testing.T) {
	h := digestOf(testManifest)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if u, p, ok := r.BasicAuth(); !ok || u != "alice" || p != "pw" {
			w.Header().Set("WWW-Authenticate", `Basic realm="test"`)
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		w.Write(testManifest)
	}))
	defer srv.Close()
	repo := repoOf(t, srv, "stagex/core-box")

	c := newClient(t, Options{})
	if _, _, err := c.GetManifest(context.Background(), repo, h); err == nil || !strings.Contains(err.Error(), "user name and password") {
		t.Errorf("without credentials: error %v; expected one asking for credentials", err)
	}
	c = newClient(t, Options{Credentials: &AuthFiles{entries: map[string][2]string{repo.Host: {"alice", "pw"}}}})
	if _, _, err := c.GetManifest(context.Background(), repo, h); err != nil {
		t.Errorf("with credentials: %v", err)
	}
}

func TestRetries(t *testing.T) {
	h := digestOf(testManifest)
	for _, tc := range []struct {
		failures int
		status   int
		attempts int
		ok       bool
		requests int32
	}{
		{failures: 2, status: http.StatusServiceUnavailable, attempts: 3, ok: true, requests: 3},
		{failures: 5, status: http.StatusServiceUnavailable, attempts: 3, ok: false, requests: 3},
		{failures: 1, status: http.StatusTooManyRequests, attempts: 2, ok: true, requests: 2},
		{failures: 1, status: http.StatusNotFound, attempts: 3, ok: false, requests: 1}, // final
	} {
		var requests atomic.Int32
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if int(requests.Add(1)) <= tc.failures {
				w.WriteHeader(tc.status)
				fmt.Fprint(w, `{"errors":[{"code":"TEST","message":"failing on purpose"}]}`)
				return
			}
			w.Write(testManifest)
		}))
		c := newClient(t, Options{Attempts: tc.attempts})
		_, _, err := c.GetManifest(context.Background(), repoOf(t, srv, "a/b"), h)
		srv.Close()
		if (err == nil) != tc.ok {
			t.Errorf("%+v: error %v", tc, err)
		}
		if err != nil && !strings.Contains(err.Error(), fmt.Sprint(tc.status)) {
			t.Errorf("%+v: error %q does not name the status", tc, err)
		}
		var se *StatusError
		if err != nil && (!errors.As(err, &se) || len(se.Codes) != 1 || se.Codes[0] != "TEST") {
			t.Errorf("%+v: error %v does not carry the registry's error code", tc, err)
		}
		if n := requests.Load(); n != tc.requests {
			t.Errorf("%+v: %d requests, expected %d", tc, n, tc.requests)
		}
	}
}

func TestUnreachableFailsFast(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	c := newClient(t, Options{Attempts: 5, Backoff: time.Second})
	start := time.Now()
	_, _, err = c.GetManifest(context.Background(), Repository{Host: addr, Path: "a/b"}, digestOf(testManifest))
	if err == nil || !strings.Contains(err.Error(), "unreachable") {
		t.Errorf("error %v; expected one saying the registry is unreachable", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("a refused connection took %v to fail; expected no retries", d)
	}
}

func TestHangingRegistryIsBounded(t *testing.T) {
	// A server that accepts connections and never answers.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			defer conn.Close()
		}
	}()
	opts := Options{Timeout: 300 * time.Millisecond, Attempts: 3}
	c := newClient(t, opts)
	ctx, cancel := opts.Deadline(context.Background())
	defer cancel()
	start := time.Now()
	_, _, err = c.GetManifest(ctx, Repository{Host: ln.Addr().String(), Path: "a/b"}, digestOf(testManifest))
	if err == nil || !strings.Contains(err.Error(), "time limit") {
		t.Errorf("error %v; expected one saying the time limit ran out", err)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("took %v; expected the 300ms time limit to end it", d)
	}
}

func TestDigestMismatch(t *testing.T) {
	blob := []byte("the real blob")
	var requests atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		if strings.Contains(r.URL.Path, "/manifests/") {
			w.Write(append([]byte(" "), testManifest...))
			return
		}
		w.Write([]byte("the fake blob"))
	}))
	defer srv.Close()
	repo := repoOf(t, srv, "a/b")
	c := newClient(t, Options{Attempts: 3})

	_, _, err := c.GetManifest(context.Background(), repo, digestOf(testManifest))
	var mm *DigestMismatchError
	if !errors.As(err, &mm) || mm.Want != digestOf(testManifest).String() {
		t.Errorf("tampered manifest: error %v; expected a digest mismatch", err)
	}

	requests.Store(0)
	path := filepath.Join(t.TempDir(), "blob")
	desc := v1.Descriptor{Digest: digestOf(blob), Size: int64(len(blob))}
	err = c.GetBlob(context.Background(), repo, desc, path, nil)
	if !errors.As(err, &mm) {
		t.Errorf("tampered blob: error %v; expected a digest mismatch", err)
	}
	if n := requests.Load(); n != 1 {
		t.Errorf("tampered blob fetched %d times; a mismatch is final", n)
	}
	if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the tampered blob was left at %s", path)
	}
}

func TestBlobDownloadCutShortIsRetried(t *testing.T) {
	blob := bytes.Repeat([]byte("0123456789"), 1000)
	var requests atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", fmt.Sprint(len(blob)))
		if requests.Add(1) == 1 {
			w.Write(blob[:len(blob)/2])
			conn, _, err := w.(http.Hijacker).Hijack()
			if err == nil {
				conn.Close()
			}
			return
		}
		w.Write(blob)
	}))
	defer srv.Close()
	var log bytes.Buffer
	c := newClient(t, Options{Attempts: 2, Log: &log})
	path := filepath.Join(t.TempDir(), "blob")
	p := c.Options().NewProgress("test", int64(len(blob)))
	err := c.GetBlob(context.Background(), repoOf(t, srv, "a/b"), v1.Descriptor{Digest: digestOf(blob), Size: int64(len(blob))}, path, p)
	if err != nil {
		t.Fatalf("GetBlob: %v (log: %s)", err, log.String())
	}
	got, _ := os.ReadFile(path)
	if !bytes.Equal(got, blob) {
		t.Errorf("file holds %d bytes, expected the %d of the blob", len(got), len(blob))
	}
	if n := requests.Load(); n != 2 {
		t.Errorf("%d requests; expected the cut download to be started again once", n)
	}
	if p.Complete() != int64(len(blob)) {
		t.Errorf("progress %d after a retried download, expected %d", p.Complete(), len(blob))
	}
	if !strings.Contains(log.String(), "attempt 2 of 2") {
		t.Errorf("the retry was not logged: %q", log.String())
	}
}

func TestProgress(t *testing.T) {
	var out bytes.Buffer
	clock := time.Unix(0, 0)
	p := Options{Log: &out, ProgressMin: 1000, ProgressEvery: time.Second}.NewProgress("pushing x", 4000)
	p.now = func() time.Time { return clock }
	p.Set(0)   // first: printed
	p.Add(400) // 10% but too soon
	clock = clock.Add(2 * time.Second)
	p.Add(600)  // 25%: printed
	p.Add(0)    // same percentage
	p.Add(3000) // 100%: printed even though soon
	want := "pushing x: 0 B of 3.9 KiB (0%)\npushing x: 1000 B of 3.9 KiB (25%)\npushing x: 3.9 KiB of 3.9 KiB (100%)\n"
	if out.String() != want {
		t.Errorf("progress lines:\n%s\nexpected:\n%s", out.String(), want)
	}

	out.Reset()
	small := Options{Log: &out, ProgressMin: 1000}.NewProgress("small", 999)
	small.Set(999)
	if out.Len() != 0 {
		t.Errorf("a transfer under ProgressMin printed %q", out.String())
	}
	var nilP *Progress
	nilP.Add(5) // must not panic
	if nilP.Complete() != 0 {
		t.Error("nil Progress counts")
	}
}

func TestSize(t *testing.T) {
	for n, want := range map[int64]string{
		0: "0 B", 1023: "1023 B", 1024: "1.0 KiB", 1536: "1.5 KiB",
		48*1024*1024 + 200*1024: "48.2 MiB", 3 << 30: "3.0 GiB",
	} {
		if got := Size(n); got != want {
			t.Errorf("Size(%d) = %q, expected %q", n, got, want)
		}
	}
}

// TestCredentialsStayWithTheirOrigin: the registry's credentials (and the
// token got with them) go only to the registry's own scheme, host and port,
// never to an upload Location or a redirect elsewhere.
func TestCredentialsStayWithTheirOrigin(t *testing.T) {
	blob := []byte("a blob served from elsewhere")
	desc := v1.Descriptor{Digest: digestOf(blob), Size: int64(len(blob))}
	for _, tc := range []struct {
		name string
		// registry answers an authenticated request for the blob
		// (upload or download), pointing at other.
		registry func(w http.ResponseWriter, r *http.Request, other string)
		run      func(c *Client, repo Repository) error
	}{
		{
			name: "upload Location on another host",
			registry: func(w http.ResponseWriter, r *http.Request, other string) {
				w.Header().Set("Location", other+"/upload/1")
				w.WriteHeader(http.StatusAccepted)
			},
			run: func(c *Client, repo Repository) error {
				return c.PutBlob(context.Background(), repo, desc, func() (io.ReadCloser, error) {
					return io.NopCloser(bytes.NewReader(blob)), nil
				}, nil)
			},
		},
		{
			name: "redirect to the same host on another port",
			registry: func(w http.ResponseWriter, r *http.Request, other string) {
				http.Redirect(w, r, other+"/cdn/blob", http.StatusTemporaryRedirect)
			},
			run: func(c *Client, repo Repository) error {
				return c.GetBlob(context.Background(), repo, desc, filepath.Join(t.TempDir(), "blob"), nil)
			},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var otherRequests atomic.Int32
			var leaked atomic.Value
			other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				otherRequests.Add(1)
				if a := r.Header.Get("Authorization"); a != "" {
					leaked.Store(a)
				}
				if r.Method == http.MethodPut {
					w.WriteHeader(http.StatusCreated)
					return
				}
				w.Write(blob)
			}))
			defer other.Close()
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if u, p, ok := r.BasicAuth(); !ok || u != "alice" || p != "pw" {
					w.Header().Set("WWW-Authenticate", `Basic realm="test"`)
					w.WriteHeader(http.StatusUnauthorized)
					return
				}
				tc.registry(w, r, other.URL)
			}))
			defer srv.Close()
			repo := repoOf(t, srv, "a/b")
			c := newClient(t, Options{Credentials: &AuthFiles{entries: map[string][2]string{repo.Host: {"alice", "pw"}}}})
			if err := tc.run(c, repo); err != nil {
				t.Fatalf("error %v", err)
			}
			if otherRequests.Load() == 0 {
				t.Fatal("the other server got no request")
			}
			if a := leaked.Load(); a != nil {
				t.Errorf("the other server received Authorization %q", a)
			}
		})
	}
}

// TestTokenRealm: a bearer token realm must be http(s) without user
// information, on the registry's own origin or else https; the registry's
// credentials go to it only within the registry's domain; the answer's
// field is "token" or "access_token", spelled exactly.
func TestTokenRealm(t *testing.T) {
	h := digestOf(testManifest)
	var tokenAuth atomic.Value
	var tokenRequests atomic.Int32
	tokenBody := `{"token": "T0K3N"}`
	token := func(w http.ResponseWriter, r *http.Request) {
		tokenRequests.Add(1)
		tokenAuth.Store(r.Header.Get("Authorization"))
		fmt.Fprint(w, tokenBody)
	}
	plainToken := httptest.NewServer(http.HandlerFunc(token))
	defer plainToken.Close()
	tlsToken := httptest.NewTLSServer(http.HandlerFunc(token))
	defer tlsToken.Close()
	var realm string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/token" {
			token(w, r)
			return
		}
		if r.Header.Get("Authorization") != "Bearer T0K3N" {
			w.Header().Set("WWW-Authenticate", `Bearer realm="`+realm+`",service="test"`)
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		w.Write(testManifest)
	}))
	defer srv.Close()
	port := srv.URL[strings.LastIndex(srv.URL, ":")+1:]
	basic := "Basic " + base64.StdEncoding.EncodeToString([]byte("alice:pw"))
	for _, tc := range []struct {
		name  string
		host  string // registry host as the user names it
		realm string
		body  string
		creds bool
		err   string // "" for success
		auth  string // Authorization the token server must see on success
	}{
		{name: "same origin", host: "127.0.0.1", realm: srv.URL + "/token", creds: true, auth: basic},
		{name: "https elsewhere, same host", host: "127.0.0.1", realm: tlsToken.URL + "/token", creds: true, auth: basic},
		{name: "https elsewhere, no credentials", host: "registry.test", realm: tlsToken.URL + "/token", auth: ""},
		{name: "plain http elsewhere", host: "127.0.0.1", realm: plainToken.URL + "/token", creds: true, err: "https"},
		{name: "user information", host: "127.0.0.1", realm: strings.Replace(tlsToken.URL, "://", "://bob:secret@", 1) + "/token", creds: true, err: "user name"},
		{name: "not http", host: "127.0.0.1", realm: "file:///etc/passwd", creds: true, err: "not an http(s) URL"},
		{name: "https on another domain with credentials", host: "registry.test", realm: tlsToken.URL + "/token", creds: true, err: "another domain"},
		{name: "field spelled Token", host: "127.0.0.1", realm: srv.URL + "/token", body: `{"Token": "T0K3N"}`, err: "no token"},
		{name: "field spelled ACCESS_TOKEN", host: "127.0.0.1", realm: srv.URL + "/token", body: `{"ACCESS_TOKEN": "T0K3N"}`, err: "no token"},
		{name: "field access_token", host: "127.0.0.1", realm: srv.URL + "/token", body: `{"access_token": "T0K3N"}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			realm = tc.realm
			tokenBody = tc.body
			if tokenBody == "" {
				tokenBody = `{"token": "T0K3N"}`
			}
			tokenAuth.Store("")
			tokenRequests.Store(0)
			repo := Repository{Host: tc.host + ":" + port, Path: "a/b"}
			creds := &AuthFiles{}
			if tc.creds {
				creds.entries = map[string][2]string{repo.Host: {"alice", "pw"}}
			}
			c := newClient(t, Options{Credentials: creds, Transport: loopbackTransport(tlsToken), PlainHTTP: tc.host != "127.0.0.1"})
			_, _, err := c.GetManifest(context.Background(), repo, h)
			if tc.err == "" {
				if err != nil {
					t.Fatalf("error %v", err)
				}
				if got := tokenAuth.Load(); got != tc.auth {
					t.Errorf("token request Authorization %q, expected %q", got, tc.auth)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Fatalf("error %v; expected one saying %q", err, tc.err)
			}
			if strings.Contains(tc.name, "field") {
				return
			}
			if !strings.Contains(err.Error(), "realm") {
				t.Errorf("error %v does not name the realm", err)
			}
			if n := tokenRequests.Load(); n != 0 {
				t.Errorf("%d requests reached the refused realm", n)
			}
		})
	}
}

// TestPutManifestDigest: a registry that stores a manifest under another
// digest than the one sent fails the push, showing both digests.
func TestPutManifestDigest(t *testing.T) {
	want := digestOf(testManifest).String()
	other := "sha256:" + strings.Repeat("1", 64)
	for _, tc := range []struct {
		header string
		ok     bool
	}{
		{header: want, ok: true},
		{header: "", ok: true},
		{header: other, ok: false},
		{header: "not a digest", ok: false},
	} {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			io.Copy(io.Discard, r.Body)
			if tc.header != "" {
				w.Header().Set("Docker-Content-Digest", tc.header)
			}
			w.WriteHeader(http.StatusCreated)
		}))
		c := newClient(t, Options{})
		err := c.PutManifest(context.Background(), repoOf(t, srv, "a/b"), "latest", types.OCIManifestSchema1, testManifest)
		srv.Close()
		if (err == nil) != tc.ok {
			t.Errorf("Docker-Content-Digest %q: error %v, expected ok=%v", tc.header, err, tc.ok)
		}
		if err != nil && !(strings.Contains(err.Error(), want) && strings.Contains(err.Error(), tc.header)) {
			t.Errorf("Docker-Content-Digest %q: error %q does not show both digests", tc.header, err)
		}
	}
}

// TestStalledBodyIsAbandoned: a body that stops, or trickles slower than
// MinRate, is abandoned after IdleTimeout, long before the overall limit.
func TestStalledBodyIsAbandoned(t *testing.T) {
	for _, tc := range []struct {
		name  string
		every time.Duration // one byte per; 0: none at all
	}{
		{"silent", 0},
		{"trickling", 10 * time.Millisecond},
	} {
		t.Run(tc.name, func(t *testing.T) {
			done := make(chan struct{})
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Length", "100000")
				w.WriteHeader(http.StatusOK)
				w.(http.Flusher).Flush()
				for {
					if tc.every == 0 {
						select {
						case <-done:
						case <-r.Context().Done():
						}
						return
					}
					select {
					case <-done:
						return
					case <-r.Context().Done():
						return
					case <-time.After(tc.every):
					}
					if _, err := w.Write([]byte("x")); err != nil {
						return
					}
					w.(http.Flusher).Flush()
				}
			}))
			defer srv.Close()
			defer close(done)
			c := newClient(t, Options{IdleTimeout: 300 * time.Millisecond, Attempts: 1})
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			start := time.Now()
			_, _, err := c.GetManifest(ctx, repoOf(t, srv, "a/b"), digestOf(testManifest))
			if err == nil || !strings.Contains(err.Error(), "stalled") {
				t.Errorf("error %v; expected one saying the transfer stalled", err)
			}
			if d := time.Since(start); d > 3*time.Second {
				t.Errorf("took %v; expected the 300ms idle timeout to end it", d)
			}
		})
	}
}

// loopbackTransport is srv's client transport (which trusts its certificate)
// dialing every host name on 127.0.0.1, so that a test can name a registry
// "registry.test" without a resolver (Bazel's hermetic sandbox has no
// /etc/hosts, not even for localhost).
func loopbackTransport(srv *httptest.Server) http.RoundTripper {
	tr := srv.Client().Transport.(*http.Transport).Clone()
	var d net.Dialer
	tr.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
		_, port, err := net.SplitHostPort(addr)
		if err != nil {
			return nil, err
		}
		return d.DialContext(ctx, network, net.JoinHostPort("127.0.0.1", port))
	}
	return tr
}

// zeros is an endless source of zero bytes.
type zeros struct{}

func (zeros) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}

// TestStalledUploadIsAbandoned: an upload the registry stops reading, or
// reads too slowly, fails after IdleTimeout, and one it takes whole and
// never answers fails after HeaderTimeout, each naming the URL and the
// limit, long before the overall limit.
func TestStalledUploadIsAbandoned(t *testing.T) {
	const idle, header = 300 * time.Millisecond, 400 * time.Millisecond
	for _, tc := range []struct {
		name string
		// put handles the upload; it returns when done is closed.
		put      func(w http.ResponseWriter, r *http.Request, done <-chan struct{})
		manifest bool // push a manifest rather than a blob
		want     string
	}{
		{
			name: "blob the registry stops reading",
			put: func(w http.ResponseWriter, r *http.Request, done <-chan struct{}) {
				<-done
			},
			want: "the upload stalled: the registry took less than 1024 bytes in 300ms",
		},
		{
			name: "blob the registry reads a byte at a time",
			put: func(w http.ResponseWriter, r *http.Request, done <-chan struct{}) {
				b := make([]byte, 1)
				for {
					select {
					case <-done:
						return
					case <-time.After(10 * time.Millisecond):
					}
					if _, err := r.Body.Read(b); err != nil {
						return
					}
				}
			},
			want: "the upload stalled: the registry took less than 1024 bytes in 300ms",
		},
		{
			name: "blob taken whole, never answered",
			put: func(w http.ResponseWriter, r *http.Request, done <-chan struct{}) {
				io.Copy(io.Discard, r.Body)
				<-done
			},
			want: "no answer: the registry sent no response within 400ms",
		},
		{
			name: "manifest taken whole, never answered",
			put: func(w http.ResponseWriter, r *http.Request, done <-chan struct{}) {
				io.Copy(io.Discard, r.Body)
				<-done
			},
			manifest: true,
			want:     "no answer: the registry sent no response within 400ms",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			done := make(chan struct{})
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				switch r.Method {
				case http.MethodPost:
					w.Header().Set("Location", "/v2/a/b/blobs/uploads/session")
					w.WriteHeader(http.StatusAccepted)
				case http.MethodPut:
					tc.put(w, r, done)
				default:
					w.WriteHeader(http.StatusMethodNotAllowed)
				}
			}))
			defer srv.Close()
			defer close(done)
			c := newClient(t, Options{IdleTimeout: idle, HeaderTimeout: header, Attempts: 1})
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			repo := repoOf(t, srv, "a/b")
			start := time.Now()
			var err error
			var url string
			if tc.manifest {
				url = srv.URL + "/v2/a/b/manifests/latest"
				err = c.PutManifest(ctx, repo, "latest", types.OCIManifestSchema1, testManifest)
			} else {
				// More than the socket buffers between client and server
				// hold, so that a server that stops reading stops the
				// upload.
				const size = 64 << 20
				url = srv.URL + "/v2/a/b/blobs/uploads/session"
				desc := v1.Descriptor{Digest: digestOf(nil), Size: size}
				err = c.PutBlob(ctx, repo, desc, func() (io.ReadCloser, error) {
					return io.NopCloser(io.LimitReader(zeros{}, size)), nil
				}, nil)
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), url) {
				t.Errorf("error %v; expected one naming %s and saying %q", err, url, tc.want)
			}
			if d := time.Since(start); d > 5*time.Second {
				t.Errorf("took %v; expected the idle or header timeout to end it", d)
			}
		})
	}
}
