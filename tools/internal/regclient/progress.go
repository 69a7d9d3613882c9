package regclient

import (
	"fmt"
	"io"
	"sync"
	"time"
)

// Progress reports how much of a transfer is done, as lines
// "<label>: 12.0 MiB of 48.2 MiB (24%)", at most one per ProgressEvery and
// only when the total is at least ProgressMin. A nil *Progress does
// nothing. It is safe for concurrent use.
type Progress struct {
	log   io.Writer
	label string
	min   int64
	every time.Duration
	now   func() time.Time

	mu       sync.Mutex
	total    int64
	complete int64
	last     time.Time
	lastPct  int64
}

// NewProgress returns a Progress for one transfer of total bytes, writing
// to the options' Log.
func (o Options) NewProgress(label string, total int64) *Progress {
	p := &Progress{log: o.Log, label: label, min: o.ProgressMin, every: o.ProgressEvery, now: time.Now, total: total, lastPct: -1}
	if p.min <= 0 {
		p.min = DefaultProgressMin
	}
	if p.every <= 0 {
		p.every = 2 * time.Second
	}
	return p
}

// Complete returns the number of bytes done.
func (p *Progress) Complete() int64 {
	if p == nil {
		return 0
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.complete
}

// Set records that n bytes are done, and prints a line when one is due:
// on the first call, when ProgressEvery has passed, and at 100%.
func (p *Progress) Set(n int64) {
	if p == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.complete = n
	if p.log == nil || p.total < p.min {
		return
	}
	pct := n * 100 / p.total
	t := p.now()
	if pct == p.lastPct || (pct < 100 && p.lastPct >= 0 && t.Sub(p.last) < p.every) {
		return
	}
	p.last, p.lastPct = t, pct
	fmt.Fprintf(p.log, "%s: %s of %s (%d%%)\n", p.label, Size(n), Size(p.total), pct)
}

// Add records n more bytes done.
func (p *Progress) Add(n int64) {
	if p == nil {
		return
	}
	p.mu.Lock()
	c := p.complete + n
	p.mu.Unlock()
	p.Set(c)
}

// Reader counts what is read through r.
func (p *Progress) Reader(r io.Reader) io.ReadCloser {
	rc, ok := r.(io.ReadCloser)
	if !ok {
		rc = io.NopCloser(r)
	}
	if p == nil {
		return rc
	}
	return &countingReader{r: rc, p: p}
}

type countingReader struct {
	r io.ReadCloser
	p *Progress
}

func (c *countingReader) Read(b []byte) (int, error) {
	n, err := c.r.Read(b)
	if n > 0 {
		c.p.Add(int64(n))
	}
	return n, err
}

func (c *countingReader) Close() error { return c.r.Close() }

// Size formats a byte count for people: "512 B", "1.5 KiB", "48.2 MiB".
func Size(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit && exp < 4; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTP"[exp])
}
