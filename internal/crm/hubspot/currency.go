package hubspot

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/referflow/referflow/internal/money"
)

// Amounts and currencies, as HubSpot has them: a deal's amount is in its
// deal_currency_code, or, when the account has a single currency and sets
// none, in the account's company currency (GET /account-info/v3/details,
// companyCurrency). A Webhooks-API amount change carries neither: the
// adapter keeps its text (crm.Event.AmountText) and the enricher reads it
// again, exactly, in the deal's currency. An amount whose currency stays
// unknown is left without one, and ingestion does not record it.

// companyCurrencyFor is how long an Enricher reuses the company currency.
const companyCurrencyFor = time.Hour

// companyCurrency remembers the account's company currency.
type companyCurrency struct {
	mu   sync.Mutex
	now  func() time.Time
	code string
	at   time.Time
}

func (m *companyCurrency) get() (string, bool) {
	if m == nil {
		return "", false
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.code, m.code != "" && m.now().Sub(m.at) < companyCurrencyFor
}

func (m *companyCurrency) set(code string) {
	if m == nil {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.code, m.at = code, m.now()
}

// CompanyCurrency returns the account's company currency, upper-cased: the
// currency of the amounts of deals that set no deal_currency_code. 429,
// 5xx and transport failures are RetryableError; an answer without a known
// ISO 4217 code is an error.
func (c *Client) CompanyCurrency(ctx context.Context) (string, error) {
	if code, ok := c.company.get(); ok {
		return code, nil
	}
	var ans struct {
		CompanyCurrency string `json:"companyCurrency"`
	}
	if err := c.get(ctx, "/account-info/v3/details", &ans); err != nil {
		return "", fmt.Errorf("hubspot: account details: %w", err)
	}
	code := strings.ToUpper(strings.TrimSpace(ans.CompanyCurrency))
	if _, ok := money.Exponent(code); !ok {
		return "", fmt.Errorf("hubspot: account details: company currency %q is not an ISO 4217 code", ans.CompanyCurrency)
	}
	c.company.set(code)
	return code, nil
}

// dealCurrency is the currency of a deal's amount: its deal_currency_code,
// else the company currency. A company currency that cannot be read for
// good (no permission, an odd answer) leaves it unknown ("") rather than
// failing the whole look-up; a failure worth retrying is returned.
func (c *Client) dealCurrency(ctx context.Context, code string) (string, error) {
	if code != "" {
		return strings.ToUpper(code), nil
	}
	cur, err := c.CompanyCurrency(ctx)
	if err != nil && (IsRetryable(err) || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)) {
		return "", err
	}
	return cur, nil
}

// amountIn reads the amount ev carries in currency: exactly from its text
// when the webhook kept it, else rescaled from the 2 decimals it was read
// with. It returns nil when the text cannot be read in that currency.
func amountIn(m *money.Money, text, currency string) *money.Money {
	if text != "" {
		if exact, err := money.Parse(text, currency); err == nil && exact != nil {
			return exact
		}
		return nil
	}
	return &money.Money{Minor: money.Rescale(m.Minor, 2, money.Digits(currency)), Currency: currency}
}
