package rails_test

import (
	"context"
	"errors"
	"testing"

	"github.com/referflow/referflow/internal/rails"
	"github.com/referflow/referflow/internal/rewards"
)

// TestLoaderBuildsOnFirstUseAndRetriesAFailure: the rails are built once,
// on first use; a failed build is retried on the next use; the rails left
// out are told once.
func TestLoaderBuildsOnFirstUseAndRetriesAFailure(t *testing.T) {
	builds, told := 0, 0
	fail := true
	l := &rails.Loader{
		Build: func(context.Context) (map[string]rewards.Rail, []string, error) {
			builds++
			if fail {
				return nil, nil, errors.New("ssm unreachable")
			}
			return map[string]rewards.Rail{}, []string{"paypal: no secret"}, nil
		},
		Skipped: func(why []string) { told += len(why) },
	}
	if builds != 0 {
		t.Fatal("built before use")
	}
	if _, err := l.Rails(context.Background()); err == nil || builds != 1 {
		t.Fatalf("first use: %v after %d builds", err, builds)
	}
	fail = false
	for i := 0; i < 3; i++ {
		if rs, err := l.Rails(context.Background()); err != nil || rs == nil {
			t.Fatalf("use %d: %v %v", i, rs, err)
		}
	}
	if builds != 2 || told != 1 {
		t.Fatalf("%d builds, told %d times", builds, told)
	}
}
