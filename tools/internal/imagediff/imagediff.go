// Package imagediff compares two OCI image layouts and names the first
// difference: between the manifests' digests, it descends into the JSON
// documents (image index, manifest, config) to the first field that
// differs, and into the layers to the first tar entry that differs (its
// header or its content). The differential tests against BuildKit print
// it next to both digests.
package imagediff

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"reflect"
	"sort"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/stagex/stagex-bazel/tools/internal/ociimage"
)

// Compare returns "" when the image manifests of the layouts a and b (see
// ociimage.ManifestDescriptor) have the same digest, and otherwise a
// description of the first difference found.
func Compare(a, b string) (string, error) {
	da, err := ociimage.ManifestDescriptor(a)
	if err != nil {
		return "", err
	}
	db, err := ociimage.ManifestDescriptor(b)
	if err != nil {
		return "", err
	}
	if da.Digest == db.Digest {
		return "", nil
	}
	head := fmt.Sprintf("manifest %s (%s) differs from %s (%s)", da.Digest, a, db.Digest, b)
	ma, err := ociimage.ReadBlob(ociimage.BlobPath(a, da.Digest), da.Digest, da.Size)
	if err != nil {
		return "", err
	}
	mb, err := ociimage.ReadBlob(ociimage.BlobPath(b, db.Digest), db.Digest, db.Size)
	if err != nil {
		return "", err
	}
	var man [2]v1.Manifest
	for i, raw := range [][]byte{ma, mb} {
		if err := json.Unmarshal(raw, &man[i]); err != nil {
			return "", err
		}
	}
	// Layers first: a differing layer explains a differing config.
	for i := 0; i < len(man[0].Layers) && i < len(man[1].Layers); i++ {
		la, lb := man[0].Layers[i], man[1].Layers[i]
		if la.Digest == lb.Digest {
			continue
		}
		d, err := layerDiff(ociimage.BlobPath(a, la.Digest), ociimage.BlobPath(b, lb.Digest))
		if err != nil {
			return "", err
		}
		return fmt.Sprintf("%s\nlayer %d: %s differs from %s: %s", head, i, la.Digest, lb.Digest, d), nil
	}
	if man[0].Config.Digest != man[1].Config.Digest {
		ca, err := ociimage.ReadBlob(ociimage.BlobPath(a, man[0].Config.Digest), man[0].Config.Digest, man[0].Config.Size)
		if err != nil {
			return "", err
		}
		cb, err := ociimage.ReadBlob(ociimage.BlobPath(b, man[1].Config.Digest), man[1].Config.Digest, man[1].Config.Size)
		if err != nil {
			return "", err
		}
		return fmt.Sprintf("%s\nconfig %s differs from %s: %s", head, man[0].Config.Digest, man[1].Config.Digest, JSONDiff(ca, cb)), nil
	}
	return fmt.Sprintf("%s\nmanifest: %s", head, JSONDiff(ma, mb)), nil
}

// JSONDiff names the first field where two JSON documents differ, as a
// path such as .history[3].created_by with both values, or the first
// differing byte when the values are equal but the bytes are not (key
// order, spacing, escaping).
func JSONDiff(a, b []byte) string {
	var va, vb any
	if err := json.Unmarshal(a, &va); err != nil {
		return "first document: " + err.Error()
	}
	if err := json.Unmarshal(b, &vb); err != nil {
		return "second document: " + err.Error()
	}
	if d := valueDiff("", va, vb); d != "" {
		return d
	}
	i := 0
	for i < len(a) && i < len(b) && a[i] == b[i] {
		i++
	}
	return fmt.Sprintf("same values, bytes differ at offset %d: %q against %q", i, excerpt(a, i), excerpt(b, i))
}

func excerpt(b []byte, i int) string {
	lo, hi := max(0, i-20), min(len(b), i+20)
	return string(b[lo:hi])
}

func valueDiff(path string, a, b any) string {
	switch x := a.(type) {
	case map[string]any:
		y, ok := b.(map[string]any)
		if !ok {
			break
		}
		keys := map[string]bool{}
		for k := range x {
			keys[k] = true
		}
		for k := range y {
			keys[k] = true
		}
		var sorted []string
		for k := range keys {
			sorted = append(sorted, k)
		}
		sort.Strings(sorted)
		for _, k := range sorted {
			va, oka := x[k]
			vb, okb := y[k]
			switch {
			case !oka:
				return fmt.Sprintf("%s.%s: missing, against %s", path, k, show(vb))
			case !okb:
				return fmt.Sprintf("%s.%s: %s, against missing", path, k, show(va))
			}
			if d := valueDiff(path+"."+k, va, vb); d != "" {
				return d
			}
		}
		return ""
	case []any:
		y, ok := b.([]any)
		if !ok {
			break
		}
		for i := 0; i < len(x) && i < len(y); i++ {
			if d := valueDiff(fmt.Sprintf("%s[%d]", path, i), x[i], y[i]); d != "" {
				return d
			}
		}
		if len(x) != len(y) {
			return fmt.Sprintf("%s: %d elements, against %d", path, len(x), len(y))
		}
		return ""
	}
	if reflect.DeepEqual(a, b) {
		return ""
	}
	if path == "" {
		path = "."
	}
	return fmt.Sprintf("%s: %s, against %s", path, show(a), show(b))
}

func show(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// entry is what layerDiff compares of one tar entry: the raw header block
// and everything Go's reader makes of it, and the content's digest.
type entry struct {
	hdr     tar.Header
	content string
}

func (e entry) String() string {
	h := e.hdr
	var b strings.Builder
	fmt.Fprintf(&b, "%q type %q mode %#o uid %d gid %d size %d mtime %d", h.Name, h.Typeflag, h.Mode, h.Uid, h.Gid, h.Size, h.ModTime.Unix())
	if h.Linkname != "" {
		fmt.Fprintf(&b, " link %q", h.Linkname)
	}
	if h.Uname != "" || h.Gname != "" {
		fmt.Fprintf(&b, " owner names %q:%q", h.Uname, h.Gname)
	}
	if !h.AccessTime.IsZero() || !h.ChangeTime.IsZero() {
		fmt.Fprintf(&b, " atime %d ctime %d", h.AccessTime.Unix(), h.ChangeTime.Unix())
	}
	if len(h.PAXRecords) > 0 {
		fmt.Fprintf(&b, " pax %v", h.PAXRecords)
	}
	fmt.Fprintf(&b, " format %v content %s", h.Format, e.content[:12])
	return b.String()
}

func readEntries(path string) ([]entry, []byte, error) {
	f, err := openGzip(path)
	if err != nil {
		return nil, nil, err
	}
	raw, err := io.ReadAll(f)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", path, err)
	}
	tr := tar.NewReader(bytes.NewReader(raw))
	var out []entry
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return out, raw, nil
		}
		if err != nil {
			return nil, nil, fmt.Errorf("%s: %w", path, err)
		}
		sum := sha256.New()
		if _, err := io.Copy(sum, tr); err != nil {
			return nil, nil, fmt.Errorf("%s: %w", path, err)
		}
		out = append(out, entry{hdr: *h, content: hex.EncodeToString(sum.Sum(nil))})
	}
}

func openGzip(path string) (io.Reader, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	zr, err := gzip.NewReader(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return zr, nil
}

// layerDiff names the first entry in which two layers differ.
func layerDiff(a, b string) (string, error) {
	ea, ta, err := readEntries(a)
	if err != nil {
		return "", err
	}
	eb, tb, err := readEntries(b)
	if err != nil {
		return "", err
	}
	for i := 0; i < len(ea) && i < len(eb); i++ {
		if sa, sb := ea[i].String(), eb[i].String(); sa != sb {
			return fmt.Sprintf("entry %d: %s\n  against %s", i, sa, sb), nil
		}
	}
	if len(ea) != len(eb) {
		n := min(len(ea), len(eb))
		extra := ea
		if len(eb) > len(ea) {
			extra = eb
		}
		return fmt.Sprintf("%d entries against %d; entry %d is %s", len(ea), len(eb), n, extra[n]), nil
	}
	if !bytes.Equal(ta, tb) {
		i := 0
		for i < len(ta) && i < len(tb) && ta[i] == tb[i] {
			i++
		}
		return fmt.Sprintf("same entries, tar bytes differ at offset %d (block %d); lengths %d and %d", i, i/512, len(ta), len(tb)), nil
	}
	return "same tar stream, different compression (gzip bytes)", nil
}
