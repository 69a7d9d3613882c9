package regclient

import (
	"context"
	"fmt"
	"io"
	"sync"
	"time"
)

// StallError is a response body abandoned because it delivered less than
// MinTransfer bytes in Idle. It counts as a timeout, so the request is
// worth retrying.
type StallError struct {
	Idle time.Duration
}

func (e *StallError) Error() string {
	return fmt.Sprintf("the transfer stalled: less than %d bytes arrived in %v (the registry stopped sending, or trickles)", MinTransfer, e.Idle)
}

// Timeout implements net.Error.
func (e *StallError) Timeout() bool { return true }

// Temporary implements net.Error.
func (e *StallError) Temporary() bool { return true }

// watchedBody is a response body that ends its request (through cancel,
// the request context's) when a period of idle passes with less than
// MinTransfer bytes read, whether the registry sends nothing or trickles.
type watchedBody struct {
	body   io.ReadCloser
	cancel context.CancelCauseFunc
	idle   time.Duration

	mu      sync.Mutex
	n       int64 // bytes read in the current period
	timer   *time.Timer
	done    bool // EOF or closed: nothing left to watch
	stalled *StallError
}

func watchBody(body io.ReadCloser, cancel context.CancelCauseFunc, idle time.Duration) *watchedBody {
	w := &watchedBody{body: body, cancel: cancel, idle: idle}
	w.mu.Lock()
	w.timer = time.AfterFunc(idle, w.check)
	w.mu.Unlock()
	return w
}

// check ends a period: the request is cancelled when it was one of
// stalling, else a new period starts.
func (w *watchedBody) check() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.done {
		return
	}
	if w.n < MinTransfer {
		w.stalled = &StallError{Idle: w.idle}
		w.cancel(w.stalled)
		return
	}
	w.n = 0
	w.timer.Reset(w.idle)
}

func (w *watchedBody) Read(p []byte) (int, error) {
	n, err := w.body.Read(p)
	w.mu.Lock()
	defer w.mu.Unlock()
	w.n += int64(n)
	if err != nil {
		if w.stalled != nil {
			return n, w.stalled
		}
		if err == io.EOF {
			w.done = true
			w.timer.Stop()
		}
	}
	return n, err
}

func (w *watchedBody) Close() error {
	err := w.body.Close()
	w.mu.Lock()
	w.done = true
	w.timer.Stop()
	w.mu.Unlock()
	w.cancel(nil)
	return err
}
