package regclient

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"syscall"
	"time"
)

// Client talks to registries. It is safe for concurrent use.
type Client struct {
	opts    Options
	creds   Credentials
	hc      *http.Client
	actions string

	mu   sync.Mutex
	auth map[string]string // Authorization header per registry origin
}

// New returns a client that pulls, or that pushes too when push is set
// (which decides the access a bearer token is asked for).
func New(opts Options, push bool) (*Client, error) {
	creds := opts.Credentials
	if creds == nil {
		c, err := DefaultCredentials()
		if err != nil {
			return nil, err
		}
		creds = c
	}
	rt := opts.Transport
	if rt == nil {
		d := opts.dialTimeout()
		rt = &http.Transport{
			Proxy:                 http.ProxyFromEnvironment,
			DialContext:           (&net.Dialer{Timeout: d, KeepAlive: 30 * time.Second}).DialContext,
			ForceAttemptHTTP2:     true,
			MaxIdleConnsPerHost:   4,
			IdleConnTimeout:       90 * time.Second,
			TLSHandshakeTimeout:   d,
			ExpectContinueTimeout: time.Second,
		}
	}
	actions := "pull"
	if push {
		actions = "pull,push"
	}
	return &Client{
		opts:    opts,
		creds:   creds,
		hc:      &http.Client{Transport: rt, CheckRedirect: checkRedirect},
		actions: actions,
		auth:    map[string]string{},
	}, nil
}

// Options returns the options the client was made with.
func (c *Client) Options() Options { return c.opts }

func (c *Client) scheme(host string) string {
	if c.opts.PlainHTTP || isLoopback(host) {
		return "http"
	}
	return "https"
}

// origin returns "scheme://host:port" of u in lower case, with the
// scheme's default port written out: credentials belong to one origin.
func origin(u *url.URL) string {
	scheme := strings.ToLower(u.Scheme)
	port := u.Port()
	if port == "" {
		switch scheme {
		case "http":
			port = "80"
		case "https":
			port = "443"
		}
	}
	return scheme + "://" + net.JoinHostPort(strings.ToLower(u.Hostname()), port)
}

// registryOrigin is the origin of repo's registry, the only one that gets
// its credentials and tokens.
func (c *Client) registryOrigin(repo Repository) string {
	return origin(&url.URL{Scheme: c.scheme(repo.Host), Host: repo.Host})
}

// owns reports whether rawURL is on repo's registry origin.
func (c *Client) owns(repo Repository, rawURL string) bool {
	u, err := url.Parse(rawURL)
	return err == nil && origin(u) == c.registryOrigin(repo)
}

// checkRedirect follows at most 10 redirects and drops the Authorization
// header on a redirect to another origin than the first request's (the
// standard client keeps it for the same host name on another port or
// scheme, and for subdomains).
func checkRedirect(req *http.Request, via []*http.Request) error {
	if len(via) >= 10 {
		return errors.New("stopped after 10 redirects")
	}
	if origin(req.URL) != origin(via[0].URL) {
		req.Header.Del("Authorization")
		req.Header.Del("Cookie")
	}
	return nil
}

// endpoint returns the URL of /v2/<path>/<kind>/<ref> on repo's registry.
func (c *Client) endpoint(repo Repository, kind, ref string) string {
	return fmt.Sprintf("%s://%s/v2/%s/%s/%s", c.scheme(repo.Host), repo.Host, repo.Path, kind, ref)
}

// request is one HTTP exchange, possibly sent several times.
type request struct {
	method string
	url    string
	header http.Header
	// body opens the request body afresh for each attempt; nil: none.
	body func() (io.ReadCloser, error)
	size int64
	// ok lists the status codes that count as success.
	ok []int
	// once sends the request a single time (the caller retries).
	once bool
	// foreign marks a request to a token realm: it gets no registry
	// Authorization and a 401 is final. A request to another origin than
	// the registry's (an upload Location elsewhere) is treated so too.
	foreign bool
}

// do sends req to repo's registry, authenticating when the registry asks
// and retrying what is worth retrying. The caller closes the response body.
func (c *Client) do(ctx context.Context, repo Repository, req request) (*http.Response, error) {
	attempts := c.opts.attempts()
	if req.once {
		attempts = 1
	}
	authed := false
	for attempt := 1; ; attempt++ {
		resp, err := c.send(ctx, repo, req)
		if err != nil {
			if attempt >= attempts || !Retryable(err) {
				return nil, explain(req.method, req.url, err)
			}
			c.opts.Logf("%s %s: %v; trying again (attempt %d of %d)", req.method, req.url, err, attempt+1, attempts)
			if err := c.pause(ctx, attempt); err != nil {
				return nil, explain(req.method, req.url, err)
			}
			continue
		}
		if resp.StatusCode == http.StatusUnauthorized && !authed && !req.foreign && c.owns(repo, req.url) {
			authed = true
			challenge := resp.Header.Get("WWW-Authenticate")
			drain(resp)
			if err := c.authenticate(ctx, repo, challenge); err != nil {
				return nil, fmt.Errorf("%s %s: %w", req.method, req.url, err)
			}
			attempt--
			continue
		}
		for _, code := range req.ok {
			if resp.StatusCode == code {
				return resp, nil
			}
		}
		if attempt < attempts && retryableStatus(resp.StatusCode) {
			c.opts.Logf("%s %s: %s; trying again (attempt %d of %d)", req.method, req.url, resp.Status, attempt+1, attempts)
			drain(resp)
			if err := c.pause(ctx, attempt); err != nil {
				return nil, explain(req.method, req.url, err)
			}
			continue
		}
		return nil, statusError(req.method, req.url, resp)
	}
}

// send makes one attempt of req. The registry's Authorization goes only
// to its own origin. The request is abandoned when its body or the
// response's stalls (Options.IdleTimeout) or the answer does not come
// (Options.HeaderTimeout).
func (c *Client) send(ctx context.Context, repo Repository, req request) (*http.Response, error) {
	var body io.ReadCloser
	if req.body != nil {
		b, err := req.body()
		if err != nil {
			return nil, err
		}
		body = b
	}
	ctx, cancel := context.WithCancelCause(ctx)
	x := watchExchange(cancel, c.opts.idleTimeout(), c.opts.headerTimeout(), body != nil)
	if body != nil {
		body = x.body(body)
	}
	r, err := http.NewRequestWithContext(ctx, req.method, req.url, body)
	if err != nil {
		x.answered()
		cancel(nil)
		if body != nil {
			body.Close()
		}
		return nil, err
	}
	if body != nil {
		r.ContentLength = req.size
	}
	for k, v := range req.header {
		r.Header[k] = v
	}
	if !req.foreign && c.owns(repo, req.url) {
		c.mu.Lock()
		a := c.auth[c.registryOrigin(repo)]
		c.mu.Unlock()
		if a != "" {
			r.Header.Set("Authorization", a)
		}
	}
	resp, err := c.hc.Do(r)
	x.answered()
	if err != nil {
		// The watch's reason, rather than the "context canceled" the
		// transport saw.
		var stall *StallError
		var noAnswer *NoAnswerError
		if cause := context.Cause(ctx); errors.As(cause, &stall) || errors.As(cause, &noAnswer) {
			err = cause
		}
		cancel(nil)
		return nil, err
	}
	resp.Body = watchBody(resp.Body, cancel, c.opts.idleTimeout())
	return resp, nil
}

// pause waits before attempt+1: Backoff, doubled after each attempt, at
// most 30 seconds.
func (c *Client) pause(ctx context.Context, attempt int) error {
	d := c.opts.backoff()
	for i := 1; i < attempt && d < 30*time.Second; i++ {
		d *= 2
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// authenticate answers a 401 challenge: Basic with the host's
// credentials, or a bearer token from the realm the challenge names.
func (c *Client) authenticate(ctx context.Context, repo Repository, challenge string) error {
	scheme, params := parseChallenge(challenge)
	user, pass, haveCreds := c.creds.Lookup(repo.Host)
	basic := "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+pass))
	switch strings.ToLower(scheme) {
	case "basic":
		if !haveCreds {
			return fmt.Errorf("the registry %s asks for a user name and password, and none is configured for it (docker login / podman login, or $REGISTRY_AUTH_FILE)", repo.Host)
		}
		c.setAuth(repo, basic)
		return nil
	case "bearer":
	default:
		return fmt.Errorf("the registry %s refused access (401) with an authentication challenge this client does not know: %q", repo.Host, challenge)
	}
	realm := params["realm"]
	u, err := url.Parse(realm)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return fmt.Errorf("the registry %s names a token realm that is not an http(s) URL: %q", repo.Host, realm)
	}
	if u.User != nil {
		return fmt.Errorf("the registry %s names a token realm with a user name in it (%s); refused", repo.Host, u.Redacted())
	}
	own := origin(u) == c.registryOrigin(repo)
	if !own && u.Scheme != "https" {
		return fmt.Errorf("the registry %s names a token realm on another server over plain http (%s); a realm elsewhere than the registry must use https", repo.Host, u.Redacted())
	}
	if haveCreds && !own && !sameDomain(repo.Host, u.Host) {
		return fmt.Errorf("the registry %s names a token realm on another domain (%s); its credentials are sent only to the registry's own domain", repo.Host, u.Redacted())
	}
	q := u.Query()
	if s := params["service"]; s != "" {
		q.Set("service", s)
	}
	q.Add("scope", "repository:"+repo.Path+":"+c.actions)
	u.RawQuery = q.Encode()
	req := request{method: http.MethodGet, url: u.String(), ok: []int{http.StatusOK}, foreign: true}
	if haveCreds {
		req.header = http.Header{"Authorization": {basic}}
	}
	resp, err := c.do(ctx, repo, req)
	if err != nil {
		return fmt.Errorf("getting an access token: %w", err)
	}
	defer resp.Body.Close()
	// The fields are matched exactly (encoding/json would take "Token"
	// or "ACCESS_TOKEN" too).
	var fields map[string]json.RawMessage
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&fields); err != nil {
		return fmt.Errorf("getting an access token from %s: expected JSON with \"token\": %v", u.Host, err)
	}
	t := stringField(fields, "token")
	if t == "" {
		t = stringField(fields, "access_token")
	}
	if t == "" {
		return fmt.Errorf("getting an access token from %s: the answer holds no token (expected a \"token\" or \"access_token\" string)", u.Host)
	}
	c.setAuth(repo, "Bearer "+t)
	return nil
}

// stringField is the string value of fields[name], "" when absent or not
// a string.
func stringField(fields map[string]json.RawMessage, name string) string {
	var s string
	if raw, ok := fields[name]; ok && json.Unmarshal(raw, &s) == nil {
		return s
	}
	return ""
}

// sameDomain reports whether realmHost is within the domain of
// registryHost (ports aside): the same host, or the registry's parent
// domain and its subdomains ("registry.example.org" lets its credentials go
// to "auth.example.org", but "ghcr.io" only to itself and its
// subdomains). An IP address matches only itself.
func sameDomain(registryHost, realmHost string) bool {
	r, h := bareHost(registryHost), bareHost(realmHost)
	if r == h {
		return true
	}
	if net.ParseIP(r) != nil || net.ParseIP(h) != nil {
		return false
	}
	domain := r
	if _, parent, ok := strings.Cut(r, "."); ok && strings.Contains(parent, ".") {
		domain = parent
	}
	return h == domain || strings.HasSuffix(h, "."+domain)
}

// bareHost is host without port and brackets, in lower case.
func bareHost(host string) string {
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	return strings.ToLower(strings.TrimSuffix(strings.TrimPrefix(host, "["), "]"))
}

func (c *Client) setAuth(repo Repository, value string) {
	c.mu.Lock()
	c.auth[c.registryOrigin(repo)] = value
	c.mu.Unlock()
}

// parseChallenge splits `Bearer realm="x",service="y"` into its scheme and
// parameters.
func parseChallenge(h string) (string, map[string]string) {
	scheme, rest, _ := strings.Cut(strings.TrimSpace(h), " ")
	params := map[string]string{}
	for rest != "" {
		rest = strings.TrimLeft(rest, " ,")
		key, after, ok := strings.Cut(rest, "=")
		if !ok {
			break
		}
		key = strings.ToLower(strings.TrimSpace(key))
		var val string
		if strings.HasPrefix(after, `"`) {
			end := strings.Index(after[1:], `"`)
			if end < 0 {
				val, rest = after[1:], ""
			} else {
				val, rest = after[1:1+end], after[2+end:]
			}
		} else {
			val, rest, _ = strings.Cut(after, ",")
		}
		params[key] = val
	}
	return scheme, params
}

// Retryable reports whether a request that failed with err may succeed
// when sent again: a dropped or reset connection, or a timeout. A refused
// connection, an unknown host, a certificate problem or the context's end
// are final.
func Retryable(err error) bool {
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return false
	}
	var dnsErr *net.DNSError
	if errors.As(err, &dnsErr) {
		return dnsErr.IsTimeout
	}
	if errors.Is(err, syscall.ECONNREFUSED) {
		return false
	}
	var certErr *tls.CertificateVerificationError
	var authErr x509.UnknownAuthorityError
	var hostErr x509.HostnameError
	if errors.As(err, &certErr) || errors.As(err, &authErr) || errors.As(err, &hostErr) {
		return false
	}
	var netErr net.Error
	if errors.As(err, &netErr) && netErr.Timeout() {
		return true
	}
	return errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.ECONNABORTED) ||
		errors.Is(err, syscall.EPIPE) || errors.Is(err, net.ErrClosed)
}

func retryableStatus(code int) bool {
	switch code {
	case http.StatusRequestTimeout, http.StatusTooManyRequests, http.StatusInternalServerError,
		http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return true
	}
	return false
}

// explain adds to a transport error what it most likely means.
func explain(method, u string, err error) error {
	var hint string
	var dnsErr *net.DNSError
	var opErr *net.OpError
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		hint = "gave up: the time limit of the operation ran out"
	case errors.As(err, &dnsErr):
		hint = "the registry host name does not resolve"
	case errors.Is(err, syscall.ECONNREFUSED):
		hint = "the registry is unreachable: nothing listens on that port"
	case errors.As(err, &opErr) && opErr.Op == "dial" && opErr.Timeout():
		hint = "the registry is unreachable: no answer within the connection timeout"
	case strings.Contains(err.Error(), "server gave HTTP response to HTTPS client"):
		hint = "the registry speaks plain HTTP (allow it with --plain-http)"
	}
	if hint == "" {
		return fmt.Errorf("%s %s: %w", method, u, err)
	}
	return fmt.Errorf("%s %s: %s: %w", method, u, hint, err)
}

// StatusError is an answer of the registry with an unexpected status.
type StatusError struct {
	Method, URL string
	StatusCode  int
	Status      string
	// Codes are the error codes of the body ("MANIFEST_UNKNOWN"), if any.
	Codes   []string
	Message string
}

func (e *StatusError) Error() string {
	msg := fmt.Sprintf("%s %s: %s", e.Method, e.URL, e.Status)
	if e.Message != "" {
		msg += ": " + e.Message
	}
	return msg
}

// statusError reads the OCI error body of resp, if any, and closes it.
func statusError(method, u string, resp *http.Response) error {
	defer resp.Body.Close()
	data, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	e := &StatusError{Method: method, URL: u, StatusCode: resp.StatusCode, Status: resp.Status}
	var body struct {
		Errors []struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		} `json:"errors"`
	}
	if json.Unmarshal(data, &body) == nil && len(body.Errors) > 0 {
		var parts []string
		for _, x := range body.Errors {
			e.Codes = append(e.Codes, x.Code)
			parts = append(parts, strings.TrimSpace(x.Code+" "+x.Message))
		}
		e.Message = strings.Join(parts, "; ")
	} else if s := strings.TrimSpace(string(data)); s != "" && len(s) < 300 {
		e.Message = s
	}
	return e
}

// drain reads what is left of a response body (so that the connection
// can be reused) and closes it.
func drain(resp *http.Response) {
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
}
