package registry

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"net/http"
	"strings"
	"testing"
)

func TestServesDistributionAPI(t *testing.T) {
	s, err := Start(Options{})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(s.Host(), "127.0.0.1:") || s.URL() != "http://"+s.Host() {
		t.Errorf("Host() = %q, URL() = %q; expected 127.0.0.1:<port> and its http URL", s.Host(), s.URL())
	}
	resp, err := http.Get(s.URL() + "/v2/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("GET /v2/: %s, expected 200", resp.Status)
	}
	resp, err = http.Get(s.URL() + "/v2/stagex/none/manifests/latest")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("GET a missing manifest: %s, expected 404", resp.Status)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	select {
	case <-s.Done():
	default:
		t.Error("Done is not closed after Close")
	}
	if _, err := http.Get(s.URL() + "/v2/"); err == nil {
		t.Error("the registry still answers after Close")
	}
}

func TestLoopbackOnly(t *testing.T) {
	for _, tc := range []struct {
		addr string
		ok   bool
	}{
		{"127.0.0.1:0", true},
		{"127.0.0.2:0", true},
		{"localhost:0", true},
		{"[::1]:0", true},
		{"0.0.0.0:0", false},
		{":0", false},
		{"192.0.2.1:5000", false},
		{"registry.example:5000", false},
		{"127.0.0.1", false},
	} {
		err := checkLoopback(tc.addr)
		if (err == nil) != tc.ok {
			t.Errorf("checkLoopback(%q) = %v; expected ok=%v", tc.addr, err, tc.ok)
		}
		if !tc.ok {
			if s, err := Start(Options{Addr: tc.addr}); err == nil {
				s.Close()
				t.Errorf("Start(%q) listened; expected a refusal", tc.addr)
			}
		}
	}
}

func TestRequestLog(t *testing.T) {
	var log bytes.Buffer
	s, err := Start(Options{Log: &log})
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.Get(s.URL() + "/v2/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	s.Close()
	if !strings.Contains(log.String(), "GET /v2/") {
		t.Errorf("request log %q does not show GET /v2/", log.String())
	}
}

// TestToken checks a registry that wants a bearer token: requests without
// it (or with another) get 401 and a WWW-Authenticate header naming the
// realm, the realm hands the token out, and requests with it get through.
func TestToken(t *testing.T) {
	s, err := Start(Options{Token: "s3cret"})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	wantChallenge := `Bearer realm="` + s.URL() + `/token",service="stagex-registry"`
	tests := []struct {
		name, path, auth string
		status           int
		challenge        bool
	}{
		{"no token", "/v2/", "", http.StatusUnauthorized, true},
		{"wrong token", "/v2/", "Bearer nope", http.StatusUnauthorized, true},
		{"basic auth", "/v2/", "Basic czNjcmV0", http.StatusUnauthorized, true},
		{"token", "/v2/", "Bearer s3cret", http.StatusOK, false},
		{"token, missing manifest", "/v2/stagex/none/manifests/latest", "Bearer s3cret", http.StatusNotFound, false},
		{"realm", "/token?scope=repository:stagex/none:pull&service=stagex-registry", "", http.StatusOK, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req, err := http.NewRequest(http.MethodGet, s.URL()+tc.path, nil)
			if err != nil {
				t.Fatal(err)
			}
			if tc.auth != "" {
				req.Header.Set("Authorization", tc.auth)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body := new(bytes.Buffer)
			body.ReadFrom(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tc.status {
				t.Errorf("GET %s: %s, want %d", tc.path, resp.Status, tc.status)
			}
			if got := resp.Header.Get("WWW-Authenticate"); (got == wantChallenge) != tc.challenge {
				t.Errorf("WWW-Authenticate = %q, want challenge %v (%q)", got, tc.challenge, wantChallenge)
			}
			if strings.HasPrefix(tc.path, "/token") && !strings.Contains(body.String(), `"token":"s3cret"`) {
				t.Errorf("the realm answered %q, want the token", body)
			}
		})
	}
}

// TestTLS checks the HTTPS port: it presents a certificate for the
// loopback address that its PEM lets a client trust, serves the same
// registry (here one that wants a token), and is refused by a client that
// does not trust it.
func TestTLS(t *testing.T) {
	s, err := Start(Options{Token: "s3cret", TLS: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if s.TLSHost() == "" || s.TLSHost() == s.Host() {
		t.Fatalf("TLSHost() = %q, Host() = %q; want a second address", s.TLSHost(), s.Host())
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(s.TLSCert()) {
		t.Fatalf("TLSCert() is not a PEM certificate: %q", s.TLSCert())
	}
	trusting := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	tests := []struct {
		name   string
		client *http.Client
		path   string
		auth   string
		status int // 0: the connection must fail
	}{
		{"realm", trusting, "/token", "", http.StatusOK},
		{"no token", trusting, "/v2/", "", http.StatusUnauthorized},
		{"token", trusting, "/v2/", "Bearer s3cret", http.StatusOK},
		{"untrusted certificate", http.DefaultClient, "/v2/", "Bearer s3cret", 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req, err := http.NewRequest(http.MethodGet, "https://"+s.TLSHost()+tc.path, nil)
			if err != nil {
				t.Fatal(err)
			}
			if tc.auth != "" {
				req.Header.Set("Authorization", tc.auth)
			}
			resp, err := tc.client.Do(req)
			if tc.status == 0 {
				if err == nil {
					resp.Body.Close()
					t.Fatal("a client that does not trust the certificate got an answer")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tc.status {
				t.Errorf("GET %s: %s, want %d", tc.path, resp.Status, tc.status)
			}
		})
	}
}
