package pinmanifest

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// writeManifest writes content at execroot/rel and returns its path.
func writeManifest(t *testing.T, execroot, rel, content string) string {
	t.Helper()
	p := filepath.Join(execroot, filepath.FromSlash(rel))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestRead(t *testing.T) {
	const rel = "bazel-out/k8-fastbuild/bin/packages/core/hello/hello_digest_test.stagex-pin.json"
	good := `{"image":"core-hello","index":false,"label":"@@//packages/core/hello:hello_digest_test","layout":"bazel-out/k8-fastbuild-ST-1/bin/packages/core/hello/hello.oci","manifest":"` + rel + `","pins":"fixtures/digests/core.txt","pins_repository":""}`
	tests := []struct {
		name, content string
		want          Entry  // Layout relative to the execution root
		wantErr       string // part of the error
	}{
		{name: "good", content: good, want: Entry{
			Image: "core-hello", Label: "@@//packages/core/hello:hello_digest_test",
			Layout: "bazel-out/k8-fastbuild-ST-1/bin/packages/core/hello/hello.oci", Manifest: rel, Pins: "fixtures/digests/core.txt",
		}},
		{name: "no image", content: strings.Replace(good, `"image":"core-hello",`, ``, 1), wantErr: `no "image"`},
		{name: "unknown field", content: strings.Replace(good, `"index":false`, `"indx":false`, 1), wantErr: `unknown field "indx"`},
		{name: "not JSON", content: "core-hello\n", wantErr: "expected the JSON object a stagex_digest_test writes"},
		{name: "pins outside digests", content: strings.Replace(good, "fixtures/digests/core.txt", "fixtures/core.txt", 1), wantErr: "expected <tree>/digests/<tier>.txt"},
		{name: "pins above the repository", content: strings.Replace(good, "fixtures/digests/core.txt", "../x/digests/core.txt", 1), wantErr: "expected <tree>/digests/<tier>.txt"},
		{name: "elsewhere", content: strings.Replace(good, `"manifest":"bazel-out/k8-fastbuild/`, `"manifest":"bazel-out/other/`, 1), wantErr: "expected a path ending so"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			execroot := t.TempDir()
			file := writeManifest(t, execroot, rel, tc.content)
			got, err := Read(file)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) || !strings.Contains(err.Error(), file) {
					t.Fatalf("Read: error %v, want one naming %s and saying %q", err, file, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tc.want.Layout = filepath.Join(execroot, filepath.FromSlash(tc.want.Layout))
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("Read = %+v, want %+v", got, tc.want)
			}
		})
	}
}

func TestFromBuildEvents(t *testing.T) {
	tests := []struct {
		name, events string
		want         []string
		wantErr      string
	}{
		{
			name: "manifests among other files and events",
			events: `{"id":{"started":{}},"started":{"uuid":"u"}}
{"id":{"namedSet":{"id":"0"}},"namedSetOfFiles":{"files":[{"name":"packages/core/b/b_digest_test.stagex-pin.json","uri":"file:///x/execroot/_main/bazel-out/k8/bin/packages/core/b/b_digest_test.stagex-pin.json"},{"name":"packages/core/b/b.oci","uri":"file:///x/execroot/_main/bazel-out/k8/bin/packages/core/b/b.oci"}]}}
{"id":{"namedSet":{"id":"1"}},"namedSetOfFiles":{"files":[{"name":"a.stagex-pin.json","uri":"file:///x/a.stagex-pin.json"},{"name":"b","uri":"file:///x/execroot/_main/bazel-out/k8/bin/packages/core/b/b_digest_test.stagex-pin.json"}]}}
`,
			want: []string{"/x/a.stagex-pin.json", "/x/execroot/_main/bazel-out/k8/bin/packages/core/b/b_digest_test.stagex-pin.json"},
		},
		{name: "none", events: `{"id":{"started":{}}}` + "\n", want: []string{}},
		{name: "remote output", events: `{"namedSetOfFiles":{"files":[{"uri":"bytestream://cache/blobs/x/1.stagex-pin.json"}]}}` + "\n", wantErr: "expected a file:// URI"},
		{name: "not JSON", events: "{\"id\":{}}\nbuild started\n", wantErr: "build event 2"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := FromBuildEvents(strings.NewReader(tc.events))
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error %v, want one saying %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}

func TestByTree(t *testing.T) {
	a := Entry{Image: "core-a", Label: "//packages/core/a:a_digest_test", Pins: "digests/core.txt"}
	b := Entry{Image: "user-b", Label: "//fixtures/packages/user/b:b_digest_test", Pins: "fixtures/digests/user.txt"}
	c := Entry{Image: "core-c", Label: "//fixtures/packages/core/c:c_digest_test", Pins: "fixtures/digests/core.txt"}
	got, err := ByTree([]Entry{a, b, c})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string][]Entry{".": {a}, "fixtures": {b, c}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("ByTree = %+v, want %+v", got, want)
	}
	foreign := Entry{Image: "core-hello", Label: "@@stagex_tree//packages/core/hello:hello_digest_test", Pins: "digests/core.txt", PinsRepository: "stagex_tree"}
	if _, err := ByTree([]Entry{a, foreign}); err == nil || !strings.Contains(err.Error(), "@stagex_tree//digests/core.txt") {
		t.Errorf("ByTree with another repository's pins: error %v, want one naming @stagex_tree//digests/core.txt", err)
	}
}
