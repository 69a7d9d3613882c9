package regclient

import (
	"context"
	"fmt"
	"io"
	"sync"
	"time"
)

// StallError is a transfer abandoned because less than MinTransfer bytes
// moved in Idle: a response body the registry stopped sending, or with
// Upload a request body it stopped taking. It counts as a timeout, so the
// request is worth retrying.
type StallError struct {
	Idle   time.Duration
	Upload bool
}

func (e *StallError) Error() string {
	if e.Upload {
		return fmt.Sprintf("the upload stalled: the registry took less than %d bytes in %v (it stopped reading, or reads too slowly)", MinTransfer, e.Idle)
	}
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

// NoAnswerError is a request abandoned because the registry sent no
// response headers within Wait of the request's end (all of its body
// sent). It counts as a timeout, so the request is worth retrying.
type NoAnswerError struct {
	Wait time.Duration
}

func (e *NoAnswerError) Error() string {
	return fmt.Sprintf("no answer: the registry sent no response within %v of receiving the whole request", e.Wait)
}

// Timeout implements net.Error.
func (e *NoAnswerError) Timeout() bool { return true }

// Temporary implements net.Error.
func (e *NoAnswerError) Temporary() bool { return true }

// exchange watches one request until its response headers arrive: while
// its body is sent, less than MinTransfer bytes taken in a period of idle
// ends the request (through cancel, the request context's) with a
// StallError; once the body is sent (at once for a request without one),
// no answer within wait ends it with a NoAnswerError.
type exchange struct {
	cancel     context.CancelCauseFunc
	idle, wait time.Duration

	mu      sync.Mutex
	sending bool  // the body is not sent yet
	done    bool  // answered, or given up
	n       int64 // body bytes taken in the current period
	gen     int   // which timer is current
	timer   *time.Timer
}

func watchExchange(cancel context.CancelCauseFunc, idle, wait time.Duration, body bool) *exchange {
	x := &exchange{cancel: cancel, idle: idle, wait: wait, sending: body}
	x.mu.Lock()
	defer x.mu.Unlock()
	if body {
		x.arm(idle)
	} else {
		x.arm(wait)
	}
	return x
}

// arm starts a new period of d, replacing the current one. x.mu is held.
func (x *exchange) arm(d time.Duration) {
	if x.timer != nil {
		x.timer.Stop()
	}
	x.gen++
	gen := x.gen
	x.timer = time.AfterFunc(d, func() { x.expire(gen) })
}

// expire ends the period gen started.
func (x *exchange) expire(gen int) {
	x.mu.Lock()
	defer x.mu.Unlock()
	if x.done || gen != x.gen {
		return
	}
	switch {
	case !x.sending:
		x.done = true
		x.cancel(&NoAnswerError{Wait: x.wait})
	case x.n < MinTransfer:
		x.done = true
		x.cancel(&StallError{Idle: x.idle, Upload: true})
	default:
		x.n = 0
		x.arm(x.idle)
	}
}

// answered ends the watch: the response headers are in, or the request
// failed.
func (x *exchange) answered() {
	x.mu.Lock()
	defer x.mu.Unlock()
	x.done = true
	if x.timer != nil {
		x.timer.Stop()
	}
}

// body wraps the request body, counting what the transport takes.
func (x *exchange) body(r io.ReadCloser) io.ReadCloser { return &sentBody{r, x} }

type sentBody struct {
	io.ReadCloser
	x *exchange
}

func (b *sentBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	x := b.x
	x.mu.Lock()
	defer x.mu.Unlock()
	x.n += int64(n)
	if err == io.EOF && x.sending && !x.done {
		x.sending = false
		x.arm(x.wait)
	}
	return n, err
}
