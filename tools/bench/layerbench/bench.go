// Package layerbench measures how fast package layer writes layers: it makes a
// tree of mixed files, times writing it as a layer (tar, gzip and both
// sha256 digests) and times plain sha256 over the same file contents.
package layerbench

import (
	"crypto/sha256"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/stagex/stagex-bazel/tools/internal/layer"
)

// Generated tells what Generate made: how many files, how many bytes.
type Generated struct {
	Files int
	Bytes int64 // content of regular files, hard links counted once
}

// The share of the bytes each kind of file gets, in percent; the rest goes
// to large files.
const (
	smallShare  = 10
	mediumShare = 30
)

var words = strings.Fields(`the of and to in is that for it as with was on be by
	int char void return static const struct if else while for unsigned long
	include define endif ifdef size_t NULL malloc free printf errno buffer
	package func error nil string range make append len copy close open read
	write config make install prefix usr lib bin share doc man locale
	0 1 2 3 4 16 32 64 255 1024 4096 0x0 0xff { } ( ) ; , = == != <= >= -> * &`)

type gen struct {
	rng  *rand.Rand
	seed [32]byte
	buf  []byte
}

// text returns n bytes of source-code-like text.
func (g *gen) text(n int) []byte {
	b := g.buf[:0]
	col := 0
	for len(b) < n {
		w := words[g.rng.IntN(len(words))]
		b = append(b, w...)
		col += len(w) + 1
		if col > 60+g.rng.IntN(20) {
			b = append(b, '\n')
			col = 0
			for i := g.rng.IntN(3); i > 0; i-- {
				b = append(b, '\t')
			}
		} else {
			b = append(b, ' ')
		}
	}
	g.buf = b
	return b[:n]
}

// random returns n incompressible bytes.
func (g *gen) random(n int) []byte {
	if cap(g.buf) < n {
		g.buf = make([]byte, n)
	}
	b := g.buf[:n]
	c := rand.NewChaCha8(g.seed)
	g.seed[0]++
	c.Read(b)
	return b
}

// binary returns n bytes that look like a program: runs of random bytes
// (code), of zeros (padding) and of text (strings).
func (g *gen) binary(n int) []byte {
	out := make([]byte, 0, n)
	for len(out) < n {
		k := min(n-len(out), 256+g.rng.IntN(8192))
		switch g.rng.IntN(3) {
		case 0:
			out = append(out, g.random(k)...)
		case 1:
			out = append(out, make([]byte, k)...)
		default:
			out = append(out, g.text(k)...)
		}
	}
	return out
}

// Generate makes, under dir (which must be empty or missing), a tree of
// about size bytes from seed: many small text files, some medium text and
// binary files, a few large files half incompressible and half text, plus
// some symbolic and hard links. The same size and seed give the same tree.
func Generate(dir string, size int64, seed uint64) (Generated, error) {
	g := &gen{rng: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))}
	g.seed[0], g.seed[1] = byte(seed), byte(seed>>8)
	var tr Generated
	put := func(rel string, data []byte) error {
		p := filepath.Join(dir, filepath.FromSlash(rel))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(p, data, 0o644); err != nil {
			return err
		}
		tr.Files++
		tr.Bytes += int64(len(data))
		return nil
	}

	// Small text files, 100 a directory.
	budget := size * smallShare / 100
	for i := 0; budget > 0; i++ {
		n := int(min(budget, int64(512+g.rng.IntN(16<<10))))
		if err := put(fmt.Sprintf("usr/share/small/%03d/f%05d.txt", i/100, i), g.text(n)); err != nil {
			return tr, err
		}
		budget -= int64(n)
	}
	// Medium files.
	budget = size * mediumShare / 100
	for i := 0; budget > 0; i++ {
		n := int(min(budget, int64(64<<10+g.rng.IntN(1<<20-64<<10))))
		var err error
		if i%2 == 0 {
			err = put(fmt.Sprintf("usr/lib/medium/lib%04d.so", i), g.binary(n))
		} else {
			err = put(fmt.Sprintf("usr/share/medium/doc%04d.txt", i), g.text(n))
		}
		if err != nil {
			return tr, err
		}
		budget -= int64(n)
	}
	// Large files with what is left.
	budget = size - tr.Bytes
	large := min(max(size/16, 1<<20), 128<<20)
	for i := 0; budget > 0; i++ {
		n := int(min(budget, large))
		var data []byte
		var name string
		if i%2 == 0 {
			data, name = g.random(n), fmt.Sprintf("opt/large/blob%02d.bin", i)
		} else {
			data, name = g.text(n), fmt.Sprintf("opt/large/text%02d.txt", i)
		}
		if err := put(name, data); err != nil {
			return tr, err
		}
		budget -= int64(n)
	}
	// Links, as a real root filesystem has.
	if err := os.Symlink("usr/lib", filepath.Join(dir, "lib")); err != nil {
		return tr, err
	}
	blob := filepath.Join(dir, "opt/large/blob00.bin")
	if _, err := os.Stat(blob); err == nil {
		if err := os.Link(blob, filepath.Join(dir, "opt/large/blob00.link")); err != nil {
			return tr, err
		}
	}
	return tr, nil
}

// HashFiles reads every regular file under root (a hard-linked one once), in
// walk order, through one sha256 and returns the bytes read and the time
// taken.
func HashFiles(root string) (int64, time.Duration, error) {
	start := time.Now()
	h := sha256.New()
	buf := make([]byte, 1<<20)
	var total int64
	seen := map[[2]uint64]bool{}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		if st, ok := fi.Sys().(*syscall.Stat_t); ok && st.Nlink > 1 {
			key := [2]uint64{uint64(st.Dev), st.Ino}
			if seen[key] {
				return nil
			}
			seen[key] = true
		}
		f, err := os.Open(p)
		if err != nil {
			return err
		}
		defer f.Close()
		n, err := io.CopyBuffer(h, struct{ io.Reader }{f}, buf)
		total += n
		return err
	})
	h.Sum(nil)
	return total, time.Since(start), err
}

// Report holds one measurement.
type Report struct {
	Generated
	// HashedBytes is what HashFiles read: Bytes, unless the tree changed.
	HashedBytes int64
	LayerTime   time.Duration
	HashTime    time.Duration
	// LayerCPU and HashCPU are the processor time (user and system, all
	// threads) each took: on a busy machine they tell how much of the
	// cores the measurement had.
	LayerCPU, HashCPU time.Duration
	Layer             layer.Result
}

// cpuTime is the processor time this process has used so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// MBps is a throughput in megabytes (10^6 bytes) a second.
func MBps(bytes int64, d time.Duration) float64 {
	return float64(bytes) / 1e6 / d.Seconds()
}

// Ratio is the layer throughput over the plain sha256 throughput.
func (r Report) Ratio() float64 {
	return MBps(r.Bytes, r.LayerTime) / MBps(r.HashedBytes, r.HashTime)
}

func (r Report) String() string {
	return fmt.Sprintf(`tree:   %d files, %d bytes
layer:  %.0f MB/s (%v, cpu %v; %d compressed bytes, %.1f%%)
sha256: %.0f MB/s (%v, cpu %v)
ratio:  %.2f
digest: %s
diffid: %s
`,
		r.Files, r.Bytes,
		MBps(r.Bytes, r.LayerTime), r.LayerTime.Round(time.Millisecond), r.LayerCPU.Round(time.Millisecond),
		r.Layer.Size, 100*float64(r.Layer.Size)/float64(r.Bytes),
		MBps(r.HashedBytes, r.HashTime), r.HashTime.Round(time.Millisecond), r.HashCPU.Round(time.Millisecond),
		r.Ratio(), r.Layer.Digest, r.Layer.DiffID)
}

// Measure times plain sha256 over the tree's files (after one untimed pass
// that brings them into the page cache) and writing the tree as a layer to
// io.Discard.
func Measure(root string, tr Generated) (Report, error) {
	r := Report{Generated: tr}
	if _, _, err := HashFiles(root); err != nil {
		return r, err
	}
	var err error
	cpu := cpuTime()
	if r.HashedBytes, r.HashTime, err = HashFiles(root); err != nil {
		return r, err
	}
	r.HashCPU = cpuTime() - cpu
	cpu = cpuTime()
	start := time.Now()
	r.Layer, err = layer.WriteFull(io.Discard, root, layer.WriteOptions{})
	r.LayerTime = time.Since(start)
	r.LayerCPU = cpuTime() - cpu
	return r, err
}

// ParseSize reads a size such as 1048576, 64MiB, 1GiB or 500MB.
func ParseSize(s string) (int64, error) {
	units := []struct {
		suffix string
		mult   int64
	}{
		{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30},
		{"KB", 1e3}, {"MB", 1e6}, {"GB", 1e9}, {"B", 1},
	}
	mult := int64(1)
	num := s
	for _, u := range units {
		if strings.HasSuffix(s, u.suffix) {
			num, mult = strings.TrimSuffix(s, u.suffix), u.mult
			break
		}
	}
	n, err := strconv.ParseInt(strings.TrimSpace(num), 10, 64)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("size %q: expected a number of bytes, optionally with KiB, MiB, GiB, KB, MB or GB", s)
	}
	return n * mult, nil
}
