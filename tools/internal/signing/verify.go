package signing

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/stagex/stagex-bazel/tools/internal/diag"
	"github.com/stagex/stagex-bazel/tools/internal/signing/lookaside"
	"github.com/stagex/stagex-bazel/tools/internal/signing/payload"
	"github.com/stagex/stagex-bazel/tools/internal/signing/trust"
)

// VerifyOptions configure Verify.
type VerifyOptions struct {
	// Store is the root of the lookaside signature store.
	Store string
	// Prefix is the repository prefix of the identities, e.g. "stagex".
	Prefix  string
	Keyring *trust.Keyring
	// Policy gives the threshold and the keys that count; nil means
	// trust.DefaultPolicy(Keyring).
	Policy *trust.Policy
	// Now is the time keys are checked for expiry and revocation; zero
	// means the current time.
	Now time.Time
}

// Rejection is a signature file that did not count, and why.
type Rejection struct {
	Path   string
	Reason string
}

// ImageResult is the verdict for one image.
type ImageResult struct {
	Image    Image
	Identity string
	// Threshold is the number of distinct keys the policy asks for.
	Threshold int
	// Signed are the keys that made a valid, counting signature, by name.
	Signed []trust.Key
	// Missing are the keys that count for this image but did not sign it.
	Missing []trust.Key
	// Rejected lists every signature file that did not count.
	Rejected []Rejection
	// OK is true when len(Signed) >= Threshold.
	OK bool
}

// Message is a human-readable account of the result, one line, followed by
// one indented line per rejected signature.
func (r ImageResult) Message() string {
	var b strings.Builder
	verdict := "OK"
	if !r.OK {
		verdict = "FAILED"
	}
	fmt.Fprintf(&b, "%s@%s: %s, %d of %d required signatures", r.Identity, r.Image.Digest, verdict, len(r.Signed), r.Threshold)
	fmt.Fprintf(&b, "; signed by: %s", keyList(r.Signed))
	fmt.Fprintf(&b, "; missing: %s", keyList(r.Missing))
	for _, rej := range r.Rejected {
		fmt.Fprintf(&b, "\n  rejected %s: %s", rej.Path, rej.Reason)
	}
	return b.String()
}

func keyList(keys []trust.Key) string {
	if len(keys) == 0 {
		return "none"
	}
	s := make([]string, len(keys))
	for i, k := range keys {
		s[i] = k.String()
	}
	return strings.Join(s, ", ")
}

// Report is the outcome of Verify.
type Report struct {
	Images []ImageResult
	// SkippedKeys are the key files VerifyImages could not use, each error
	// naming its file and why; the other keys still count.
	SkippedKeys []error
}

// OK reports whether every image met its threshold.
func (r *Report) OK() bool {
	for _, i := range r.Images {
		if !i.OK {
			return false
		}
	}
	return true
}

// Failed returns the images that did not meet their threshold.
func (r *Report) Failed() []ImageResult {
	var f []ImageResult
	for _, i := range r.Images {
		if !i.OK {
			f = append(f, i)
		}
	}
	return f
}

// String returns every image's Message and a summary line.
func (r *Report) String() string {
	var b strings.Builder
	for _, i := range r.Images {
		b.WriteString(i.Message())
		b.WriteByte('\n')
	}
	fmt.Fprintf(&b, "%d of %d images verified", len(r.Images)-len(r.Failed()), len(r.Images))
	return b.String()
}

// Print writes every image's Message (with quiet, only those of the images
// that failed) and the summary line to w.
func (r *Report) Print(w io.Writer, quiet bool) {
	for _, i := range r.Images {
		if !quiet || !i.OK {
			fmt.Fprintln(w, i.Message())
		}
	}
	fmt.Fprintf(w, "%d of %d images verified\n", len(r.Images)-len(r.Failed()), len(r.Images))
}

// Err says how many images lack the required signatures, or is nil when
// none does.
func (r *Report) Err() error {
	if failed := len(r.Failed()); failed > 0 {
		return fmt.Errorf("%d of %d images lack the required signatures", failed, len(r.Images))
	}
	return nil
}

// Verify checks each image's signatures against the keyring and policy. An
// image passes when at least the policy's threshold of distinct keys that
// count for its tier made valid signatures over exactly its digest and
// identity. The error is only for problems that stop verification itself
// (e.g. an unreadable store); rejected signatures and failed images are in
// the report.
func Verify(opts VerifyOptions, images []Image) (*Report, error) {
	if opts.Keyring == nil {
		return nil, errors.New("no keyring to verify against")
	}
	if opts.Store == "" || opts.Prefix == "" {
		return nil, errors.New("a signature store and a repository prefix are required")
	}
	pol := opts.Policy
	if pol == nil {
		pol = trust.DefaultPolicy(opts.Keyring)
	}
	now := opts.Now
	if now.IsZero() {
		now = time.Now()
	}
	rep := &Report{}
	for _, img := range images {
		res, err := verifyImage(opts, pol.Rule(img.Tier), img, now)
		if err != nil {
			return nil, err
		}
		rep.Images = append(rep.Images, res)
	}
	return rep, nil
}

func verifyImage(opts VerifyOptions, rule trust.Rule, img Image, now time.Time) (ImageResult, error) {
	ref := Identity(opts.Prefix, img.Name)
	res := ImageResult{Image: img, Identity: ref, Threshold: rule.Threshold}
	sigs, err := lookaside.Read(opts.Store, ref, img.Digest)
	if err != nil {
		if img.Line > 0 {
			return res, diag.Errorf(img.File, img.Line, "%v", err)
		}
		return res, fmt.Errorf("%s: %v", img.Name, err)
	}
	seen := map[[sha256.Size]byte]string{}
	counted := map[string]string{}
	reject := func(path, format string, args ...any) {
		res.Rejected = append(res.Rejected, Rejection{Path: path, Reason: fmt.Sprintf(format, args...)})
	}
	for _, s := range sigs {
		if s.Err != nil {
			reject(s.Path, "%v", s.Err)
			continue
		}
		sum := sha256.Sum256(s.Data)
		if first, dup := seen[sum]; dup {
			reject(s.Path, "same file as %s, counted once", filepath.Base(first))
			continue
		}
		seen[sum] = s.Path
		key, body, err := openMessage(opts.Keyring.Entities(), s.Data, now)
		if err != nil {
			reject(s.Path, "%v", err)
			continue
		}
		fpr := trust.Fingerprint(key.Entity)
		k, _ := opts.Keyring.ByFingerprint(fpr)
		p, err := payload.Parse(body)
		if err != nil {
			reject(s.Path, "signature by %s has a malformed payload: %v", k, err)
			continue
		}
		if p.Digest != img.Digest {
			reject(s.Path, "signature by %s is over digest %s, expected %s", k, p.Digest, img.Digest)
			continue
		}
		if normalizeRef(p.Reference) != normalizeRef(ref) {
			reject(s.Path, "signature by %s is for identity %q, expected %q", k, p.Reference, ref)
			continue
		}
		if !rule.Counts(fpr) {
			reject(s.Path, "key %s does not count for tier %s under the policy", k, img.Tier)
			continue
		}
		if first, dup := counted[fpr]; dup {
			reject(s.Path, "another signature by %s (%s), counted once", k, filepath.Base(first))
			continue
		}
		counted[fpr] = s.Path
		res.Signed = append(res.Signed, k)
	}
	for _, k := range rule.Keys {
		if _, ok := counted[k.Fingerprint]; !ok {
			res.Missing = append(res.Missing, k)
		}
	}
	sortByName(res.Signed)
	res.OK = len(res.Signed) >= rule.Threshold
	return res, nil
}

func sortByName(keys []trust.Key) {
	sort.Slice(keys, func(i, j int) bool { return keys[i].Name < keys[j].Name })
}
