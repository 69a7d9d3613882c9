package stagebuild

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"sync"

	"github.com/stagex/stagex-bazel/tools/internal/containerfile"
	"github.com/stagex/stagex-bazel/tools/internal/layer"
	"github.com/stagex/stagex-bazel/tools/internal/ociimage"
)

// layerQueue compresses a stage's layers in the background. Compressing is
// most of the time a layer takes (Go's compress/gzip at the default level,
// single-threaded, as the bytes require), and it needs only the layer's
// uncompressed tar, not the root: so each step's tar is written at once
// (the next step changes the root) and compressed while the next steps run,
// as many at a time as there are processors.
type layerQueue struct {
	sem  chan struct{}
	wg   sync.WaitGroup
	jobs []*layerJob
}

type layerJob struct {
	step  *containerfile.Step
	layer ociimage.Layer
	err   error
}

func newLayerQueue() *layerQueue {
	return &layerQueue{sem: make(chan struct{}, max(1, runtime.GOMAXPROCS(0)))}
}

// queueLayer writes the step's changes of the root as an uncompressed tar
// now and queues its compression into layer n. A compress/gzip that would
// not write BuildKit's bytes fails the compression (layer.Compress checks).
func (b *builder) queueLayer(q *layerQueue, step *containerfile.Step, changes []layer.Change, n int) error {
	// As root, files carry the ownership RUN and COPY gave them. An
	// unprivileged runner cannot give away files, so ownership comes from
	// what Apply recorded and is 0:0 otherwise.
	opts := layer.WriteOptions{
		SourceDateEpoch: ociimage.Created,
		KeepOwner:       true,
		Owners:          b.ownersForWrite(changes),
	}
	tarPath := filepath.Join(b.work, fmt.Sprintf("layer-%d.tar", n))
	if err := writeTarFile(tarPath, b.root, changes, opts); err != nil {
		os.Remove(tarPath)
		return err
	}
	job := &layerJob{step: step}
	q.jobs = append(q.jobs, job)
	q.wg.Add(1)
	go func() {
		defer q.wg.Done()
		q.sem <- struct{}{}
		defer func() { <-q.sem }()
		job.layer, job.err = compressLayer(tarPath, filepath.Join(b.work, fmt.Sprintf("layer-%d.tar.gz", n)), opts)
	}()
	return nil
}

// wait waits for every queued compression and returns the layers in step
// order, or the first job that failed.
func (q *layerQueue) wait() ([]ociimage.Layer, *layerJob) {
	q.wg.Wait()
	out := make([]ociimage.Layer, 0, len(q.jobs))
	for _, j := range q.jobs {
		if j.err != nil {
			return nil, j
		}
		out = append(out, j.layer)
	}
	return out, nil
}

func writeTarFile(p, root string, changes []layer.Change, opts layer.WriteOptions) error {
	f, err := os.Create(p)
	if err != nil {
		return err
	}
	bw := bufio.NewWriterSize(f, 1<<20)
	err = layer.WriteTar(bw, root, changes, opts)
	if err == nil {
		err = bw.Flush()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// compressLayer turns the tar at tarPath into the layer blob at out, and
// removes the tar.
func compressLayer(tarPath, out string, opts layer.WriteOptions) (ociimage.Layer, error) {
	defer os.Remove(tarPath)
	in, err := os.Open(tarPath)
	if err != nil {
		return ociimage.Layer{}, err
	}
	defer in.Close()
	f, err := os.Create(out)
	if err != nil {
		return ociimage.Layer{}, err
	}
	res, err := layer.Compress(f, bufio.NewReaderSize(in, 1<<20), opts)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return ociimage.Layer{}, err
	}
	return ociimage.Layer{
		Path: out, Digest: res.Digest, DiffID: res.DiffID, Size: res.Size,
		Annotations: map[string]string{ociimage.AnnotationRewritten: strconv.FormatInt(ociimage.Created.Unix(), 10)},
	}, nil
}
