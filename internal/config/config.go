// Package config is the one loader of the functions' configuration: the
// environment variables template.yaml sets for them. Every function's main
// reads its variables through an Env and stops at cold start, with an error
// naming each variable at fault, when one is missing or unreadable.
// Defaults live in one place, template.yaml: nothing here supplies a value
// the environment lacks. Durations are Go duration strings ("30s", "24h")
// throughout.
package config

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

// Variables template.yaml sets for the functions.
const (
	// Table is the DynamoDB table (every function).
	Table = "REFERFLOW_TABLE"
	// SettingsPrefix is the SSM prefix of settings and secrets,
	// "/referflow/<stack>/" (internal/settings).
	SettingsPrefix = "REFERFLOW_SETTINGS_PREFIX"
	// DefaultProgram is the program a referral form that names none joins.
	DefaultProgram = "REFERFLOW_DEFAULT_PROGRAM"
	// StateMachineARN is the referral workflow's state machine.
	StateMachineARN = "REFERFLOW_STATE_MACHINE_ARN"
	// PublicBaseURL is the API's public URL behind a custom domain; empty
	// means the API's own host.
	PublicBaseURL = "REFERFLOW_PUBLIC_BASE_URL"
	// ExecutionBudget is how long one workflow execution may wait in all.
	ExecutionBudget = "REFERFLOW_EXECUTION_BUDGET"
	// ExecutionSlack is the part of the budget kept for the steps after a
	// wait.
	ExecutionSlack = "REFERFLOW_EXECUTION_SLACK"
	// ReconcileGrace is how old a stored referral without a workflow must
	// be before the reconciler starts its workflow.
	ReconcileGrace = "REFERFLOW_RECONCILE_GRACE"
	// PersonalDataRetentionDays is how many days a closed referral's
	// personal data is kept (the PersonalDataRetentionDays parameter);
	// intake records it on each referral it stores.
	PersonalDataRetentionDays = "REFERFLOW_PERSONAL_DATA_RETENTION_DAYS"
	// EventBus is the EventBridge bus domain events are published to
	// (functions/publish).
	EventBus = "REFERFLOW_EVENT_BUS"
	// MailFrom is the sender of the emails of programs that name none
	// (their emails.from); an address at the SES identity of the
	// EmailDomain parameter.
	MailFrom = "REFERFLOW_MAIL_FROM"
)

// Problem is one variable at fault and what is wrong with it.
type Problem struct {
	Name    string // the variable, e.g. REFERFLOW_TABLE
	Message string // e.g. "is not set"
}

// Error lists every variable that is missing or unreadable, in the order
// they were read. It is never empty.
type Error struct {
	Problems []Problem
}

// Error reads "config: REFERFLOW_TABLE is not set; REFERFLOW_RECONCILE_GRACE
// "30" is not a Go duration such as 30s".
func (e *Error) Error() string {
	parts := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		parts[i] = p.Name + " " + p.Message
	}
	return "config: " + strings.Join(parts, "; ")
}

// Env reads variables and collects every problem, so a function reads all
// of its configuration, then checks Err once.
type Env struct {
	lookup   func(string) (string, bool)
	problems []Problem
}

// New returns an Env reading variables with lookup (os.LookupEnv in
// production, a map in tests).
func New(lookup func(string) (string, bool)) *Env {
	return &Env{lookup: lookup}
}

// FromOS returns an Env over the process environment.
func FromOS() *Env { return New(os.LookupEnv) }

func (e *Env) fail(name, format string, args ...any) {
	e.problems = append(e.problems, Problem{Name: name, Message: fmt.Sprintf(format, args...)})
}

// String returns a required variable, trimmed. Unset or blank is a problem.
func (e *Env) String(name string) string {
	v, ok := e.lookup(name)
	v = strings.TrimSpace(v)
	switch {
	case !ok:
		e.fail(name, "is not set")
	case v == "":
		e.fail(name, "is empty")
	}
	return v
}

// Optional returns a variable whose empty value means something (e.g.
// PublicBaseURL), trimmed; "" when it is unset or empty.
func (e *Env) Optional(name string) string {
	v, _ := e.lookup(name)
	return strings.TrimSpace(v)
}

// Duration returns a required Go duration ("30s", "24h", "8760h") greater
// than zero. Unset, blank, unreadable or not positive is a problem.
func (e *Env) Duration(name string) time.Duration {
	v := e.String(name)
	if v == "" {
		return 0
	}
	d, err := time.ParseDuration(v)
	if err != nil || d <= 0 {
		e.fail(name, "%q is not a positive Go duration such as 30s", v)
		return 0
	}
	return d
}

// Days returns a required whole number of days ("365"), greater than zero,
// as a duration (a template parameter in days cannot be turned into a Go
// duration string by CloudFormation). Unset, blank, unreadable or not
// positive is a problem.
func (e *Env) Days(name string) time.Duration {
	v := e.String(name)
	if v == "" {
		return 0
	}
	d, err := strconv.Atoi(v)
	if err != nil || d <= 0 || d > 100*366 {
		e.fail(name, "%q is not a whole number of days such as 365", v)
		return 0
	}
	return time.Duration(d) * 24 * time.Hour
}

// Err returns nil when every variable read so far is usable, else an
// *Error naming each one at fault.
func (e *Env) Err() error {
	if len(e.problems) == 0 {
		return nil
	}
	return &Error{Problems: append([]Problem(nil), e.problems...)}
}
