// Package build builds function binaries the way `sam build` does for
// `BuildMethod: makefile`: make -C <CodeUri> build-<LogicalId>
// ARTIFACTS_DIR=<dir>/<LogicalId>, here for the host's GOOS/GOARCH so the
// bootstrap runs locally.
package build

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sync"

	"github.com/referflow/referflow/infra/local/sam"
)

// Parallel is how many builds run at once.
const Parallel = 2

// Binary is the path of a function's bootstrap under dir.
func Binary(dir, logicalID string) string {
	return filepath.Join(dir, logicalID, "bootstrap")
}

// Function builds one function into dir/<LogicalId>/bootstrap.
func Function(ctx context.Context, makeDir, logicalID, dir string) (string, error) {
	out := filepath.Join(dir, logicalID)
	if err := os.MkdirAll(out, 0o755); err != nil {
		return "", fmt.Errorf("build %s: %w", logicalID, err)
	}
	cmd := exec.CommandContext(ctx, "make", "-C", makeDir, "--no-print-directory", "build-"+logicalID,
		"ARTIFACTS_DIR="+out, "GOARCH="+runtime.GOARCH, "GOOS="+runtime.GOOS)
	var buf bytes.Buffer
	cmd.Stdout, cmd.Stderr = &buf, &buf
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("build %s (make -C %s build-%s): %w\n%s", logicalID, makeDir, logicalID, err, buf.String())
	}
	bin := Binary(dir, logicalID)
	if _, err := os.Stat(bin); err != nil {
		return "", fmt.Errorf("build %s: make succeeded but produced no bootstrap: %w", logicalID, err)
	}
	return bin, nil
}

// Functions builds every function of the template (Parallel at a time) and
// returns their binaries by logical id.
func Functions(ctx context.Context, fns []sam.Function, dir string) (map[string]string, error) {
	sem := make(chan struct{}, Parallel)
	var mu sync.Mutex
	bins := map[string]string{}
	var errs []error
	var wg sync.WaitGroup
	for _, fn := range fns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			select {
			case sem <- struct{}{}:
			case <-ctx.Done():
				mu.Lock()
				errs = append(errs, ctx.Err())
				mu.Unlock()
				return
			}
			defer func() { <-sem }()
			bin, err := Function(ctx, fn.CodeDir, fn.LogicalID, dir)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				errs = append(errs, err)
				return
			}
			bins[fn.LogicalID] = bin
		}()
	}
	wg.Wait()
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return bins, nil
}

// Prebuilt returns the binaries of dir/<LogicalId>/bootstrap, failing if one
// is missing.
func Prebuilt(fns []sam.Function, dir string) (map[string]string, error) {
	bins := map[string]string{}
	for _, fn := range fns {
		bin := Binary(dir, fn.LogicalID)
		if _, err := os.Stat(bin); err != nil {
			return nil, fmt.Errorf("prebuilt binary of %s: %w", fn.LogicalID, err)
		}
		abs, err := filepath.Abs(bin)
		if err != nil {
			return nil, fmt.Errorf("prebuilt binary of %s: %w", fn.LogicalID, err)
		}
		bins[fn.LogicalID] = abs
	}
	return bins, nil
}

// Hello builds the minimal aws-lambda-go function of
// infra/local/testdata/hello (the bench's baseline for binary size and init
// time) into dir/HelloFunction/bootstrap, the same way as the functions.
func Hello(ctx context.Context, repoRoot, dir string) (string, error) {
	return Function(ctx, filepath.Join(repoRoot, "infra", "local", "testdata"), "HelloFunction", dir)
}

// RepoRoot walks up from start to the directory holding go.mod.
func RepoRoot(start string) (string, error) {
	dir, err := filepath.Abs(start)
	if err != nil {
		return "", fmt.Errorf("repo root: %w", err)
	}
	for range 64 {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			break
		}
		dir = parent
	}
	return "", fmt.Errorf("no go.mod above %s", start)
}
