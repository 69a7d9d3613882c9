package main

import (
	"bytes"
	"context"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestRun(t *testing.T) {
	addrFile := filepath.Join(t.TempDir(), "addr")
	ctx, cancel := context.WithCancel(context.Background())
	var stdout, stderr bytes.Buffer
	done := make(chan int)
	go func() { done <- run(ctx, []string{"--addr-file", addrFile}, &stdout, &stderr) }()

	var addr string
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if b, err := os.ReadFile(addrFile); err == nil {
			addr = strings.TrimSpace(string(b))
			break
		}
	}
	if addr == "" {
		cancel()
		t.Fatalf("no address file after 10s; stderr: %s", stderr.String())
	}
	resp, err := http.Get("http://" + addr + "/v2/")
	if err != nil {
		t.Fatalf("the address %s from the file does not answer: %v", addr, err)
	}
	resp.Body.Close()
	cancel()
	select {
	case code := <-done:
		if code != 0 {
			t.Errorf("exit code %d after interruption, expected 0; stderr: %s", code, stderr.String())
		}
	case <-time.After(10 * time.Second):
		t.Fatal("run did not return within 10s of its context ending")
	}
	if got := strings.TrimSpace(stdout.String()); got != addr {
		t.Errorf("stdout %q, expected the address %q", got, addr)
	}
}

func TestRunUsage(t *testing.T) {
	for _, args := range [][]string{
		{"--addr", "0.0.0.0:0"},
		{"extra"},
		{"--no-such-flag"},
		{"--tls-cert", "cert.pem"},
	} {
		var stdout, stderr bytes.Buffer
		code := run(context.Background(), args, &stdout, &stderr)
		if code == 0 {
			t.Errorf("run(%q) = 0; expected a failure", args)
		}
		if stderr.Len() == 0 {
			t.Errorf("run(%q) printed no reason", args)
		}
	}
}
