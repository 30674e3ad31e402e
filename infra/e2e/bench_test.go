package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"

	"github.com/referflow/referflow/infra/local/build"
	"github.com/referflow/referflow/infra/local/lambdaemu"
	"github.com/referflow/referflow/infra/local/localtest"
	"github.com/referflow/referflow/infra/local/sam"
	"github.com/referflow/referflow/infra/seed"
	"github.com/referflow/referflow/internal/crm/hubspot"
	"github.com/referflow/referflow/internal/payees"
	"github.com/referflow/referflow/internal/referral"
	"github.com/referflow/referflow/internal/store"
)

// AWS list prices (us-east-1, arm64, on-demand) used for cost figures.
const (
	priceTransition   = 0.025 / 1000      // Step Functions Standard, per state transition
	priceGBSecond     = 0.0000133334      // Lambda arm64, per GB-second
	priceInvoke       = 0.20 / 1_000_000  // Lambda, per request
	priceWriteUnit    = 0.625 / 1_000_000 // DynamoDB on-demand, per write request unit
	priceReadUnit     = 0.125 / 1_000_000 // DynamoDB on-demand, per read request unit
	priceHTTPRequest  = 1.00 / 1_000_000  // API Gateway HTTP API, per request
	priceEventEntry   = 1.00 / 1_000_000  // EventBridge custom events, per PutEvents entry (up to 64 KB); reading the table's stream from Lambda is free
	priceEmail        = 0.10 / 1000       // Amazon SES, per email sent
	transactItemsEach = 4                 // items per TransactWriteItems assumed for capacity (2 WRU each)
)

// BenchmarkReferralJourney runs b.N referrals of the default program
// through the whole journey on a local stack (form, verify, two HubSpot
// milestones, hold, payout, complete) and reports what one referral costs:
// state transitions, Lambda invocations and GB-seconds at the template's
// memory sizes, DynamoDB calls, API requests, and dollars per 1,000.
//
//	go test -run '^$' -bench ReferralJourney -benchtime 20x ./infra/e2e
func BenchmarkReferralJourney(b *testing.B) {
	s := localtest.Start(b, localtest.Options{Env: stackVars(map[string]string{"REFERFLOW_LOCAL_HOLD_SECONDS": "1"})})
	e := &env{stack: s, api: s.API, http: &http.Client{Timeout: 30 * time.Second}}
	e.init(b)
	if err := s.ResetStats(); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	ids := make([]string, b.N)
	var wg sync.WaitGroup
	// One journey at a time by default: moto serialises DynamoDB requests
	// and shares the 2 cores, so concurrent journeys measure the emulator's
	// queueing rather than the functions' run time.
	workers := 1
	if v, err := strconv.Atoi(os.Getenv("BENCH_CONCURRENCY")); err == nil && v > 0 {
		workers = v
	}
	sem := make(chan struct{}, workers)
	errs := make(chan error, b.N)
	for i := 0; i < b.N; i++ {
		wg.Add(1)
		sem <- struct{}{}
		go func(i int) {
			defer wg.Done()
			defer func() { <-sem }()
			id, err := e.journey(i)
			ids[i] = id
			if err != nil {
				errs <- err
			}
		}(i)
	}
	wg.Wait()
	b.StopTimer()
	close(errs)
	for err := range errs {
		b.Fatal(err)
	}
	// The last journeys' events reach the bus and its rules' targets a
	// moment later (the stream's batching window is 1 s): count them too.
	time.Sleep(3 * time.Second)
	snap, err := s.Stats()
	if err != nil {
		b.Fatal(err)
	}
	n := float64(b.N)
	transitions := 0
	for _, id := range ids {
		for _, ev := range e.historyOf(b, id) {
			if ev.StateEnteredEventDetails != nil {
				transitions++
			}
		}
	}
	invocations, gbs := 0, 0.0
	for _, f := range snap.Functions {
		invocations += f.Invocations
		gbs += f.GBSeconds
	}
	// Only the functions' own calls count: the shared endpoint also serves
	// the state machine's Lambda invokes (billed as transitions and Lambda
	// requests) and this benchmark's polling, both under the "states" caller.
	reads, writes, transacts, other, emails := 0, 0, 0, 0, 0
	for caller, ops := range snap.AWSCalls {
		if _, isFunction := snap.Functions[caller]; !isFunction {
			continue
		}
		for op, c := range ops {
			switch {
			case strings.HasPrefix(op, "dynamodb/TransactWriteItems"):
				transacts += c
			case strings.HasPrefix(op, "dynamodb/PutItem"), strings.HasPrefix(op, "dynamodb/UpdateItem"), strings.HasPrefix(op, "dynamodb/DeleteItem"):
				writes += c
			case strings.HasPrefix(op, "dynamodb/GetItem"), strings.HasPrefix(op, "dynamodb/Query"):
				reads += c
			case strings.HasSuffix(op, "/SendEmail"), strings.HasSuffix(op, "/v2/email/outbound-emails"): // SES v1 / v2
				emails += c
			default:
				other += c
			}
		}
	}
	requests := 0
	for _, c := range snap.Routes {
		requests += c
	}
	entries := 0
	for caller, n := range snap.EventEntries {
		if _, isFunction := snap.Functions[caller]; isFunction {
			entries += n
		}
	}
	wru := float64(writes + transacts*2*transactItemsEach)
	cost := float64(transitions)*priceTransition + gbs*priceGBSecond + float64(invocations)*priceInvoke +
		wru*priceWriteUnit + float64(reads)*priceReadUnit + float64(requests)*priceHTTPRequest + float64(entries)*priceEventEntry + float64(emails)*priceEmail
	b.ReportMetric(float64(transitions)/n, "transitions/referral")
	b.ReportMetric(float64(invocations)/n, "invocations/referral")
	b.ReportMetric(gbs/n, "GB-s/referral")
	b.ReportMetric(float64(reads)/n, "ddb-reads/referral")
	b.ReportMetric(float64(writes+transacts)/n, "ddb-writes/referral")
	b.ReportMetric(float64(requests)/n, "api-requests/referral")
	b.ReportMetric(float64(entries)/n, "events/referral")
	b.ReportMetric(float64(emails)/n, "emails/referral")
	b.ReportMetric(cost/n*1000, "USD/1000-referrals")
	b.ReportMetric(0, "ns/op")

	var rows []string
	for id, f := range snap.Functions {
		if f.Invocations > 0 {
			rows = append(rows, fmt.Sprintf("  %-18s %4d MB  %6.2f invocations  %8.2f ms avg  %.6f GB-s", id, f.MemoryMB, float64(f.Invocations)/n, f.RunMsTotal/float64(f.Invocations), f.GBSeconds/n))
		}
	}
	sort.Strings(rows)
	fmt.Printf("\nper referral (%d referrals of program %s, all completed):\n"+
		"  state transitions       %6.1f   ($%.4f per 1,000 at $0.025 per 1,000 transitions)\n"+
		"  Lambda invocations      %6.1f   ($0.20 per million requests)\n"+
		"  Lambda GB-seconds       %8.4f ($0.0000133334 per GB-s, arm64; local run times, see note)\n"+
		"  DynamoDB reads          %6.1f   (GetItem/Query; 1 RRU each, $0.125 per million)\n"+
		"  DynamoDB writes         %6.1f   (%d single writes + %d transactions per %d referrals; 1 WRU per write, 2 WRU x %d items per transaction, $0.625 per million)\n"+
		"  other AWS calls         %6.1f   (by the functions: Step Functions callbacks and starts, SSM reads, PutEvents calls; not billed per call)\n"+
		"  HTTP API requests       %6.1f   ($1.00 per million)\n"+
		"  EventBridge events      %6.1f   (PutEvents entries; $1.00 per million; the stream reads are free)\n"+
		"  emails (SES)            %6.1f   ($0.10 per 1,000)\n"+
		"  cost per 1,000 referrals: $%.4f\n"+
		"by function:\n%s\n"+
		"note: GB-seconds use the run times measured here (x86 host, no Lambda CPU cap) at the template's memory sizes; CloudWatch Logs and X-Ray are not included.\n",
		b.N, defaultProgram,
		float64(transitions)/n, float64(transitions)/n*priceTransition*1000,
		float64(invocations)/n, gbs/n, float64(reads)/n, float64(writes+transacts)/n, writes, transacts, b.N, transactItemsEach,
		float64(other)/n, float64(requests)/n, float64(entries)/n, float64(emails)/n, cost/n*1000, strings.Join(rows, "\n"))
}

// init completes an env made by a benchmark (start needs a *testing.T).
func (e *env) init(testing.TB) {
	cfg := e.stack.AWSConfig()
	e.st = newStore(cfg, e.stack.Tables["Table"]).WithKeys(localKeys)
	e.sfn = newSFN(cfg)
}

// journey drives one referral to completion without a *testing.T.
func (e *env) journey(i int) (string, error) {
	email := fmt.Sprintf("buyer@bench-%d-%d.example", time.Now().UnixNano(), i)
	body := fmt.Sprintf(`{"referrer_code":"BENCH%d","referee_email":%q,"referee_company":"Bench %d"}`, i, email, i)
	if err := e.benchReferrer(i); err != nil {
		return "", err
	}
	code, out, err := e.rawPost("/referrals", "application/json", []byte(body), nil)
	if err != nil || code != http.StatusAccepted {
		return "", fmt.Errorf("referral %d: %d %s %v", i, code, out, err)
	}
	id := jsonField(out, "referral_id")
	// The new customer's discount is paid through Stripe: its customer is
	// recorded as an integration would, right after intake.
	pay := &payees.Service{Store: e.st, Now: time.Now}
	if _, err := pay.SetReferee(context.Background(), id, payees.Payee{Method: payees.MethodStripe,
		Details: payees.Details{Customer: fmt.Sprintf("cus_Bench%d", i)}}, "bench"); err != nil {
		return id, err
	}
	deal := 500000 + i
	if err := e.waitFn(30*time.Second, func() bool { return e.waiting(id, "qualified") }); err != nil {
		return id, err
	}
	if code, out, err := e.rawHubSpot(hubspotDeal(deal, "qualifiedtobuy", id, "24000")); err != nil || code != 200 {
		return id, fmt.Errorf("qualified %s: %d %s %v", id, code, out, err)
	}
	if err := e.waitFn(30*time.Second, func() bool { return e.waiting(id, "won") }); err != nil {
		return id, err
	}
	if code, out, err := e.rawHubSpot(hubspotStage(700000+i, deal, "closedwon")); err != nil || code != 200 {
		return id, fmt.Errorf("won %s: %d %s %v", id, code, out, err)
	}
	// Done when the execution has succeeded, not when the status says
	// completed: Complete writes the status before its invocation (and the
	// final state) ends, and both are part of what a referral costs.
	return id, e.waitFn(60*time.Second, func() bool {
		out, err := e.sfn.DescribeExecution(context.Background(), &sfn.DescribeExecutionInput{ExecutionArn: aws.String(e.executionARN(id))})
		return err == nil && out.Status == sfntypes.ExecutionStatusSucceeded
	})
}

// BenchmarkColdStart reports, for every function in template.yaml, its
// deployed binary size (linux/arm64, built by `make build-<LogicalId>`) and
// its median init duration (process start to its first Runtime API call),
// next to a minimal aws-lambda-go hello world built the same way.
//
//	go test -run '^$' -bench ColdStart -benchtime 1x ./infra/e2e
func BenchmarkColdStart(b *testing.B) {
	const starts = 7
	root, err := build.RepoRoot(".")
	if err != nil {
		b.Fatal(err)
	}
	tpl, err := sam.Load(filepath.Join(root, "template.yaml"), sam.Options{})
	if err != nil {
		b.Fatal(err)
	}
	hostBins, err := localtest.FunctionBinaries(filepath.Join(root, "template.yaml"))
	if err != nil {
		b.Fatal(err)
	}
	helloHost, err := localtest.HelloBinary()
	if err != nil {
		b.Fatal(err)
	}
	armDir := b.TempDir()
	armSize := func(makeDir, id string) int64 {
		out := filepath.Join(armDir, id)
		cmd := exec.Command("make", "-C", makeDir, "--no-print-directory", "build-"+id, "ARTIFACTS_DIR="+out, "GOOS=linux", "GOARCH=arm64")
		if msg, err := cmd.CombinedOutput(); err != nil {
			b.Fatalf("build %s for arm64: %v\n%s", id, err, msg)
		}
		st, err := os.Stat(filepath.Join(out, "bootstrap"))
		if err != nil {
			b.Fatal(err)
		}
		return st.Size()
	}
	initMedian := func(id, bin string, env map[string]string) time.Duration {
		var ds []time.Duration
		for i := 0; i < starts; i++ {
			p, err := lambdaemu.NewPool(lambdaemu.Function{LogicalID: id, Name: id, Binary: bin, MemorySize: 128, Timeout: 5 * time.Second, Env: env}, lambdaemu.Options{Log: nil})
			if err != nil {
				b.Fatal(err)
			}
			res, err := p.Invoke(context.Background(), []byte(`{}`))
			p.Stop()
			if err != nil {
				b.Fatal(err)
			}
			ds = append(ds, res.InitDuration)
		}
		sort.Slice(ds, func(i, j int) bool { return ds[i] < ds[j] })
		return ds[len(ds)/2]
	}
	b.ResetTimer()
	helloSize := armSize(filepath.Join(root, "infra", "local", "testdata"), "HelloFunction")
	helloInit := initMedian("HelloFunction", helloHost, nil)
	lines := []string{fmt.Sprintf("  %-18s %9s %7s %10s %7s", "function", "arm64 size", "x hello", "init (med)", "x hello"),
		fmt.Sprintf("  %-18s %8.1fM %7s %10s %7s", "hello world", float64(helloSize)/1e6, "1.00", helloInit.Round(10*time.Microsecond), "1.00")}
	for _, f := range tpl.Functions {
		size := armSize(root, f.LogicalID)
		env := map[string]string{}
		for k, v := range f.Environment {
			env[k] = v
		}
		init := initMedian(f.LogicalID, build.Binary(hostBins, f.LogicalID), env)
		lines = append(lines, fmt.Sprintf("  %-18s %8.1fM %7.2f %10s %7.2f", f.LogicalID, float64(size)/1e6, float64(size)/float64(helloSize),
			init.Round(10*time.Microsecond), float64(init)/float64(helloInit)))
		b.ReportMetric(float64(size)/float64(helloSize), f.LogicalID+"-size-x")
		b.ReportMetric(float64(init)/float64(helloInit), f.LogicalID+"-init-x")
	}
	b.ReportMetric(0, "ns/op")
	fmt.Printf("\nbinary size (linux/arm64, stripped, -tags lambda.norpc) and median init over %d cold starts (host build, local process start to first /next):\n%s", starts, strings.Join(lines, "\n")+"\n")
}

func newStore(cfg aws.Config, table string) *store.Store {
	return store.New(dynamodb.NewFromConfig(cfg), table)
}

func newSFN(cfg aws.Config) *sfn.Client { return sfn.NewFromConfig(cfg) }

// benchReferrer adds referrer BENCH<i> with its payee: one referrer per
// referral keeps the default program's velocity limits out of the
// measurement.
func (e *env) benchReferrer(i int) error {
	code := fmt.Sprintf("BENCH%d", i)
	if err := seed.AddReferrer(context.Background(), e.st, referral.Referrer{ProgramID: defaultProgram, Code: code,
		Email: fmt.Sprintf("partner%d@bench-referrer.example", i)}, time.Now()); err != nil {
		return err
	}
	// Paid through Stripe, to its connected account.
	pay := &payees.Service{Store: e.st, Now: time.Now}
	_, err := pay.SetPartner(context.Background(), defaultProgram, code, payees.Payee{Method: payees.MethodStripe,
		Details: payees.Details{Account: fmt.Sprintf("acct_Bench%d", i)}}, "bench")
	return err
}

func (e *env) rawPost(path, contentType string, body []byte, headers map[string]string) (int, []byte, error) {
	req, err := http.NewRequest(http.MethodPost, e.api+path, bytes.NewReader(body))
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Content-Type", contentType)
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := e.http.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, b, err
}

func (e *env) rawHubSpot(body []byte) (int, []byte, error) {
	ts := time.Now()
	return e.rawPost("/webhooks/hubspot", "application/json", body, map[string]string{
		"X-HubSpot-Signature-v3":      hubspot.SignV3(hubspotSecret, http.MethodPost, e.api+"/webhooks/hubspot", body, ts),
		"X-HubSpot-Request-Timestamp": fmt.Sprint(ts.UnixMilli()),
	})
}

func (e *env) waiting(id, milestone string) bool {
	r, err := e.st.Waiting(context.Background(), id)
	return err == nil && r.WaitMilestone == milestone && r.WaitToken != ""
}

func (e *env) waitFn(timeout time.Duration, cond func() bool) error {
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			return fmt.Errorf("timed out after %s", timeout)
		}
		time.Sleep(100 * time.Millisecond)
	}
	return nil
}

func (e *env) historyOf(tb testing.TB, id string) []sfntypes.HistoryEvent {
	var out []sfntypes.HistoryEvent
	in := &sfn.GetExecutionHistoryInput{ExecutionArn: aws.String(e.executionARN(id))}
	for {
		page, err := e.sfn.GetExecutionHistory(context.Background(), in)
		if err != nil {
			tb.Fatalf("GetExecutionHistory(%s): %v", id, err)
		}
		out = append(out, page.Events...)
		if page.NextToken == nil {
			return out
		}
		in.NextToken = page.NextToken
	}
}

func jsonField(b []byte, name string) string {
	var m map[string]any
	_ = json.Unmarshal(b, &m)
	s, _ := m[name].(string)
	return s
}
