package layer

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"runtime"
	"sync"
)

// deflateAnswer is the sha256 of what compress/gzip at the default level
// writes for deflateInput(): the answer of the Go releases whose deflate
// writes the bytes of StageX's published layers (Go 1.25 and 1.26; BuildKit
// compresses layers with the same package). Go 1.27 rewrote compress/flate
// and gives another answer.
const deflateAnswer = "4f94fd4bd98ffbbf6b7e54b33acd3785f712093c79ae42a2ab327a810ef39829"

// deflateInput is a fixed input that exercises what deflate decides: runs
// of text with long and short repeats, and stretches of incompressible
// bytes from a small linear congruential generator, 320 KiB in all.
func deflateInput() []byte {
	var b bytes.Buffer
	x := uint32(1)
	for i := 0; b.Len() < 320<<10; i++ {
		switch i % 3 {
		case 0:
			fmt.Fprintf(&b, "line %d of the known answer: %s\n", i, bytes.Repeat([]byte{'a' + byte(i%26)}, i%97))
		case 1:
			for j := 0; j < 1+i%700; j++ {
				x = x*1664525 + 1013904223
				b.WriteByte(byte(x >> 24))
			}
		default:
			b.Write(b.Bytes()[b.Len()/3 : b.Len()/3+i%300])
		}
	}
	return b.Bytes()
}

var deflateCheck = sync.OnceValue(func() error {
	var out bytes.Buffer
	zw := gzip.NewWriter(&out)
	if _, err := zw.Write(deflateInput()); err != nil {
		return err
	}
	if err := zw.Close(); err != nil {
		return err
	}
	sum := sha256.Sum256(out.Bytes())
	if got := hex.EncodeToString(sum[:]); got != deflateAnswer {
		return fmt.Errorf("compress/gzip of %s does not write the bytes BuildKit's does (known answer sha256:%s, got sha256:%s): "+
			"layers written with it would not have StageX's digests; build the tools with Go 1.25 or 1.26", runtime.Version(), deflateAnswer, got)
	}
	return nil
})

// CheckDeflate reports an error when this program's compress/gzip does not
// compress as the Go releases BuildKit's published layers were compressed
// with: every digest it wrote would differ from StageX's.
func CheckDeflate() error { return deflateCheck() }
