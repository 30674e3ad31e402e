package localtest

import (
	"os"
	"strings"
	"testing"
)

// The stack's log keeps its last bytes in memory for a failed test's
// output and the whole of it in a file, kept only when the test failed.
func TestLogKeepsItsTailAndTheWholeOnlyForAFailure(t *testing.T) {
	for _, keep := range []bool{true, false} {
		c := &capped{max: 10}
		c.keepAll()
		path := c.Path()
		if path == "" {
			t.Fatal("no file for the whole log")
		}
		for _, line := range []string{"first line\n", "second line\n", "third\n"} {
			if _, err := c.Write([]byte(line)); err != nil {
				t.Fatal(err)
			}
		}
		if got := c.String(); got != "ine\nthird\n" {
			t.Errorf("tail %q, want the last 10 bytes", got)
		}
		c.finish(keep)
		_, _ = c.Write([]byte("after the end\n")) // the stack may still be writing
		b, err := os.ReadFile(path)
		switch {
		case keep && (err != nil || string(b) != "first line\nsecond line\nthird\n"):
			t.Errorf("kept log %q, %v; want every line", b, err)
		case !keep && !os.IsNotExist(err):
			t.Errorf("log of a passed test left behind: %v", err)
		}
		if keep {
			_ = os.Remove(path)
		}
		if c.Path() != "" || !strings.HasSuffix(c.String(), "the end\n") {
			t.Errorf("after finish: path %q, tail %q", c.Path(), c.String())
		}
	}
}
