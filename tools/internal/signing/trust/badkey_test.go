package trust

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp"
	"github.com/ProtonMail/go-crypto/openpgp/armor"
)

// badSubkeyBinding returns e's public key, armored, with the last octet of
// its subkey's binding signature (the last packet) flipped.
func badSubkeyBinding(t *testing.T, e *openpgp.Entity) []byte {
	t.Helper()
	if len(e.Subkeys) == 0 {
		t.Fatal("the key has no subkey")
	}
	var raw bytes.Buffer
	if err := e.Serialize(&raw); err != nil {
		t.Fatal(err)
	}
	b := raw.Bytes()
	b[len(b)-1] ^= 0x55
	var out bytes.Buffer
	w, _ := armor.Encode(&out, openpgp.PublicKeyType, nil)
	w.Write(b)
	w.Close()
	return out.Bytes()
}

// TestLoadKeysSkipsBadKeyFiles: a key file that cannot be used (a bad
// subkey binding, garbage, a FIFO) is reported, naming the file, and the
// other keys still load.
func TestLoadKeysSkipsBadKeyFiles(t *testing.T) {
	dir := writeFiles(t, map[string][]byte{
		"alice.asc":   armorKey(t, newKey(t, "alice"), false),
		"bob.asc":     armorKey(t, newKey(t, "bob"), false),
		"broken.asc":  badSubkeyBinding(t, newKey(t, "broken")),
		"garbage.asc": []byte("garbage"),
	})
	fifo := filepath.Join(dir, "fifo.asc")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { // let a reader stuck opening it go
		if f, err := os.OpenFile(fifo, os.O_WRONLY|syscall.O_NONBLOCK, 0); err == nil {
			f.Close()
		}
	})
	type result struct {
		kr  *Keyring
		err error
	}
	done := make(chan result, 1)
	go func() {
		kr, err := LoadKeys(dir)
		done <- result{kr, err}
	}()
	var r result
	select {
	case r = <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("LoadKeys still blocks after 10s")
	}
	if r.err != nil {
		t.Fatalf("LoadKeys: %v", r.err)
	}
	if got := keyNames(r.kr.Keys); got != "alice,bob" {
		t.Errorf("keys %s, expected alice,bob", got)
	}
	var problems []string
	for _, p := range r.kr.Problems {
		problems = append(problems, p.Error())
	}
	all := strings.Join(problems, "\n")
	for _, want := range []string{
		filepath.Join(dir, "broken.asc") + ": reading public key: openpgp: invalid data: subkey signature invalid",
		filepath.Join(dir, "garbage.asc") + ": expected an armored OpenPGP public key",
		fifo + " is a FIFO",
	} {
		if !strings.Contains(all, want) {
			t.Errorf("problems do not report %q:\n%s", want, all)
		}
	}
	if len(problems) != 3 {
		t.Errorf("%d problems, expected 3:\n%s", len(problems), all)
	}

	// With no usable key at all, loading fails and says why.
	only := writeFiles(t, map[string][]byte{"broken.asc": badSubkeyBinding(t, newKey(t, "broken"))})
	_, err := LoadKeys(only)
	if err == nil || !strings.Contains(err.Error(), "no usable maintainer keys") || !strings.Contains(err.Error(), "broken.asc") {
		t.Errorf("only a broken key: error %v; expected one naming broken.asc", err)
	}
}
