package regclient

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"os"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// MaxManifestSize is the largest manifest accepted (the distribution
// spec's recommended limit).
const MaxManifestSize = 4 << 20

// ManifestTypes are the manifest and index media types this client
// accepts, in order of preference.
var ManifestTypes = []types.MediaType{
	types.OCIManifestSchema1,
	types.OCIImageIndex,
	types.DockerManifestSchema2,
	types.DockerManifestList,
}

// DigestMismatchError reports content that does not have the digest it was
// asked for by.
type DigestMismatchError struct {
	URL       string
	Want, Got string
}

func (e *DigestMismatchError) Error() string {
	return fmt.Sprintf("%s: content does not match its digest: expected %s, got %s (the registry, or something between it and us, sent other bytes)", e.URL, e.Want, e.Got)
}

// GetManifest downloads the manifest or image index with digest h and
// checks it against h. It returns the bytes and their media type.
func (c *Client) GetManifest(ctx context.Context, repo Repository, h v1.Hash) ([]byte, types.MediaType, error) {
	u := c.endpoint(repo, "manifests", h.String())
	accept := make([]string, len(ManifestTypes))
	for i, t := range ManifestTypes {
		accept[i] = string(t)
	}
	resp, err := c.do(ctx, repo, request{
		method: http.MethodGet,
		url:    u,
		header: http.Header{"Accept": {strings.Join(accept, ", ")}},
		ok:     []int{http.StatusOK},
	})
	if err != nil {
		return nil, "", err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, MaxManifestSize+1))
	if err != nil {
		return nil, "", explain("GET", u, err)
	}
	if len(raw) > MaxManifestSize {
		return nil, "", fmt.Errorf("GET %s: manifest larger than %d bytes", u, MaxManifestSize)
	}
	sum := sha256.Sum256(raw)
	if got := "sha256:" + hex.EncodeToString(sum[:]); got != h.String() {
		return nil, "", &DigestMismatchError{URL: u, Want: h.String(), Got: got}
	}
	mt, err := manifestType(raw, resp.Header.Get("Content-Type"))
	if err != nil {
		return nil, "", fmt.Errorf("GET %s: %w", u, err)
	}
	return raw, mt, nil
}

// manifestType is the media type a manifest declares in its mediaType
// field, else the one its Content-Type names; it must be one of
// ManifestTypes.
func manifestType(raw []byte, contentType string) (types.MediaType, error) {
	var probe struct {
		MediaType types.MediaType `json:"mediaType"`
	}
	if err := json.Unmarshal(raw, &probe); err != nil {
		return "", fmt.Errorf("manifest is not JSON: %v", err)
	}
	mt := probe.MediaType
	if mt == "" {
		ct, _, _ := mime.ParseMediaType(contentType)
		mt = types.MediaType(ct)
	}
	for _, t := range ManifestTypes {
		if mt == t {
			return mt, nil
		}
	}
	return "", fmt.Errorf("media type %q is not an image manifest or index this client reads", mt)
}

// BlobExists reports whether repo holds the blob with digest h.
func (c *Client) BlobExists(ctx context.Context, repo Repository, h v1.Hash) (bool, error) {
	resp, err := c.do(ctx, repo, request{
		method: http.MethodHead,
		url:    c.endpoint(repo, "blobs", h.String()),
		ok:     []int{http.StatusOK, http.StatusNotFound},
	})
	if err != nil {
		return false, err
	}
	drain(resp)
	return resp.StatusCode == http.StatusOK, nil
}

// GetBlob downloads the blob desc names into the file at path, which it
// creates or truncates, checking size and digest. A download that breaks
// off is started again, up to the client's attempts. On error the file is
// removed. p, if not nil, counts the bytes.
func (c *Client) GetBlob(ctx context.Context, repo Repository, desc v1.Descriptor, path string, p *Progress) (err error) {
	u := c.endpoint(repo, "blobs", desc.Digest.String())
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer func() {
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			os.Remove(path)
		}
	}()
	start := p.Complete()
	attempts := c.opts.attempts()
	for attempt := 1; ; attempt++ {
		err := c.getBlobOnce(ctx, repo, u, desc, f, p)
		if err == nil {
			return nil
		}
		var mismatch *DigestMismatchError
		if errors.As(err, &mismatch) || attempt >= attempts || !Retryable(err) {
			return err
		}
		c.opts.Logf("GET %s: %v; starting again (attempt %d of %d)", u, err, attempt+1, attempts)
		p.Set(start)
		if err := c.pause(ctx, attempt); err != nil {
			return explain("GET", u, err)
		}
	}
}

func (c *Client) getBlobOnce(ctx context.Context, repo Repository, u string, desc v1.Descriptor, f *os.File, p *Progress) error {
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return err
	}
	if err := f.Truncate(0); err != nil {
		return err
	}
	resp, err := c.do(ctx, repo, request{method: http.MethodGet, url: u, ok: []int{http.StatusOK}, once: true})
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.ContentLength >= 0 && resp.ContentLength != desc.Size {
		return fmt.Errorf("GET %s: the registry announces %d bytes, the manifest says %d", u, resp.ContentLength, desc.Size)
	}
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(f, h), p.Reader(io.LimitReader(resp.Body, desc.Size+1)))
	if err != nil {
		return explain("GET", u, err)
	}
	if n != desc.Size {
		if n < desc.Size {
			return explain("GET", u, fmt.Errorf("received %d of %d bytes: %w", n, desc.Size, io.ErrUnexpectedEOF))
		}
		return fmt.Errorf("GET %s: the blob is longer than the %d bytes the manifest says", u, desc.Size)
	}
	if got := "sha256:" + hex.EncodeToString(h.Sum(nil)); got != desc.Digest.String() {
		return &DigestMismatchError{URL: u, Want: desc.Digest.String(), Got: got}
	}
	return nil
}

// PutBlob uploads the blob desc names, reading it from open (called once
// per attempt), with a monolithic upload: POST to start, PUT with the
// content and digest. p, if not nil, counts the bytes.
func (c *Client) PutBlob(ctx context.Context, repo Repository, desc v1.Descriptor, open func() (io.ReadCloser, error), p *Progress) error {
	start := p.Complete()
	attempts := c.opts.attempts()
	for attempt := 1; ; attempt++ {
		err := c.putBlobOnce(ctx, repo, desc, open, p)
		if err == nil {
			return nil
		}
		var se *StatusError
		retry := Retryable(err) || (errors.As(err, &se) && retryableStatus(se.StatusCode))
		if attempt >= attempts || !retry {
			return err
		}
		c.opts.Logf("uploading %s: %v; starting again (attempt %d of %d)", desc.Digest, err, attempt+1, attempts)
		p.Set(start)
		if err := c.pause(ctx, attempt); err != nil {
			return explain("PUT", c.endpoint(repo, "blobs", desc.Digest.String()), err)
		}
	}
}

func (c *Client) putBlobOnce(ctx context.Context, repo Repository, desc v1.Descriptor, open func() (io.ReadCloser, error), p *Progress) error {
	start := c.endpoint(repo, "blobs", "uploads/")
	resp, err := c.do(ctx, repo, request{method: http.MethodPost, url: start, ok: []int{http.StatusAccepted}, once: true})
	if err != nil {
		return err
	}
	loc := resp.Header.Get("Location")
	drain(resp)
	if loc == "" {
		return fmt.Errorf("POST %s: the registry gave no upload location", start)
	}
	base, _ := url.Parse(start)
	lu, err := base.Parse(loc)
	if err != nil {
		return fmt.Errorf("POST %s: bad upload location %q: %v", start, loc, err)
	}
	q := lu.Query()
	q.Set("digest", desc.Digest.String())
	lu.RawQuery = q.Encode()
	resp, err = c.do(ctx, repo, request{
		method: http.MethodPut,
		url:    lu.String(),
		header: http.Header{"Content-Type": {"application/octet-stream"}},
		body: func() (io.ReadCloser, error) {
			r, err := open()
			if err != nil {
				return nil, err
			}
			return p.Reader(r), nil
		},
		size: desc.Size,
		ok:   []int{http.StatusCreated},
		once: true,
	})
	if err != nil {
		return err
	}
	drain(resp)
	return checkStored("PUT", lu.String(), resp, desc.Digest.String())
}

// PutManifest uploads a manifest or index under ref, a digest or a tag.
// A registry that answers with another Docker-Content-Digest than the
// manifest's fails the upload.
func (c *Client) PutManifest(ctx context.Context, repo Repository, ref string, mediaType types.MediaType, raw []byte) error {
	u := c.endpoint(repo, "manifests", ref)
	resp, err := c.do(ctx, repo, request{
		method: http.MethodPut,
		url:    u,
		header: http.Header{"Content-Type": {string(mediaType)}},
		body:   func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(raw)), nil },
		size:   int64(len(raw)),
		ok:     []int{http.StatusCreated, http.StatusOK},
	})
	if err != nil {
		return err
	}
	drain(resp)
	sum := sha256.Sum256(raw)
	return checkStored("PUT", u, resp, "sha256:"+hex.EncodeToString(sum[:]))
}

// checkStored compares the Docker-Content-Digest a registry answered an
// upload with, if any, to want, the digest of what was sent.
func checkStored(method, u string, resp *http.Response, want string) error {
	got := resp.Header.Get("Docker-Content-Digest")
	if got == "" || got == want {
		return nil
	}
	return fmt.Errorf("%s %s: the registry stored the content as %s, but it was sent with digest %s (the registry, or something between it and us, changed the bytes)", method, u, got, want)
}
