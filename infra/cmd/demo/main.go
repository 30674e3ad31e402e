// Command demo drives one referral through a running local stack (`make
// run`) the way a marketing site and HubSpot would: it submits the form,
// sends signed HubSpot webhooks for "qualified" and "won", waits through the
// (short, local) holding period and prints what happened: the referral's
// status, its rewards and ledger entries, and the states its execution
// went through.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/sfn"

	"github.com/referflow/referflow/internal/activity"
	"github.com/referflow/referflow/internal/crm/hubspot"
	"github.com/referflow/referflow/internal/money"
	"github.com/referflow/referflow/internal/payees"
	"github.com/referflow/referflow/internal/store"
)

type ready struct {
	API           string            `json:"api"`
	AWS           string            `json:"aws"`
	Region        string            `json:"region"`
	Tables        map[string]string `json:"tables"`
	StateMachines map[string]string `json:"state_machines"`
}

func main() {
	api := flag.String("api", "http://127.0.0.1:3000", "the local stack's HTTP API")
	code := flag.String("referrer", envOr("REFERFLOW_DEMO_REFERRER_CODE", "DEMO"), "referrer code")
	secret := flag.String("hubspot-secret", envOr("REFERFLOW_HUBSPOT_CLIENT_SECRET", "local-hubspot-client-secret"), "HubSpot client secret the stack uses")
	timeout := flag.Duration("timeout", 2*time.Minute, "give up after this long")
	flag.Parse()
	ctx, cancel := context.WithTimeout(context.Background(), *timeout)
	defer cancel()
	if err := run(ctx, *api, *code, *secret); err != nil {
		fmt.Fprintln(os.Stderr, "demo:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, api, code, secret string) error {
	var rd ready
	if err := getJSON(ctx, api+"/__referflow/ready", &rd); err != nil {
		return fmt.Errorf("no local stack at %s (start it with `make run`): %w", api, err)
	}
	cfg := aws.Config{Region: rd.Region, BaseEndpoint: aws.String(rd.AWS),
		Credentials: credentials.NewStaticCredentialsProvider("testing", "testing", "testing")}
	st := store.New(dynamodb.NewFromConfig(cfg), rd.Tables["Table"])
	sf := sfn.NewFromConfig(cfg)

	run := time.Now().Unix()
	email := fmt.Sprintf("jane.doe@acme-robotics-%d.example", run)
	step("1. A marketing site posts the referral form")
	form := map[string]string{"referrer_code": code, "referee_email": email, "referee_name": "Jane Doe", "referee_company": "Acme Robotics"}
	body, _ := json.Marshal(form)
	status, answer, err := post(ctx, api+"/referrals", "application/json", body, nil)
	if err != nil {
		return err
	}
	fmt.Printf("   POST /referrals → %d %s\n", status, answer)
	if status != http.StatusAccepted {
		return fmt.Errorf("the referral was not accepted")
	}
	var acc struct{ ReferralID, StatusURL string }
	json.Unmarshal(answer, &struct {
		ID  *string `json:"referral_id"`
		URL *string `json:"status_url"`
	}{&acc.ReferralID, &acc.StatusURL})
	id := acc.ReferralID

	// The new customer's discount is a Stripe coupon for their Stripe
	// customer: a deployment links it from Stripe (metadata referral_id,
	// docs/payouts.md); the demo records it as an operator would.
	pay := &payees.Service{Store: st, Now: time.Now, Waiting: st}
	customer := fmt.Sprintf("cus_Demo%d", run)
	if _, err := pay.SetReferee(ctx, id, payees.Payee{Method: payees.MethodStripe, Details: payees.Details{Customer: customer}}, "demo"); err != nil {
		return fmt.Errorf("record the new customer's Stripe customer: %w", err)
	}
	fmt.Printf("   the new customer's payee: Stripe customer %s (PUT /admin/referrals/{id}/payee)\n", customer)

	step("2. The workflow verifies it and waits for the deal to be qualified")
	if err := waitFor(ctx, "the workflow to wait for \"qualified\"", func() (bool, error) {
		r, err := st.Waiting(ctx, id)
		return err == nil && r.WaitMilestone == "qualified", err
	}); err != nil {
		return err
	}
	fmt.Println("   status: in_progress, waiting for milestone \"qualified\" (task token stored in DynamoDB)")

	deal := 100000 + run%100000
	step("3. HubSpot: a workflow webhook says deal " + fmt.Sprint(deal) + " (referral_id set) is qualified")
	wf, _ := json.Marshal(map[string]any{"objectId": deal, "properties": map[string]any{
		"dealstage": map[string]string{"value": "qualifiedtobuy"}, "pipeline": map[string]string{"value": "default"},
		"amount": map[string]string{"value": "24000"}, "referral_id": map[string]string{"value": id}}})
	if err := sendHubSpot(ctx, api, secret, wf); err != nil {
		return err
	}
	if err := waitFor(ctx, "the workflow to wait for \"won\"", func() (bool, error) {
		r, err := st.Waiting(ctx, id)
		return err == nil && r.WaitMilestone == "won", err
	}); err != nil {
		return err
	}

	step("4. HubSpot: the Webhooks API reports the deal moved to closedwon")
	batch, _ := json.Marshal([]map[string]any{{"eventId": run, "subscriptionId": 1, "portalId": 62515, "appId": 1,
		"occurredAt": time.Now().UnixMilli(), "subscriptionType": "deal.propertyChange", "attemptNumber": 0,
		"objectId": deal, "propertyName": "dealstage", "propertyValue": "closedwon", "changeSource": "CRM_UI"}})
	if err := sendHubSpot(ctx, api, secret, batch); err != nil {
		return err
	}
	fmt.Println("   the same delivery again (HubSpot retries): nothing changes")
	if err := sendHubSpot(ctx, api, secret, batch); err != nil {
		return err
	}

	step("5. The won rewards wait out the holding period, then are paid through Stripe (the local fake)")
	var view map[string]any
	if err := waitFor(ctx, "the referral to complete", func() (bool, error) {
		view = map[string]any{}
		if err := getJSON(ctx, api+acc.StatusURL, &view); err != nil {
			return false, err
		}
		return view["status"] == "completed", nil
	}); err != nil {
		return err
	}
	pretty, _ := json.MarshalIndent(view, "   ", "  ")
	fmt.Printf("   GET %s\n   %s\n", strings.SplitN(acc.StatusURL, "?", 2)[0]+"?token=…", pretty)

	step("Rewards and ledger entries")
	rewards, err := st.Rewards(ctx, id)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(os.Stdout, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "   reward\tmilestone\tparty\tkind\tamount\tstatus\trail\tprovider reference\tledger entry")
	for _, r := range rewards {
		entries, _ := st.LedgerEntries(ctx, r.ID)
		entry := "-"
		for _, e := range entries {
			entry = e.ID + " (" + string(e.Type) + ", " + e.Period + ")"
		}
		fmt.Fprintf(tw, "   %s\t%s\t%s\t%s\t%s %s\t%s\t%s\t%s\t%s\n", r.ID, r.Milestone, r.Party, r.Kind, money.FormatMinor(r.AmountMinor, r.Currency), r.Currency, r.Status,
			orDash(r.Rail), orDash(r.Reference), entry)
	}
	tw.Flush()

	step("Execution " + id + " (as the Step Functions console shows it)")
	arn := strings.Replace(rd.StateMachines["ReferralWorkflow"], ":stateMachine:", ":execution:", 1) + ":" + id
	hist, err := sf.GetExecutionHistory(ctx, &sfn.GetExecutionHistoryInput{ExecutionArn: aws.String(arn), MaxResults: 1000})
	if err != nil {
		return err
	}
	var states []string
	for _, ev := range hist.Events {
		if d := ev.StateEnteredEventDetails; d != nil {
			states = append(states, aws.ToString(d.Name))
		}
	}
	fmt.Printf("   %s\n", strings.Join(states, " → "))
	step("Activity log")
	evs, _ := st.Events(ctx, id)
	for _, a := range activity.Log(evs) {
		fmt.Printf("   %s  %-26s %s\n", a.At.Format("15:04:05.000"), a.Type, a.Detail)
	}
	fmt.Println("\ndone: referral", id, "completed; 3 rewards paid exactly once, each with its ledger entry and provider reference")
	return nil
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func step(s string) { fmt.Printf("\n== %s\n", s) }

func sendHubSpot(ctx context.Context, api, secret string, body []byte) error {
	url := api + "/webhooks/hubspot"
	ts := time.Now()
	status, answer, err := post(ctx, url, "application/json", body, map[string]string{
		"X-HubSpot-Signature-v3":      hubspot.SignV3(secret, http.MethodPost, url, body, ts),
		"X-HubSpot-Request-Timestamp": fmt.Sprint(ts.UnixMilli()),
	})
	if err != nil {
		return err
	}
	fmt.Printf("   POST /webhooks/hubspot (signed v3) → %d %s\n", status, answer)
	if status != http.StatusOK {
		return fmt.Errorf("webhook not accepted")
	}
	return nil
}

func post(ctx context.Context, url, ct string, body []byte, headers map[string]string) (int, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Content-Type", ct)
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, b, err
}

func getJSON(ctx context.Context, url string, into any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	return json.NewDecoder(resp.Body).Decode(into)
}

func waitFor(ctx context.Context, what string, cond func() (bool, error)) error {
	for {
		ok, err := cond()
		if ok {
			return nil
		}
		select {
		case <-ctx.Done():
			if err == nil {
				err = errors.New("timed out")
			}
			return fmt.Errorf("waiting for %s: %w", what, err)
		case <-time.After(250 * time.Millisecond):
		}
	}
}

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}
