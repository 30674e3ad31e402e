package main

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/referflow/referflow/internal/events"
	"github.com/referflow/referflow/internal/outbound"
	"github.com/referflow/referflow/internal/outbound/outboundtest"
)

// webhooksCLI runs `referflow webhooks SUB ARGS...` against svc.
func webhooksCLI(t *testing.T, svc webhooks, sub string, args ...string) (string, error) {
	t.Helper()
	a := testApp(t)
	a.openWebhooks = func(context.Context) (webhooks, error) { return svc, nil }
	return cli(t, a, append([]string{"webhooks", sub}, args...)...)
}

func TestWebhooksCommands(t *testing.T) {
	var status atomic.Int32
	status.Store(500)
	rcv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(int(status.Load())) }))
	defer rcv.Close()
	st := outboundtest.NewStore()
	svc := &outbound.Service{Store: st, Client: rcv.Client(), Schedule: outbound.Schedule{time.Minute}, Now: time.Now, Rand: rand.Reader}

	out, err := webhooksCLI(t, svc, "add", "--url", rcv.URL+"/hook", "--types", "reward.paid, referral.closed", "--description", "CRM")
	secret := regexp.MustCompile(`whsec_\S+`).FindString(out)
	id := regexp.MustCompile(`ep_[0-9a-v]{26}`).FindString(out)
	if err != nil || secret == "" || id == "" {
		t.Fatalf("add: %q %v", out, err)
	}
	if out, err := webhooksCLI(t, svc, "add", "--url", "http://example.com", "--types", "deal.won"); err == nil || !strings.Contains(err.Error(), "--url") || !strings.Contains(err.Error(), "--types") {
		t.Fatalf("bad add: %q %v", out, err)
	}
	if out, _ := webhooksCLI(t, svc, "list"); !strings.Contains(out, id) || !strings.Contains(out, "referral.closed,reward.paid") || strings.Contains(out, secret) {
		t.Fatalf("list: %q", out)
	}
	out, err = webhooksCLI(t, svc, "update", "--enabled=false", "-o", "json", id)
	var ep outbound.Endpoint
	if err != nil || json.Unmarshal([]byte(out), &ep) != nil || ep.Enabled || ep.Description != "CRM" || strings.Contains(out, secret) {
		t.Fatalf("update: %q %v", out, err)
	}
	webhooksCLI(t, svc, "update", "--enabled=true", id)
	if out, _ := webhooksCLI(t, svc, "rotate", id); !strings.Contains(out, "whsec_") || strings.Contains(out, secret) {
		t.Fatalf("rotate: %q", out)
	}

	ev := events.New(events.RewardPaid, "ref_01J9ZK3W4X5Y6Z7A8B9C0D1E2F", events.ActorWorkflow, time.Now())
	ev.ID = "evt_1"
	svc.Publish(context.Background(), ev)
	out, err = webhooksCLI(t, svc, "deliveries", "--status", "pending", "-o", "json", id)
	var page struct {
		Deliveries []outbound.Delivery `json:"deliveries"`
	}
	if err != nil || json.Unmarshal([]byte(out), &page) != nil || len(page.Deliveries) != 1 || page.Deliveries[0].AttemptCount != 1 {
		t.Fatalf("deliveries: %q %v", out, err)
	}
	status.Store(204)
	out, err = webhooksCLI(t, svc, "replay", "--endpoint", id, "-o", "json", page.Deliveries[0].ID)
	var d outbound.Delivery
	if err != nil || json.Unmarshal([]byte(out), &d) != nil || d.Status != outbound.StatusSucceeded || d.Attempts[1].Trigger != outbound.TriggerReplay {
		t.Fatalf("replay: %q %v", out, err)
	}
	if out, err := webhooksCLI(t, svc, "replay", "--endpoint", id, "--since", "2026-01-01T00:00:00Z", "-o", "json"); err != nil || !strings.Contains(out, `"replayed": 0`) {
		t.Fatalf("replay since: %q %v", out, err)
	}
	if out, err := webhooksCLI(t, svc, "remove", id); err != nil || !strings.Contains(out, "removed") {
		t.Fatalf("remove: %q %v", out, err)
	}
	if _, err := webhooksCLI(t, svc, "show", id); err == nil || !strings.Contains(err.Error(), "no such webhook endpoint") {
		t.Fatalf("show after remove: %v", err)
	}
	for _, bad := range [][]string{{"show"}, {"replay", "x"}, {"replay", "--endpoint", id}, {"replay", "--endpoint", id, "--since", "yesterday"},
		{"deliveries", "--status", "lost", id}, {"update", "--enabled=maybe", id}, {"frobnicate", id}} {
		if _, err := webhooksCLI(t, svc, bad[0], bad[1:]...); err == nil {
			t.Errorf("%v: no error", bad)
		}
	}
}
