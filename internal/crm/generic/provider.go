package generic

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"time"

	"github.com/referflow/referflow/internal/crm"
	"github.com/referflow/referflow/internal/stdwebhooks"
)

// Settings the generic provider reads by name (docs/crm/generic.md).
const (
	SettingSecret    = "REFERFLOW_WEBHOOK_SECRET"
	SettingTolerance = "REFERFLOW_WEBHOOK_TOLERANCE"
)

// Provider describes Standard Webhooks deliveries to the provider registry:
// its settings, the adapter built from them, and a signer for test
// deliveries (a new webhook-id unless SignOptions.ID gives one).
var Provider = crm.Provider{
	Name:  Name,
	Title: "Any CRM (Standard Webhooks)",
	Settings: []crm.Setting{
		// whsec_ + base64 of the 24 bytes "referflow-local-webhook!".
		{Name: SettingSecret, Description: "Standard Webhooks signing secret (whsec_ + base64) for /webhooks/generic; \"new,old\" during a rotation.",
			Secret: true, Required: true, Local: "whsec_cmVmZXJmbG93LWxvY2FsLXdlYmhvb2sh", Fields: []string{"Config.Secrets"}, Flag: "secret"},
		{Name: SettingTolerance, Description: "How far webhook-timestamp may be from the clock, either way, as a Go duration; default 5m.",
			Fields: []string{"Config.Tolerance"}},
	},
	NewAdapter: fromSettings,
	Sign:       signDelivery,
	Configs:    []any{Config{}},
}

func fromSettings(ctx context.Context, s crm.Settings, now func() time.Time) (crm.Adapter, error) {
	r := crm.NewReader(ctx, s)
	cfg := Config{Secrets: r.Values(SettingSecret), Tolerance: r.Duration(SettingTolerance)}
	if err := r.Err(); err != nil {
		return nil, err
	}
	a, err := New(cfg, now)
	if err != nil {
		return nil, err
	}
	return a, nil
}

// signDelivery adds the Standard Webhooks headers, signed with the newest secret.
func signDelivery(ctx context.Context, r *crm.Request, s crm.Settings, o crm.SignOptions) error {
	if o.Version != "" {
		return fmt.Errorf("generic: Standard Webhooks signatures have no version to choose (got %q)", o.Version)
	}
	secret, err := crm.Newest(ctx, s, SettingSecret)
	if err != nil {
		return err
	}
	key, err := DecodeSecret(secret)
	if err != nil {
		return err
	}
	id := o.ID
	if id == "" {
		var b [12]byte
		if _, err := rand.Read(b[:]); err != nil {
			return fmt.Errorf("generic: webhook-id: %w", err)
		}
		id = "msg_" + hex.EncodeToString(b[:])
	}
	for k, v := range stdwebhooks.Headers(id, o.Now, r.Body, key) {
		r.Headers[k] = v
	}
	return nil
}
