package localtest

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
)

// alive reports whether pid exists and is not a zombie.
func alive(pid int) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return runtime.GOOS != "linux" && syscall.Kill(pid, 0) == nil
	}
	_, rest, _ := strings.Cut(string(b), ") ")
	return !strings.HasPrefix(rest, "Z") && !strings.HasPrefix(rest, "X")
}

// descendants walks /proc for every process below pid.
func descendants(pid int) []int {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	children := map[int][]int{}
	for _, e := range entries {
		p, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		_, rest, ok := strings.Cut(string(b), ") ")
		if !ok {
			continue
		}
		f := strings.Fields(rest)
		if len(f) < 2 {
			continue
		}
		pp, _ := strconv.Atoi(f[1])
		children[pp] = append(children[pp], p)
	}
	var out []int
	queue := []int{pid}
	for len(queue) > 0 && len(out) < 10000 {
		p := queue[0]
		queue = queue[1:]
		for _, c := range children[p] {
			out = append(out, c)
			queue = append(queue, c)
		}
	}
	return out
}

// capped is a concurrency-safe buffer keeping the last max bytes.
type capped struct {
	mu  sync.Mutex
	max int
	buf bytes.Buffer
	// full, when set, gets the whole log: a failed soak's first errors are
	// long gone from the last max bytes.
	full *os.File
}

// keepAll writes the whole log to a new file in the temporary directory
// too (its path in Path), as well as its last max bytes in memory.
func (c *capped) keepAll() {
	f, err := os.CreateTemp("", "referflow-stack-*.log")
	if err == nil {
		c.full = f
	}
}

// Path is the file holding the whole log, "" when there is none.
func (c *capped) Path() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.full == nil {
		return ""
	}
	return c.full.Name()
}

// finish closes the whole log's file, removing it unless keep.
func (c *capped) finish(keep bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.full == nil {
		return
	}
	_ = c.full.Close()
	if !keep {
		_ = os.Remove(c.full.Name())
	}
	c.full = nil
}

func (c *capped) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.buf.Write(p)
	if c.full != nil {
		_, _ = c.full.Write(p)
	}
	if over := c.buf.Len() - c.max; over > 0 {
		c.buf.Next(over)
	}
	return len(p), nil
}

func (c *capped) String() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.buf.String()
}

func (c *capped) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.buf.Len()
}

var _ io.Writer = (*capped)(nil)
