package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/cloudformation"
	cftypes "github.com/aws/aws-sdk-go-v2/service/cloudformation/types"
	"github.com/aws/smithy-go"

	"github.com/referflow/referflow/internal/outbound"
	"github.com/referflow/referflow/internal/outbound/outboundtest"
	"github.com/referflow/referflow/internal/partners"
	"github.com/referflow/referflow/internal/referral"
	"github.com/referflow/referflow/internal/store"
)

// testApp is the command line with no environment and no AWS: the tests
// give it the openers they need.
func testApp(t *testing.T) *app {
	t.Helper()
	a := newApp(&bytes.Buffer{}, &bytes.Buffer{}, func(string) string { return "" })
	a.openStore = func(context.Context) (*store.Store, error) {
		t.Fatal("the command opened the table")
		return nil, nil
	}
	return a
}

// cli runs `referflow ARGS...` with a (its flags and deployment afresh) and answers
// what it wrote on stdout and the error it ended with.
func cli(t *testing.T, a *app, args ...string) (string, error) {
	t.Helper()
	var out, errOut bytes.Buffer
	a.out, a.errOut, a.dep, a.cfg, a.g = &out, &errOut, nil, nil, globalFlags{}
	root := a.root()
	root.SetArgs(args)
	err := root.ExecuteContext(context.Background())
	return out.String(), err
}

// fakeCFN answers DescribeStacks from a map of stacks' outputs; err, when
// set, is its answer to every call.
type fakeCFN struct {
	stacks map[string]map[string]string
	err    error
	calls  int
}

func (f *fakeCFN) DescribeStacks(_ context.Context, in *cloudformation.DescribeStacksInput, _ ...func(*cloudformation.Options)) (*cloudformation.DescribeStacksOutput, error) {
	f.calls++
	if f.err != nil {
		return nil, f.err
	}
	outs, ok := f.stacks[aws.ToString(in.StackName)]
	if !ok {
		return nil, &smithy.GenericAPIError{Code: "ValidationError", Message: "Stack with id " + aws.ToString(in.StackName) + " does not exist"}
	}
	st := cftypes.Stack{StackName: in.StackName}
	for k, v := range outs {
		st.Outputs = append(st.Outputs, cftypes.Output{OutputKey: aws.String(k), OutputValue: aws.String(v)})
	}
	return &cloudformation.DescribeStacksOutput{Stacks: []cftypes.Stack{st}}, nil
}

// stackApp is testApp with a fake CloudFormation holding the stack prod.
func stackApp(t *testing.T, cfn *fakeCFN) *app {
	a := testApp(t)
	a.awsConfig = func(_ context.Context, region string) (aws.Config, error) {
		if region == "" {
			region = "eu-west-1"
		}
		return aws.Config{Region: region, Credentials: credentials.NewStaticCredentialsProvider("AKID", "SECRET", "")}, nil
	}
	a.newCFN = func(aws.Config) stackDescriber { return cfn }
	return a
}

var prodOutputs = map[string]string{"TableName": "prod-Table-1ABC", "ApiUrl": "https://abc123.execute-api.eu-west-1.amazonaws.com",
	"StateMachineArn": "arn:aws:states:eu-west-1:1:stateMachine:prod", "SettingsPrefix": "/referflow/prod/", "EventBusName": "prod-bus"}

// --stack reads the deployment from the stack's outputs, once; each flag
// overrides its output; an unknown stack is not found (3), CloudFormation
// failing is unavailable (5); without --stack or --table a command that
// needs the table is bad usage (2).
func TestStackResolution(t *testing.T) {
	cases := []struct {
		name string
		cfn  *fakeCFN
		args []string
		want deployment
		code int
	}{
		{"outputs", &fakeCFN{stacks: map[string]map[string]string{"prod": prodOutputs}}, []string{"--stack", "prod"},
			deployment{Stack: "prod", Region: "eu-west-1", Table: "prod-Table-1ABC", APIURL: prodOutputs["ApiUrl"], StateMachine: prodOutputs["StateMachineArn"], SettingsPrefix: "/referflow/prod/"}, 0},
		{"overrides and region", &fakeCFN{stacks: map[string]map[string]string{"prod": prodOutputs}},
			[]string{"--stack", "prod", "--region", "us-east-2", "--table", "other", "--api-url", "http://127.0.0.1:3000"},
			deployment{Stack: "prod", Region: "us-east-2", Table: "other", APIURL: "http://127.0.0.1:3000", StateMachine: prodOutputs["StateMachineArn"], SettingsPrefix: "/referflow/prod/"}, 0},
		{"no stack: flags alone", &fakeCFN{}, []string{"--table", "local", "--state-machine", "arn:m"}, deployment{Table: "local", StateMachine: "arn:m"}, 0},
		{"unknown stack", &fakeCFN{stacks: map[string]map[string]string{}}, []string{"--stack", "nope"}, deployment{}, exitNotFound},
		{"not a referflow stack", &fakeCFN{stacks: map[string]map[string]string{"web": {"BucketName": "b"}}}, []string{"--stack", "web"}, deployment{}, exitNotFound},
		{"cloudformation down", &fakeCFN{err: &smithy.OperationError{ServiceID: "CloudFormation", OperationName: "DescribeStacks", Err: errors.New("dial tcp: connection refused")}},
			[]string{"--stack", "prod"}, deployment{}, exitUnavailable},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			a := stackApp(t, c.cfn)
			out, err := cli(t, a, append(c.args, "deployment", "-o", "json")...)
			if got := exitCode(err); got != c.code {
				t.Fatalf("exit code %d (%v), want %d", got, err, c.code)
			}
			if c.code != 0 {
				return
			}
			var d deployment
			if err := json.Unmarshal([]byte(out), &d); err != nil || d != c.want {
				t.Fatalf("deployment %+v (%v), want %+v", d, err, c.want)
			}
			if want := 0; len(c.args) > 0 && c.args[0] == "--stack" {
				want = 1
				if c.cfn.calls != want {
					t.Fatalf("DescribeStacks called %d times, want %d", c.cfn.calls, want)
				}
			}
		})
	}
	// The table form says the same.
	out, err := cli(t, stackApp(t, &fakeCFN{stacks: map[string]map[string]string{"prod": prodOutputs}}), "--stack", "prod", "deployment")
	if err != nil || !strings.Contains(out, "prod-Table-1ABC") || !strings.HasPrefix(out, "FIELD") {
		t.Fatalf("table: %q %v", out, err)
	}
	// A command that needs the table, with no deployment named.
	a := newApp(&bytes.Buffer{}, &bytes.Buffer{}, func(string) string { return "" })
	if _, err := cli(t, a, "programs", "versions", "p1"); exitCode(err) != exitUsage || !strings.Contains(err.Error(), "--stack") {
		t.Fatalf("no deployment: %v (exit %d)", err, exitCode(err))
	}
}

// fakeAdmin is the admin API: it records the requests and answers from
// a table of method+path to status and body.
func fakeAdmin(t *testing.T, answers map[string]struct {
	status int
	body   string
}) (*httptest.Server, *[]string) {
	var seen []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		seen = append(seen, r.Method+" "+r.URL.Path+" "+r.Header.Get("Authorization")+" "+string(body))
		a, ok := answers[r.Method+" "+r.URL.Path]
		if !ok {
			a.status, a.body = 404, `{"error":{"code":"not_found","message":"no such reward"}}`
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(a.status)
		io.WriteString(w, a.body)
	}))
	t.Cleanup(srv.Close)
	return srv, &seen
}

// The reward and review commands call the admin API at the stack's
// ApiUrl, with the local bearer token or SigV4; its answers become the
// output (a table or JSON) and its errors the exit codes.
func TestAdminCommandsThroughTheAPI(t *testing.T) {
	reward := `{"reward_id":"rw_1","referral_id":"ref_A","milestone":"won","party":"referrer","referrer_code":"ANN42","amount_minor":12500,"currency":"EUR","status":"paid"}`
	srv, seen := fakeAdmin(t, map[string]struct {
		status int
		body   string
	}{
		"POST /admin/rewards/ref_A/won/referrer/approve": {200, reward},
		"POST /admin/rewards/ref_B/won/referrer/decline": {409, `{"error":{"code":"not_payable","message":"the reward is paid: "}}`},
		"POST /admin/rewards/ref_A/won/referrer/void":    {400, `{"error":{"code":"invalid_request","message":"the void is not valid","fields":{"reason":"is required"}}}`},
		"POST /admin/referrals/ref_A/review":             {200, `{"referral_id":"ref_A","status":"in_progress","outcome":"approved","resumed":true}`},
		"GET /admin/rewards/failed":                      {503, `{"error":{"code":"unavailable","message":"try again"}}`},
	})
	outs := map[string]string{"TableName": "t", "ApiUrl": srv.URL + "/"}
	a := stackApp(t, &fakeCFN{stacks: map[string]map[string]string{"prod": outs}})
	a.getenv = func(k string) string { return map[string]string{"REFERFLOW_ADMIN_TOKEN": "tok"}[k] }
	cases := []struct {
		args []string
		code int
		out  string
		sent string
	}{
		{[]string{"rewards", "approve", "ref_A", "won", "referrer"}, 0, "125.00 EUR", "POST /admin/rewards/ref_A/won/referrer/approve Bearer tok "},
		{[]string{"rewards", "approve", "ref_A", "won", "referrer", "-o", "json"}, 0, `"reward_id": "rw_1"`, ""},
		{[]string{"rewards", "decline", "ref_B", "won", "referrer", "--reason", "dup"}, exitConflict, "", `{"reason":"dup"}`},
		{[]string{"rewards", "void", "ref_A", "won", "referrer"}, exitUsage, "", ""},
		{[]string{"rewards", "rearm", "ref_Z", "won", "referrer"}, exitNotFound, "", ""},
		{[]string{"rewards", "failed"}, exitUnavailable, "", ""},
		{[]string{"rewards", "approve", "ref_A", "won"}, exitUsage, "", ""},
		{[]string{"referrals", "review", "ref_A", "approve", "--reason", "known"}, 0, "referral ref_A approved: status in_progress", `{"decision":"approve","reason":"known"}`},
		{[]string{"referrals", "review", "ref_A", "maybe", "--reason", "known"}, exitUsage, "", ""},
	}
	for _, c := range cases {
		*seen = nil
		out, err := cli(t, a, append([]string{"--stack", "prod"}, c.args...)...)
		if exitCode(err) != c.code || !strings.Contains(out, c.out) {
			t.Errorf("%v: exit %d (%v), output %q; want exit %d and %q", c.args, exitCode(err), err, out, c.code, c.out)
		}
		if c.sent != "" && (len(*seen) != 1 || !strings.Contains((*seen)[0], c.sent)) {
			t.Errorf("%v: sent %q, want %q", c.args, *seen, c.sent)
		}
	}
	// Without the token, requests are signed with SigV4 for execute-api.
	a.getenv = func(string) string { return "" }
	*seen = nil
	if _, err := cli(t, a, "--stack", "prod", "rewards", "approve", "ref_A", "won", "referrer"); err != nil || len(*seen) != 1 ||
		!strings.Contains((*seen)[0], "AWS4-HMAC-SHA256 Credential=AKID/") || !strings.Contains((*seen)[0], "/eu-west-1/execute-api/aws4_request") {
		t.Fatalf("signed: %v %q", err, *seen)
	}
	// The API unreachable: 5.
	srv.Close()
	if _, err := cli(t, a, "--stack", "prod", "rewards", "failed"); exitCode(err) != exitUnavailable {
		t.Fatalf("unreachable: %v (exit %d)", err, exitCode(err))
	}
}

// memPartners is the partner operations on a map, for the output tests.
type memPartners struct{ ps []store.Partner }

func (m *memPartners) Invite(_ context.Context, n partners.New, _ string) (*store.Partner, error) {
	for _, p := range m.ps {
		if p.Email == n.Email {
			return nil, partners.ErrExists
		}
	}
	if !strings.Contains(n.Email, "@") {
		return nil, &partners.Invalid{Fields: map[string]string{"email": "is not an email address"}}
	}
	p := store.Partner{Referrer: referral.Referrer{ProgramID: n.ProgramID, Code: n.Code, Email: n.Email, Name: n.Name, Status: referral.ReferrerInvited}, Key: n.Code}
	m.ps = append(m.ps, p)
	return &p, nil
}
func (m *memPartners) find(code string) (*store.Partner, error) {
	for i := range m.ps {
		if m.ps[i].Code == code {
			return &m.ps[i], nil
		}
	}
	return nil, partners.ErrNotFound
}
func (m *memPartners) Approve(_ context.Context, _, code, _ string) (*store.Partner, error) {
	if _, err := m.find(code); err != nil {
		return nil, err
	}
	return nil, partners.ErrState
}
func (m *memPartners) Disable(_ context.Context, _, code string) (*store.Partner, error) {
	return m.find(code)
}
func (m *memPartners) Enable(_ context.Context, _, code string) (*store.Partner, error) {
	return m.find(code)
}
func (m *memPartners) ChangeCode(_ context.Context, _, from, _ string) (*store.Partner, error) {
	if _, err := m.find(from); err != nil {
		return nil, err
	}
	return nil, partners.ErrCodeTaken
}
func (m *memPartners) List(_ context.Context, _ string, _ int, _ string) (partners.Page, error) {
	return partners.Page{Partners: m.ps}, nil
}

// --output table|json: a table with a header for people, JSON that parses
// for scripts; an unknown format is bad usage.
func TestOutputFormats(t *testing.T) {
	mem := &memPartners{}
	a := testApp(t)
	a.openPartners = func(context.Context, string) (partnerOps, error) { return mem, nil }
	for _, e := range []string{"ann@agency.example", "bob@agency.example"} {
		if _, err := cli(t, a, "partners", "invite", "--program", "p1", "--email", e, "--name", "N", "--code", strings.ToUpper(e[:3]), "--base-url", "https://x.example"); err != nil {
			t.Fatal(err)
		}
	}
	out, err := cli(t, a, "partners", "list", "--program", "p1")
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if err != nil || len(lines) != 3 || !strings.HasPrefix(lines[0], "CODE") || !strings.HasPrefix(lines[1], "ANN ") || !strings.Contains(lines[2], "bob@agency.example") {
		t.Fatalf("table: %q %v", out, err)
	}
	out, err = cli(t, a, "partners", "list", "--program", "p1", "--output", "json")
	var got struct {
		Program  string       `json:"program"`
		Partners []partnerRow `json:"partners"`
	}
	if err != nil || json.Unmarshal([]byte(out), &got) != nil || got.Program != "p1" || len(got.Partners) != 2 || got.Partners[1].Status != "invited" {
		t.Fatalf("json: %q %v", out, err)
	}
	if _, err := cli(t, a, "partners", "list", "--program", "p1", "-o", "yaml"); exitCode(err) != exitUsage {
		t.Fatalf("yaml: %v", err)
	}
	// Webhook endpoints: the table and the JSON hold the same endpoint.
	svc := &outbound.Service{Store: outboundtest.NewStore(), Client: http.DefaultClient, Now: time.Now, Rand: rand.Reader}
	a.openWebhooks = func(context.Context) (webhooks, error) { return svc, nil }
	out, err = cli(t, a, "webhooks", "add", "--url", "https://crm.example.com/h", "--types", "reward.paid", "-o", "json")
	var added struct {
		Endpoint outbound.Endpoint `json:"endpoint"`
		Secret   string            `json:"secret"`
	}
	if err != nil || json.Unmarshal([]byte(out), &added) != nil || added.Endpoint.ID == "" || !strings.HasPrefix(added.Secret, "whsec_") {
		t.Fatalf("add json: %q %v", out, err)
	}
	if out, err := cli(t, a, "webhooks", "show", added.Endpoint.ID); err != nil || !strings.Contains(out, "url") || !strings.Contains(out, "https://crm.example.com/h") || strings.Contains(out, "{") {
		t.Fatalf("show table: %q %v", out, err)
	}
}

// Exit codes: 0 done, 1 a failed check, 2 bad usage, 3 not found, 4
// conflict; `referflow --help` says them.
func TestExitCodes(t *testing.T) {
	mem := &memPartners{ps: []store.Partner{{Referrer: referral.Referrer{ProgramID: "p1", Code: "ANN42", Email: "ann@agency.example", Status: referral.ReferrerActive}}}}
	bad := filepath.Join(t.TempDir(), "bad.yaml")
	os.WriteFile(bad, []byte("schema: 1\nid: Not An Id\n"), 0o600)
	cases := []struct {
		args []string
		code int
	}{
		{[]string{"partners", "disable", "--program", "p1", "ANN42"}, exitOK},
		{[]string{"partners", "frobnicate"}, exitUsage},
		{[]string{"partners"}, exitUsage},
		{[]string{"frobnicate"}, exitUsage},
		{[]string{"partners", "list", "--nope"}, exitUsage},
		{[]string{"partners", "disable", "--program", "p1"}, exitUsage},
		{[]string{"partners", "invite", "--program", "p1", "--email", "nope", "--base-url", "https://x.example"}, exitUsage},
		{[]string{"partners", "disable", "--program", "p1", "NOBODY"}, exitNotFound},
		{[]string{"partners", "approve", "--program", "p1", "--base-url", "https://x.example", "ANN42"}, exitConflict},
		{[]string{"partners", "code", "--program", "p1", "ANN42", "BOB"}, exitConflict},
		{[]string{"partners", "invite", "--program", "p1", "--email", "ann@agency.example", "--base-url", "https://x.example"}, exitConflict},
		{[]string{"programs", "validate", bad}, exitFailed},
		{[]string{"programs", "validate", "../../../programs/b2b-example.yaml"}, exitOK},
		{[]string{"--help"}, exitOK},
	}
	for _, c := range cases {
		a := testApp(t)
		a.openPartners = func(context.Context, string) (partnerOps, error) { return mem, nil }
		var errOut bytes.Buffer
		a.errOut = &errOut
		if got := execute(context.Background(), a, c.args); got != c.code {
			t.Errorf("%v: exit %d, want %d (%s)", c.args, got, c.code, errOut.String())
		}
	}
	var out bytes.Buffer
	a := testApp(t)
	a.out = &out
	if execute(context.Background(), a, []string{"--help"}) != 0 || !strings.Contains(out.String(), exitCodes) || !strings.Contains(out.String(), "--stack") {
		t.Fatalf("help: %q", out.String())
	}
	out.Reset()
	if execute(context.Background(), a, []string{"rewards", "approve", "--help"}) != 0 || !strings.Contains(out.String(), "referflow rewards approve ref_01J... won referrer") {
		t.Fatalf("rewards approve --help: %q", out.String())
	}
	out.Reset()
	if execute(context.Background(), a, []string{"completion", "bash"}) != 0 || !strings.Contains(out.String(), "__start_referflow") {
		t.Fatalf("completion: %.200q", out.String())
	}
}

// `partners import FILE.csv` invites each row, skips those already
// partners, reports the bad rows by line and exits 1 when one failed;
// no progress bar is drawn when stderr is not a terminal.
func TestPartnersImport(t *testing.T) {
	mem := &memPartners{ps: []store.Partner{{Referrer: referral.Referrer{ProgramID: "p1", Code: "ANN42", Email: "ann@agency.example"}}}}
	file := filepath.Join(t.TempDir(), "partners.csv")
	os.WriteFile(file, []byte("Email,Name,Code\nbob@agency.example,Bob,BOB1\nann@agency.example,Ann,ANN42\nnot-an-email,Cy,CY\n"), 0o600)
	a := testApp(t)
	a.openPartners = func(context.Context, string) (partnerOps, error) { return mem, nil }
	var errOut bytes.Buffer
	var out bytes.Buffer
	a.out, a.errOut = &out, &errOut
	code := execute(context.Background(), a, []string{"partners", "import", "--program", "p1", "--base-url", "https://x.example", file})
	if code != exitFailed || out.String() != "1 invited, 1 already partners, 1 failed\n" || len(mem.ps) != 2 || mem.ps[1].Code != "BOB1" {
		t.Fatalf("import: exit %d, %q, %+v", code, out.String(), mem.ps)
	}
	if e := errOut.String(); !strings.Contains(e, "line 4 (not-an-email)") || strings.Contains(e, "\r") || strings.Contains(e, "inviting") {
		t.Fatalf("stderr %q", e)
	}
	if code := execute(context.Background(), a, []string{"partners", "import", "--program", "p1", "--base-url", "https://x.example", file + ".missing"}); code != exitUsage {
		t.Fatalf("missing file: exit %d", code)
	}
	if _, ok := newProgress(&errOut, 3, "x").(noProgress); !ok {
		t.Fatal("a progress bar drawn on a buffer")
	}
}

func TestMonthRange(t *testing.T) {
	cases := []struct {
		from, to string
		want     string
		bad      bool
	}{
		{"2026-11", "", "2026-11", false},
		{"2025-11", "2026-02", "2025-11 2025-12 2026-01 2026-02", false},
		{"2026-02", "2025-11", "", true},
		{"11/2026", "", "", true},
		{"2010-01", "2026-01", "", true},
	}
	for _, c := range cases {
		got, err := monthRange(c.from, c.to)
		if (err != nil) != c.bad || strings.Join(got, " ") != c.want {
			t.Errorf("%s..%s: %v %v, want %q", c.from, c.to, got, err, c.want)
		}
		if c.bad && exitCode(err) != exitUsage {
			t.Errorf("%s..%s: exit %d", c.from, c.to, exitCode(err))
		}
	}
}
