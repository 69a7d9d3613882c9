// Package runtime runs a fixture image with a real OCI runtime: umoci
// unpacks core-hello into a runtime bundle and runc runs it. The Bazel test
// is not sandboxed (runc needs the host's cgroup file systems, which
// Bazel's sandbox hides); it skips, saying why, where umoci or runc is
// missing or it does not run as root.
package runtime

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stagex/stagex-bazel/tools/testing/registry/registrytest"
)

// refName tags the copy of a layout for umoci, which finds images by the
// org.opencontainers.image.ref.name annotation; StageX layouts carry none.
const refName = "e2e"

// taggedCopy copies the layout at src to a new directory and names its one
// manifest refName in index.json.
func taggedCopy(t *testing.T, src string) string {
	t.Helper()
	dst := filepath.Join(t.TempDir(), "image.oci")
	for rel, content := range registrytest.Files(t, src) {
		p := filepath.Join(dst, filepath.FromSlash(rel))
		if content == "<dir>" {
			if err := os.MkdirAll(p, 0o755); err != nil {
				t.Fatal(err)
			}
			continue
		}
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	indexFile := filepath.Join(dst, "index.json")
	var index map[string]any
	data, err := os.ReadFile(indexFile)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, &index); err != nil {
		t.Fatal(err)
	}
	manifests, _ := index["manifests"].([]any)
	if len(manifests) != 1 {
		t.Fatalf("%s lists %d manifests, expected one", src, len(manifests))
	}
	manifests[0].(map[string]any)["annotations"] = map[string]string{"org.opencontainers.image.ref.name": refName}
	if data, err = json.Marshal(index); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(indexFile, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return dst
}

func run(t *testing.T, name string, args ...string) (string, error) {
	t.Helper()
	cmd := exec.Command(name, args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	if err != nil {
		err = fmt.Errorf("%s %s: %v\n%s", filepath.Base(name), strings.Join(args, " "), err, stderr.String())
	}
	return stdout.String(), err
}

// helloLayout is core-hello's layout in the test's runfiles (go_test starts
// in its package's directory, not at their root).
var helloLayout = filepath.Join(os.Getenv("TEST_SRCDIR"), os.Getenv("TEST_WORKSPACE"), "fixtures/packages/core/hello/hello.oci")

// findTool returns the path of a program on PATH or in the system
// directories Bazel's fixed test PATH leaves out, or "" when absent.
func findTool(name string) string {
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	for _, dir := range []string{"/usr/sbin", "/sbin", "/usr/local/sbin", "/usr/bin", "/usr/local/bin"} {
		p := filepath.Join(dir, name)
		if info, err := os.Stat(p); err == nil && info.Mode()&0o111 != 0 {
			return p
		}
	}
	return ""
}

// TestRuncRunsHello unpacks core-hello into a runtime bundle with umoci and
// runs it with runc: the image's entrypoint, an i386 program that hex0
// compiled, must print its greeting.
func TestRuncRunsHello(t *testing.T) {
	if os.Getenv("TEST_SRCDIR") == "" {
		t.Skip("needs the fixture images: run bazel test //tools/integration/runtime:runtime_test")
	}
	umoci, runc := findTool("umoci"), findTool("runc")
	switch {
	case umoci == "" || runc == "":
		t.Skip("umoci and runc are not both installed (apt-get install umoci runc)")
	case os.Geteuid() != 0:
		t.Skip("runc needs root to create the container")
	}
	work := t.TempDir()
	bundle := filepath.Join(work, "bundle")
	if _, err := run(t, umoci, "unpack", "--image", taggedCopy(t, helloLayout)+":"+refName, bundle); err != nil {
		t.Fatal(err)
	}
	// The container runs without a terminal and with the image's
	// entrypoint; umoci writes the rest of the runtime configuration.
	configFile := filepath.Join(bundle, "config.json")
	var config map[string]any
	data, err := os.ReadFile(configFile)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, &config); err != nil {
		t.Fatal(err)
	}
	process := config["process"].(map[string]any)
	process["terminal"] = false
	if args, _ := process["args"].([]any); len(args) == 0 || args[0] != "/usr/bin/hello" {
		t.Errorf("umoci made the process %v from the image; expected the entrypoint /usr/bin/hello", process["args"])
	}
	if data, err = json.Marshal(config); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(configFile, data, 0o644); err != nil {
		t.Fatal(err)
	}
	id := fmt.Sprintf("stagex-e2e-%d", os.Getpid())
	out, err := run(t, runc, "--root", filepath.Join(work, "state"), "run", "--bundle", bundle, id)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.TrimSpace(out); got != "hello from hex0" {
		t.Errorf("core-hello printed %q, expected %q", got, "hello from hex0")
	}
}
