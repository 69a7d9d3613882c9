package stagebuild

import (
	"archive/tar"
	"io"
	"os"
	"path"
	"strings"

	"github.com/stagex/stagex-bazel/tools/internal/layer"
)

// isTarArchive reports whether the file holds a tar stream, plain or
// compressed in a form layer.OpenArchive reads, as BuildKit's ADD decides
// it: the decompressed bytes begin with a valid tar header (the ustar
// magic is not required: old tar formats lack it).
func isTarArchive(file string) (bool, error) {
	f, err := os.Open(file)
	if err != nil {
		return false, err
	}
	defer f.Close()
	r, err := layer.OpenArchive(f)
	if err != nil {
		return false, nil
	}
	_, err = tar.NewReader(r).Next()
	return err == nil, nil
}

// extractUnder unpacks the tar stream r below dest (an absolute path in
// root), as ADD does with a local archive. Entry names are rebased under
// dest and handed to layer.Apply, which keeps every write inside root;
// a name that climbs out of the archive with ".." is rejected there.
func extractUnder(root, dest string, r io.Reader, name string, owners map[string]layer.Owner) error {
	pr, pw := io.Pipe()
	go func() {
		tr := tar.NewReader(r)
		tw := tar.NewWriter(pw)
		for {
			hdr, err := tr.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				pw.CloseWithError(err)
				return
			}
			hdr.Name = rebase(dest, hdr.Name)
			if hdr.Typeflag == tar.TypeLink {
				hdr.Linkname = rebase(dest, hdr.Linkname)
			}
			if err := tw.WriteHeader(hdr); err != nil {
				pw.CloseWithError(err)
				return
			}
			if _, err := io.Copy(tw, tr); err != nil {
				pw.CloseWithError(err)
				return
			}
		}
		pw.CloseWithError(tw.Close())
	}()
	// The members keep the owners the archive gives them, as in BuildKit.
	err := layer.Apply(root, pr, layer.ApplyOptions{Name: name, Chown: true, Owners: owners})
	pr.CloseWithError(err)
	return err
}

// rebase puts an archive member name under dest. A name with a ".."
// component is left unresolved so that layer.Apply rejects it, rather than
// letting it land elsewhere in the root.
func rebase(dest, name string) string {
	base := strings.TrimPrefix(dest, "/")
	rel := strings.TrimLeft(name, "/")
	if strings.Contains("/"+rel+"/", "/../") {
		return base + "/" + rel
	}
	out := path.Join(base, rel)
	if strings.HasSuffix(name, "/") {
		out += "/"
	}
	return out
}
