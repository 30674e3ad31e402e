package settings

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ssm"
	ssmtypes "github.com/aws/aws-sdk-go-v2/service/ssm/types"
)

// fakeSSM serves parameters from a map and counts calls.
type fakeSSM struct {
	params map[string]string
	calls  int
}

func (f *fakeSSM) GetParameter(_ context.Context, in *ssm.GetParameterInput, _ ...func(*ssm.Options)) (*ssm.GetParameterOutput, error) {
	f.calls++
	v, ok := f.params[aws.ToString(in.Name)]
	if !ok {
		return nil, &ssmtypes.ParameterNotFound{}
	}
	return &ssm.GetParameterOutput{Parameter: &ssmtypes.Parameter{Value: aws.String(v)}}, nil
}

// A setting absent from SSM is asked for once per cache period, like a
// present one, and a parameter created later is seen after that period.
func TestMissingSettingsAreCachedToo(t *testing.T) {
	now := time.Date(2026, 8, 1, 12, 0, 0, 0, time.UTC)
	f := &fakeSSM{params: map[string]string{"/referflow/s/REFERFLOW_A": "a, b"}}
	s := New(f, "/referflow/s/", func() time.Time { return now })
	s.env = func(string) string { return "" }
	ctx := context.Background()
	for range 3 {
		if v, err := s.Values(ctx, "REFERFLOW_A"); err != nil || len(v) != 2 || v[0] != "a" || v[1] != "b" {
			t.Fatalf("Values = %q, %v", v, err)
		}
		if _, err := s.Get(ctx, "REFERFLOW_B"); !errors.Is(err, ErrMissing) {
			t.Fatalf("missing setting: %v", err)
		}
	}
	if f.calls != 2 {
		t.Fatalf("%d SSM calls, want 2 (one per setting)", f.calls)
	}
	f.params["/referflow/s/REFERFLOW_B"] = "new"
	now = now.Add(5 * time.Minute)
	if v, err := s.Get(ctx, "REFERFLOW_B"); err != nil || v != "new" {
		t.Fatalf("after the cache period: %q, %v", v, err)
	}
}

// The environment wins over SSM, and without SSM an unset setting is
// missing.
func TestEnvironmentFirst(t *testing.T) {
	f := &fakeSSM{params: map[string]string{"/p/REFERFLOW_A": "ssm"}}
	s := New(f, "/p/", time.Now)
	s.env = func(k string) string { return map[string]string{"REFERFLOW_A": "env"}[k] }
	if v, err := s.Get(context.Background(), "REFERFLOW_A"); err != nil || v != "env" || f.calls != 0 {
		t.Fatalf("Get = %q, %v (%d SSM calls)", v, err, f.calls)
	}
	local := New(nil, "", time.Now)
	local.env = func(string) string { return "" }
	if _, err := local.Get(context.Background(), "REFERFLOW_A"); !errors.Is(err, ErrMissing) {
		t.Fatalf("no SSM: %v", err)
	}
}
