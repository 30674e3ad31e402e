package outbound_test

import (
	"io"
	"net/http"
	"strings"
	"sync"
	"time"
)

// clock is an injected clock tests move by hand.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// receiver is a fake HTTP doer: it records each request and answers from
// a script (one answer per request; the last repeats).
type receiver struct {
	mu       sync.Mutex
	requests []recorded
	script   []answer
}

type recorded struct {
	url    string
	header http.Header
	body   string
}

// answer is a status and body, or err (a network error or timeout).
type answer struct {
	status int
	body   string
	err    error
}

func (r *receiver) Do(req *http.Request) (*http.Response, error) {
	body, _ := io.ReadAll(req.Body)
	r.mu.Lock()
	r.requests = append(r.requests, recorded{url: req.URL.String(), header: req.Header.Clone(), body: string(body)})
	a := r.script[min(len(r.requests), len(r.script))-1]
	r.mu.Unlock()
	if a.err != nil {
		return nil, a.err
	}
	return &http.Response{StatusCode: a.status, Body: io.NopCloser(strings.NewReader(a.body)), Header: http.Header{}}, nil
}

func (r *receiver) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.requests)
}

func (r *receiver) last() recorded {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.requests[len(r.requests)-1]
}
