package layer

import (
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"
)

// baseTree makes the tree the Diff cases start from.
func baseTree(t *testing.T, root string) {
	t.Helper()
	writeFile(t, filepath.Join(root, "etc/passwd"), "root:x:0:0", 0o644)
	writeFile(t, filepath.Join(root, "etc/motd"), "hello", 0o644)
	writeFile(t, filepath.Join(root, "usr/bin/sh"), "sh", 0o755)
	writeFile(t, filepath.Join(root, "usr/share/doc/a/README"), "a", 0o644)
	writeFile(t, filepath.Join(root, "usr/share/doc/a/NEWS"), "n", 0o644)
	writeFile(t, filepath.Join(root, "opt/x/y"), "y", 0o644)
	if err := os.Symlink("sh", filepath.Join(root, "usr/bin/bash")); err != nil {
		t.Fatal(err)
	}
	// Old times everywhere, so that a change made now shows.
	old := time.Unix(1000, 0)
	filepath.Walk(root, func(p string, _ os.FileInfo, _ error) error {
		return os.Chtimes(p, old, old)
	})
}

func TestDiff(t *testing.T) {
	old := time.Unix(1000, 0)
	tests := []struct {
		name   string
		change func(t *testing.T, root string)
		want   []Change
	}{
		{
			name:   "nothing",
			change: func(t *testing.T, root string) {},
		},
		{
			name: "add file",
			change: func(t *testing.T, root string) {
				writeFile(t, filepath.Join(root, "etc/new"), "new", 0o644)
			},
			want: []Change{{"etc/new", Added}},
		},
		{
			name: "content changed, size and mtime kept",
			change: func(t *testing.T, root string) {
				p := filepath.Join(root, "etc/motd")
				writeFile(t, p, "HELLO", 0o644)
				os.Chtimes(p, old, old)
			},
			want: []Change{{"etc/motd", Modified}},
		},
		{
			name: "chmod",
			change: func(t *testing.T, root string) {
				os.Chmod(filepath.Join(root, "usr/bin/sh"), 0o755|os.ModeSetuid)
			},
			want: []Change{{"usr/bin/sh", Modified}},
		},
		{
			name: "delete file",
			change: func(t *testing.T, root string) {
				os.Remove(filepath.Join(root, "etc/motd"))
			},
			want: []Change{{"etc/motd", Deleted}},
		},
		{
			name: "delete directory tree: one change",
			change: func(t *testing.T, root string) {
				os.RemoveAll(filepath.Join(root, "usr/share/doc"))
			},
			want: []Change{{"usr/share/doc", Deleted}},
		},
		{
			name: "directory replaced by file: no whiteouts below",
			change: func(t *testing.T, root string) {
				os.RemoveAll(filepath.Join(root, "opt/x"))
				writeFile(t, filepath.Join(root, "opt/x"), "file now", 0o644)
			},
			want: []Change{{"opt/x", Modified}},
		},
		{
			name: "directory recreated: missing children whited out",
			change: func(t *testing.T, root string) {
				os.RemoveAll(filepath.Join(root, "usr/share/doc/a"))
				writeFile(t, filepath.Join(root, "usr/share/doc/a/README"), "a", 0o644)
			},
			want: []Change{{"usr/share/doc/a/NEWS", Deleted}, {"usr/share/doc/a/README", Modified}},
		},
		{
			name: "symlink retargeted",
			change: func(t *testing.T, root string) {
				p := filepath.Join(root, "usr/bin/bash")
				os.Remove(p)
				os.Symlink("/bin/busybox", p)
				// Resetting the directory's time does not hide the change.
				os.Chtimes(filepath.Join(root, "usr/bin"), old, old)
			},
			want: []Change{{"usr/bin/bash", Modified}},
		},
		{
			name: "hard link added to an old file: only the new name (the old one is unchanged)",
			change: func(t *testing.T, root string) {
				if err := os.Link(filepath.Join(root, "etc/passwd"), filepath.Join(root, "etc/passwd-")); err != nil {
					t.Fatal(err)
				}
			},
			want: []Change{{"etc/passwd-", Added}},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			root := t.TempDir()
			baseTree(t, root)
			before, err := Snapshot(root)
			if err != nil {
				t.Fatal(err)
			}
			if _, ok := before.Entries["usr/share/doc/a/NEWS"]; !ok || len(before.Entries) != 15 {
				t.Fatalf("snapshot has %d entries, want 15: %v", len(before.Entries), before.Entries)
			}
			tc.change(t, root)
			got, err := Diff(root, before)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("Diff = %v\nwant %v", got, tc.want)
			}
		})
	}
}

func TestComparePaths(t *testing.T) {
	paths := []string{"a.b", "a/b/c", "b", "a", "a/b", "a-", "a/.wh.x", "a/b.c"}
	slices.SortFunc(paths, comparePaths)
	want := []string{"a", "a/.wh.x", "a/b", "a/b/c", "a/b.c", "a-", "a.b", "b"}
	if !slices.Equal(paths, want) {
		t.Errorf("sorted %v, want %v", paths, want)
	}
}

// TestDiffOwners checks that recorded owners count as the paths' owners:
// a change of record is a change of the path, files and directories alike.
func TestDiffOwners(t *testing.T) {
	tests := []struct {
		name          string
		before, after map[string]Owner
		want          []Change
	}{
		{"same records", map[string]Owner{"opt/x": {5, 5}}, map[string]Owner{"opt/x": {5, 5}}, nil},
		{"a directory's record made", nil, map[string]Owner{"usr/share/doc": {7, 8}}, []Change{{"usr/share/doc", Modified}}},
		{"a file's record changed", map[string]Owner{"etc/motd": {1, 1}}, map[string]Owner{"etc/motd": {1, 2}}, []Change{{"etc/motd", Modified}}},
		{"a record of a missing path", nil, map[string]Owner{"etc/nope": {1, 1}}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			root := t.TempDir()
			baseTree(t, root)
			before, err := SnapshotOwners(root, tc.before)
			if err != nil {
				t.Fatal(err)
			}
			got, now, err := DiffSnapshotOwners(root, before, tc.after)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("Diff = %v\nwant %v", got, tc.want)
			}
			for p, o := range tc.after {
				if e, ok := now.Entries[p]; ok && (e.UID != uint32(o.UID) || e.GID != uint32(o.GID)) {
					t.Errorf("snapshot of %s: owner %d:%d, want the recorded %d:%d", p, e.UID, e.GID, o.UID, o.GID)
				}
			}
			// Without records, the same tree has no change.
			if got, err := Diff(root, before); err != nil || (tc.before == nil && len(got) != 0) {
				t.Errorf("Diff without records = %v, %v", got, err)
			}
		})
	}
}
