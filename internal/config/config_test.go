package config

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"
)

func env(vars map[string]string) *Env {
	return New(func(k string) (string, bool) { v, ok := vars[k]; return v, ok })
}

func TestString(t *testing.T) {
	for _, c := range []struct {
		name    string
		vars    map[string]string
		want    string
		problem string
	}{
		{"set", map[string]string{Table: "referflow-data"}, "referflow-data", ""},
		{"trimmed", map[string]string{Table: "  referflow-data\n"}, "referflow-data", ""},
		{"unset", map[string]string{}, "", "REFERFLOW_TABLE is not set"},
		{"empty", map[string]string{Table: ""}, "", "REFERFLOW_TABLE is empty"},
		{"blank", map[string]string{Table: "   "}, "", "REFERFLOW_TABLE is empty"},
	} {
		t.Run(c.name, func(t *testing.T) {
			e := env(c.vars)
			if got := e.String(Table); got != c.want {
				t.Errorf("String = %q, want %q", got, c.want)
			}
			checkErr(t, e.Err(), c.problem)
		})
	}
}

func TestOptional(t *testing.T) {
	for _, c := range []struct {
		name string
		vars map[string]string
		want string
	}{
		{"set", map[string]string{PublicBaseURL: "https://hooks.example.com"}, "https://hooks.example.com"},
		{"empty means the API's own host", map[string]string{PublicBaseURL: ""}, ""},
		{"unset", map[string]string{}, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			e := env(c.vars)
			if got := e.Optional(PublicBaseURL); got != c.want {
				t.Errorf("Optional = %q, want %q", got, c.want)
			}
			checkErr(t, e.Err(), "")
		})
	}
}

func TestDuration(t *testing.T) {
	for _, c := range []struct {
		name    string
		value   *string
		want    time.Duration
		problem string
	}{
		{"seconds", ptr("30s"), 30 * time.Second, ""},
		{"hours", ptr("8760h"), 365 * 24 * time.Hour, ""},
		{"mixed", ptr("1h30m"), 90 * time.Minute, ""},
		{"bare number is not a duration", ptr("30"), 0, `REFERFLOW_RECONCILE_GRACE "30" is not a positive Go duration such as 30s`},
		{"zero", ptr("0s"), 0, "is not a positive Go duration"},
		{"negative", ptr("-5s"), 0, "is not a positive Go duration"},
		{"words", ptr("soon"), 0, "is not a positive Go duration"},
		{"unset", nil, 0, "REFERFLOW_RECONCILE_GRACE is not set"},
		{"empty", ptr(""), 0, "REFERFLOW_RECONCILE_GRACE is empty"},
	} {
		t.Run(c.name, func(t *testing.T) {
			vars := map[string]string{}
			if c.value != nil {
				vars[ReconcileGrace] = *c.value
			}
			e := env(vars)
			if got := e.Duration(ReconcileGrace); got != c.want {
				t.Errorf("Duration = %v, want %v", got, c.want)
			}
			checkErr(t, e.Err(), c.problem)
		})
	}
}

func TestDays(t *testing.T) {
	for _, c := range []struct {
		name    string
		value   *string
		want    time.Duration
		problem string
	}{
		{"a year", ptr("365"), 365 * 24 * time.Hour, ""},
		{"trimmed", ptr(" 30 "), 30 * 24 * time.Hour, ""},
		{"a Go duration is not days", ptr("8760h"), 0, `REFERFLOW_PERSONAL_DATA_RETENTION_DAYS "8760h" is not a whole number of days such as 365`},
		{"zero", ptr("0"), 0, "is not a whole number of days"},
		{"negative", ptr("-1"), 0, "is not a whole number of days"},
		{"unset", nil, 0, "REFERFLOW_PERSONAL_DATA_RETENTION_DAYS is not set"},
	} {
		t.Run(c.name, func(t *testing.T) {
			vars := map[string]string{}
			if c.value != nil {
				vars[PersonalDataRetentionDays] = *c.value
			}
			e := env(vars)
			if got := e.Days(PersonalDataRetentionDays); got != c.want {
				t.Errorf("Days = %v, want %v", got, c.want)
			}
			checkErr(t, e.Err(), c.problem)
		})
	}
}

// Every problem is reported at once, in the order the variables were read,
// and the error names each variable.
func TestErrNamesEveryVariable(t *testing.T) {
	e := env(map[string]string{Table: "t", ExecutionBudget: "1y"})
	e.String(Table)
	e.String(StateMachineARN)
	e.Duration(ExecutionBudget)
	e.Optional(PublicBaseURL)
	err := e.Err()
	var ce *Error
	if !errors.As(err, &ce) {
		t.Fatalf("err = %v, want *Error", err)
	}
	want := []Problem{
		{StateMachineARN, "is not set"},
		{ExecutionBudget, `"1y" is not a positive Go duration such as 30s`},
	}
	if !reflect.DeepEqual(ce.Problems, want) {
		t.Fatalf("problems %+v, want %+v", ce.Problems, want)
	}
	const msg = `config: REFERFLOW_STATE_MACHINE_ARN is not set; REFERFLOW_EXECUTION_BUDGET "1y" is not a positive Go duration such as 30s`
	if err.Error() != msg {
		t.Fatalf("message %q, want %q", err.Error(), msg)
	}
}

func TestFromOS(t *testing.T) {
	t.Setenv(DefaultProgram, "b2b-partners")
	e := FromOS()
	if got := e.String(DefaultProgram); got != "b2b-partners" || e.Err() != nil {
		t.Fatalf("String = %q, err %v", got, e.Err())
	}
}

func checkErr(t *testing.T, err error, problem string) {
	t.Helper()
	if problem == "" {
		if err != nil {
			t.Fatalf("unexpected error: %v", err)
		}
		return
	}
	if err == nil || !strings.HasPrefix(err.Error(), "config: ") || !strings.Contains(err.Error(), problem) {
		t.Fatalf("err = %v, want one containing %q", err, problem)
	}
}

func ptr(s string) *string { return &s }
