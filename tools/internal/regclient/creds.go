package regclient

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// Credentials finds the user name and password to use with a registry.
type Credentials interface {
	// Lookup returns the credentials for host ("registry.example:5000"),
	// or ok = false when there are none.
	Lookup(host string) (user, password string, ok bool)
}

// AuthFiles are credentials read from Docker's config.json or Podman's
// auth.json: {"auths": {"HOST": {"auth": base64("user:password")}}}.
// Credential helpers and stores that those files may name are not run.
type AuthFiles struct {
	entries map[string][2]string
}

// Lookup implements Credentials.
func (a *AuthFiles) Lookup(host string) (string, string, bool) {
	if a == nil {
		return "", "", false
	}
	e, ok := a.entries[host]
	return e[0], e[1], ok
}

// DefaultAuthFiles lists the files DefaultCredentials reads, first match
// winning: $REGISTRY_AUTH_FILE, $XDG_RUNTIME_DIR/containers/auth.json,
// $DOCKER_CONFIG/config.json (else $HOME/.docker/config.json).
func DefaultAuthFiles() []string {
	var files []string
	if f := os.Getenv("REGISTRY_AUTH_FILE"); f != "" {
		files = append(files, f)
	}
	if d := os.Getenv("XDG_RUNTIME_DIR"); d != "" {
		files = append(files, filepath.Join(d, "containers", "auth.json"))
	}
	if d := os.Getenv("DOCKER_CONFIG"); d != "" {
		files = append(files, filepath.Join(d, "config.json"))
	} else if h := os.Getenv("HOME"); h != "" {
		files = append(files, filepath.Join(h, ".docker", "config.json"))
	}
	return files
}

// DefaultCredentials reads DefaultAuthFiles.
func DefaultCredentials() (*AuthFiles, error) { return LoadAuthFiles(DefaultAuthFiles()...) }

// LoadAuthFiles reads the given files; missing files are skipped. For a
// host named in several files, the first file wins.
func LoadAuthFiles(files ...string) (*AuthFiles, error) {
	a := &AuthFiles{entries: map[string][2]string{}}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, err
		}
		if err := a.parse(f, data); err != nil {
			return nil, err
		}
	}
	return a, nil
}

type authFile struct {
	Auths map[string]struct {
		Auth     string `json:"auth"`
		Username string `json:"username"`
		Password string `json:"password"`
	} `json:"auths"`
}

func (a *AuthFiles) parse(file string, data []byte) error {
	var af authFile
	if err := json.Unmarshal(data, &af); err != nil {
		return fmt.Errorf("%s: expected a JSON object with \"auths\": %v", file, err)
	}
	for key, e := range af.Auths {
		host := authKeyHost(key)
		user, pass := e.Username, e.Password
		if e.Auth != "" {
			raw, err := base64.StdEncoding.DecodeString(e.Auth)
			if err != nil {
				return fmt.Errorf("%s: auths.%q.auth: expected base64 of user:password: %v", file, key, err)
			}
			var ok bool
			user, pass, ok = strings.Cut(string(raw), ":")
			if !ok {
				return fmt.Errorf("%s: auths.%q.auth: expected base64 of user:password, found no colon", file, key)
			}
		}
		if user == "" && pass == "" {
			continue
		}
		if _, seen := a.entries[host]; !seen {
			a.entries[host] = [2]string{user, pass}
		}
	}
	return nil
}

// authKeyHost turns an "auths" key ("https://host/v1/", "host") into the
// bare host.
func authKeyHost(key string) string {
	if _, rest, ok := strings.Cut(key, "://"); ok {
		key = rest
	}
	host, _, _ := strings.Cut(key, "/")
	return host
}
